"""Visits in the admin are read-only.

Every change to a visit goes through visits/services.py, which checks the policy rules (P1-P16),
bumps the version an authoriser decides on (P2) and writes the timeline. An admin form would go
round all of that, so these pages only show the records. Authorisations and the timeline are
append-only records and are read-only here too.

A8 applies in the admin as well: everyone, superusers included, sees only the visits
visits/access.py lets them see, whatever model permissions they hold. A superuser with no role
at the visit's school sees none of its records here.
"""

from django.contrib import admin
from django.utils import timezone

from .access import visible_visits
from .models import Authorisation, RiskAssessment, Visit, VisitEvent, VisitStaff

READ_ONLY_NOTE = (
    "Read-only: visits are changed only through the visit pages, which check the policy rules "
    "(P1-P16) and record every change on the visit's timeline."
)


def _local(value):
    return f"{timezone.localtime(value):%a %d %b %Y %H:%M}" if value else "–"


class ReadOnlyMixin:
    """View only: no add, change or delete, whatever permissions the user holds."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class _VisibleVisitsMixin:
    """A8: everyone sees only rows of the visits they may see (visits/access.py).

    Superusers get no pass: visible_visits() gives them what their school roles give them.
    """

    visit_lookup = "visit"

    def get_queryset(self, request):
        qs = super().get_queryset(request)
        return qs.filter(**{f"{self.visit_lookup}__in": visible_visits(request.user).values("pk")})


class _ReadOnlyNoteMixin:
    def changelist_view(self, request, extra_context=None):
        extra_context = {"subtitle": READ_ONLY_NOTE, **(extra_context or {})}
        return super().changelist_view(request, extra_context=extra_context)


class VisitStaffInline(ReadOnlyMixin, admin.TabularInline):
    model = VisitStaff
    fields = ("position", "user", "mobile")

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("user")


class RiskAssessmentInline(ReadOnlyMixin, admin.StackedInline):
    model = RiskAssessment

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("completed_by")


class AuthorisationInline(ReadOnlyMixin, admin.TabularInline):
    model = Authorisation
    fields = (
        "decided_at",
        "decision",
        "decided_by",
        "decided_as",
        "visit_version",
        "reason",
        "lone_visit_reason",
        "withdrawn_at",
        "withdrawn_reason",
    )
    show_change_link = True

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("decided_by")


class VisitEventInline(ReadOnlyMixin, admin.TabularInline):
    model = VisitEvent
    fields = ("at", "kind", "by", "from_status", "to_status", "message")
    verbose_name_plural = "timeline"

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("by")


@admin.register(Visit)
class VisitAdmin(_ReadOnlyNoteMixin, _VisibleVisitsMixin, ReadOnlyMixin, admin.ModelAdmin):
    visit_lookup = "pk"
    list_display = ("pupil", "school", "planned_start_local", "status", "staff", "lone")
    list_filter = ("school", "status", "purpose", "visit_type")
    search_fields = ("pupil__first_name", "pupil__last_name", "address", "vehicle_registration")
    date_hierarchy = "planned_start"
    list_select_related = ("pupil", "school")
    inlines = (VisitStaffInline, RiskAssessmentInline, AuthorisationInline, VisitEventInline)
    fieldsets = (
        (None, {"fields": ("school", "pupil", "status", "version"), "description": READ_ONLY_NOTE}),
        (
            "Purpose (P4)",
            {
                "fields": (
                    "purpose",
                    "purpose_detail",
                    "parent_could_come_to_school",
                    "why_not_in_school",
                )
            },
        ),
        (
            "When and where (P7)",
            {
                "fields": (
                    "planned_start",
                    "expected_end",
                    "reporting_arrangements",
                    "address",
                    "visit_type",
                )
            },
        ),
        (
            "Parents/carers told (P8)",
            {"fields": ("announced", "parent_told_how", "parent_told_at", "unannounced_reason")},
        ),
        (
            "Local Authority / Social Services (P9)",
            {
                "fields": (
                    "la_told",
                    "la_contact",
                    "la_told_at",
                    "la_confirmed_at",
                    "joint_professional",
                )
            },
        ),
        (
            "Vehicle, code word and what staff take (P12, P14, P16)",
            {
                "fields": (
                    "vehicle_description",
                    "vehicle_registration",
                    "code_word",
                    "takes_id_badge",
                    "takes_charged_mobile",
                    "takes_school_numbers",
                    "resources_note",
                )
            },
        ),
        (
            "On the day (D1-D6)",
            {
                "fields": (
                    "set_off_at",
                    "arrived_at",
                    "extended_until",
                    "left_at",
                    "door_reason",
                    "last_seen_at",
                    "last_position",
                    "next_deadline",
                    "deadline_kind",
                )
            },
        ),
        (
            "History",
            {
                "fields": (
                    "created_by",
                    "created_at",
                    "submitted_at",
                    "authorised_at",
                    "refused_at",
                    "completed_at",
                    "closed_at",
                    "cancelled_at",
                    "cancel_reason",
                )
            },
        ),
    )

    def get_queryset(self, request):
        # staff() and lone() read the prefetched assignments: no query per row.
        return super().get_queryset(request).prefetch_related("assignments__user")

    @admin.display(description="planned start", ordering="planned_start")
    def planned_start_local(self, visit):
        return _local(visit.planned_start)

    @admin.display(description="staff")
    def staff(self, visit):
        return ", ".join(
            user.get_full_name() or user.get_username() for user in visit.staff_members()
        )

    @admin.display(description="lone?", boolean=True)
    def lone(self, visit):
        return visit.is_lone


@admin.register(VisitStaff)
class VisitStaffAdmin(_ReadOnlyNoteMixin, _VisibleVisitsMixin, ReadOnlyMixin, admin.ModelAdmin):
    list_display = ("visit", "position", "user", "mobile")
    list_filter = ("visit__school",)
    search_fields = ("user__first_name", "user__last_name", "mobile")
    list_select_related = ("visit__pupil", "user")


@admin.register(RiskAssessment)
class RiskAssessmentAdmin(_ReadOnlyNoteMixin, _VisibleVisitsMixin, ReadOnlyMixin, admin.ModelAdmin):
    list_display = ("visit", "completed_by", "completed_at_local", "flags")
    list_filter = (
        "visit__school",
        "little_known",
        "previous_aggression",
        "contentious_issues",
        "animals",
    )
    search_fields = ("visit__pupil__first_name", "visit__pupil__last_name")
    list_select_related = ("visit__pupil", "completed_by")

    @admin.display(description="completed at", ordering="completed_at")
    def completed_at_local(self, risk):
        return _local(risk.completed_at)

    @admin.display(description="risk flags")
    def flags(self, risk):
        return "; ".join(risk.risk_flags()) or "–"


@admin.register(Authorisation)
class AuthorisationAdmin(_ReadOnlyNoteMixin, _VisibleVisitsMixin, ReadOnlyMixin, admin.ModelAdmin):
    list_display = (
        "visit",
        "decision",
        "decided_by",
        "decided_as",
        "decided_at_local",
        "visit_version",
        "withdrawn_at",
    )
    list_filter = ("decision", "visit__school")
    search_fields = (
        "visit__pupil__first_name",
        "visit__pupil__last_name",
        "decided_by__first_name",
        "decided_by__last_name",
    )
    date_hierarchy = "decided_at"
    list_select_related = ("visit__pupil", "decided_by")

    @admin.display(description="decided at", ordering="decided_at")
    def decided_at_local(self, authorisation):
        return _local(authorisation.decided_at)


@admin.register(VisitEvent)
class VisitEventAdmin(_ReadOnlyNoteMixin, _VisibleVisitsMixin, ReadOnlyMixin, admin.ModelAdmin):
    list_display = ("at_local", "visit", "kind", "by", "from_status", "to_status", "message")
    list_filter = ("kind", "visit__school")
    search_fields = ("visit__pupil__first_name", "visit__pupil__last_name", "message")
    date_hierarchy = "at"
    list_select_related = ("visit__pupil", "by")

    @admin.display(description="at", ordering="at")
    def at_local(self, event):
        return _local(event.at)
