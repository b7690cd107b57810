from django import forms
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from import_export.admin import ImportExportModelAdmin
from import_export.formats.base_formats import CSV

from .models import Carer, Membership, Pupil, School, StaffProfile
from .resources import CarerResource, PupilResource

User = get_user_model()


class SchoolAdminForm(forms.ModelForm):
    """The admin builds the fields from SchoolAdmin.fieldsets; this adds the P1 check."""

    def clean(self):
        cleaned = super().clean()
        authorisers = ("headteacher_may_authorise", "dsl_may_authorise", "slt_may_authorise")
        if not any(cleaned.get(name) for name in authorisers):
            raise forms.ValidationError(
                "Tick at least one role that may authorise visits; otherwise no visit can go "
                "ahead (P1)."
            )
        return cleaned


@admin.register(School)
class SchoolAdmin(admin.ModelAdmin):
    form = SchoolAdminForm
    list_display = ("name", "slug", "office_phone", "lone_visit_policy")
    list_filter = ("lone_visit_policy",)
    search_fields = ("name", "slug")
    prepopulated_fields = {"slug": ("name",)}
    fieldsets = (
        (None, {"fields": ("name", "slug")}),
        (
            "Who may authorise (P1)",
            {
                "fields": (
                    "headteacher_may_authorise",
                    "dsl_may_authorise",
                    "slt_may_authorise",
                ),
                "description": "Nobody authorises a visit they go on themselves, whatever is "
                "ticked here.",
            },
        ),
        ("Lone visits (P3, P15)", {"fields": ("lone_visit_policy", "evening_starts_at")}),
        (
            "Office and contacts",
            {
                "fields": (
                    "office_phone",
                    "out_of_hours_phone",
                    "office_opens_at",
                    "office_closes_at",
                )
            },
        ),
        (
            "Check-in and escalation timings (D1, E1, E2)",
            {
                "fields": (
                    "arrival_tolerance_minutes",
                    "grace_minutes",
                    "escalation_step2_minutes",
                )
            },
        ),
    )


class StaffProfileInline(admin.StackedInline):
    model = StaffProfile
    can_delete = False
    max_num = 1
    verbose_name_plural = "staff profile (mobile and vehicle, P12, P13)"


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 1
    fields = ("school", "role")
    verbose_name_plural = "roles at schools"


admin.site.unregister(User)


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    """Django's user admin plus the person's staff profile and roles, edited in one place."""

    inlines = (StaffProfileInline, MembershipInline)
    list_display = ("username", "first_name", "last_name", "email", "roles", "is_active")
    list_filter = ("is_active", "is_staff", "is_superuser", "memberships__school")

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("memberships__school")

    @admin.display(description="roles at schools")
    def roles(self, user):
        return "; ".join(
            f"{m.get_role_display()} at {m.school.slug}" for m in user.memberships.all()
        )


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ("user", "school", "role")
    list_filter = ("school", "role")
    search_fields = ("user__username", "user__first_name", "user__last_name", "user__email")
    list_select_related = ("user", "school")
    autocomplete_fields = ("user", "school")

    def get_readonly_fields(self, request, obj=None):
        # The signal that keeps A8's oversight groups right resyncs only the membership's
        # current user: moving a role to someone else would leave the first person their access.
        # To move a role, delete this one and add one for the other person.
        if obj is not None:
            return ("user",)
        return ()


@admin.register(StaffProfile)
class StaffProfileAdmin(admin.ModelAdmin):
    list_display = ("user", "job_title", "mobile", "vehicle_description", "vehicle_registration")
    search_fields = (
        "user__username",
        "user__first_name",
        "user__last_name",
        "vehicle_registration",
    )
    list_select_related = ("user",)
    autocomplete_fields = ("user",)


class _FileImportExportAdmin(ImportExportModelAdmin):
    """CSV in and out; importing needs add and change rights, exporting needs view rights.

    django-import-export lets anyone who reaches the changelist import and export unless
    settings name a permission; pupils' and carers' details are too sensitive for that.
    """

    formats = (CSV,)

    def has_import_permission(self, request):
        return self.has_add_permission(request) and self.has_change_permission(request)

    def has_export_permission(self, request):
        return self.has_view_permission(request)


class CarerInline(admin.StackedInline):
    model = Carer
    extra = 0


@admin.register(Pupil)
class PupilAdmin(_FileImportExportAdmin):
    resource_classes = (PupilResource,)
    list_display = ("name", "upn", "school", "year_group", "key_worker", "flags")
    list_filter = ("school", "year_group", "has_animals", "previous_aggression")
    search_fields = ("first_name", "last_name", "upn", "postcode")
    list_select_related = ("school", "key_worker")
    autocomplete_fields = ("key_worker",)
    inlines = (CarerInline,)
    fieldsets = (
        (
            None,
            {
                "fields": (
                    "school",
                    "upn",
                    ("first_name", "last_name"),
                    "date_of_birth",
                    "year_group",
                )
            },
        ),
        ("Home", {"fields": ("address", "postcode")}),
        (
            "Key worker and social care",
            {"fields": ("key_worker", "social_worker_name", "social_worker_contact")},
        ),
        (
            "Known risks (P5, P6, D4)",
            {"fields": ("has_animals", "previous_aggression", "known_risks")},
        ),
    )

    @admin.display(description="pupil", ordering="last_name")
    def name(self, pupil):
        return str(pupil)

    @admin.display(description="flags")
    def flags(self, pupil):
        flags = []
        if pupil.has_animals:
            flags.append("Animals")
        if pupil.previous_aggression:
            flags.append("Previous aggression")
        return ", ".join(flags) or "–"


@admin.register(Carer)
class CarerAdmin(_FileImportExportAdmin):
    resource_classes = (CarerResource,)
    list_display = (
        "name",
        "relationship",
        "pupil",
        "school",
        "parental_responsibility",
        "lives_with_pupil",
        "phone",
    )
    list_filter = ("pupil__school", "parental_responsibility", "lives_with_pupil")
    search_fields = (
        "name",
        "phone",
        "email",
        "pupil__first_name",
        "pupil__last_name",
        "pupil__upn",
    )
    list_select_related = ("pupil__school",)
    autocomplete_fields = ("pupil",)

    @admin.display(description="school", ordering="pupil__school__name")
    def school(self, carer):
        return carer.pupil.school
