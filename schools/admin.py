"""The schools admin: the school's settings, people and their roles, pupils and carers.

Superusers are the trust's admins and see every school here. Anyone else sees and edits only
the schools where they hold the school admin role, and the people, pupils and carers of those
schools; they never see or set superuser status, groups or individual permissions. Visits are
another matter: see visits/admin.py (A8 holds for everyone, superusers included).
"""

import csv

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.core import signing
from django.core.exceptions import PermissionDenied
from django.db import IntegrityError
from django.db.models import Prefetch, Q
from django.http import Http404, HttpResponse, HttpResponseBadRequest
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html
from import_export.admin import ImportExportModelAdmin
from import_export.formats.base_formats import CSV

from .admin_forms import MembershipForm, UserAddForm, UserChangeForm
from .models import (
    CalendarChange,
    Carer,
    ClosureDay,
    Membership,
    OnCallShift,
    Pupil,
    Role,
    RoleRequest,
    School,
    StaffProfile,
    Term,
)
from .resources import (
    STAFF_COLUMNS,
    STAFF_EXAMPLE,
    STAFF_HEADER,
    STAFF_MAX_BYTES,
    CarerResource,
    PupilResource,
    StaffFileError,
    staff_file_read,
    staff_file_text,
)
from .roles import RoleRefused, password_reset_send, role_give, role_remove, staff_import
from .selectors import display_name, schools_for

User = get_user_model()


# Who administers what.


def administered_school_ids(request):
    """The pks of the schools `request.user` administers, or None for a superuser (all of them).

    Read once per request: the changelists ask for it several times.
    """
    if request.user.is_superuser:
        return None
    if not hasattr(request, "_administered_school_ids"):
        request._administered_school_ids = list(
            schools_for(request.user, roles=[Role.SCHOOL_ADMIN]).values_list("pk", flat=True)
        )
    return request._administered_school_ids


def users_in_scope(request):
    """The people a school admin manages: those with a role at one of their schools, and those
    with no role anywhere yet (a new starter to be given one). Never a superuser."""
    users = User.objects.all()
    ids = administered_school_ids(request)
    if ids is None:
        return users
    return users.filter(is_superuser=False).filter(
        Q(pk__in=Membership.objects.filter(school_id__in=ids).values("user_id"))
        | ~Q(pk__in=Membership.objects.values("user_id"))
    )


def may_change_user(request, user):
    """A school admin changes only people all of whose roles are at schools they administer.

    Someone who also holds a role at another school is shown read-only: a new password or email
    set here would reach that school's visits too (A8). The trust's admins change them.
    """
    ids = administered_school_ids(request)
    if ids is None:
        return True
    if user.is_superuser:
        return False
    return not Membership.objects.filter(user=user).exclude(school_id__in=ids).exists()


class AdministeredSchoolFilter(admin.RelatedFieldListFilter):
    """A filter by school that offers a school admin only their own schools."""

    def field_choices(self, field, request, model_admin):
        ordering = self.field_admin_ordering(field, request, model_admin)
        ids = administered_school_ids(request)
        limit = {} if ids is None else {"pk__in": ids}
        return field.get_choices(include_blank=False, ordering=ordering, limit_choices_to=limit)


def _refuse_nul(request):
    """A 400 for a changelist asked with a NUL character in its query (a filter, the search):
    PostgreSQL cannot hold one, and the page would fail with a server error."""
    if any("\x00" in value for values in request.GET.lists() for value in values[1]):
        return HttpResponseBadRequest(
            "This address has a character that cannot be searched for (a NUL). Remove it and "
            "try again."
        )
    return None


class _SchoolScopedAdmin:
    """Rows of the schools the user administers only (all of them for a superuser)."""

    school_lookup = "school"  # the path from the model to its school

    def changelist_view(self, request, extra_context=None):
        return _refuse_nul(request) or super().changelist_view(request, extra_context)

    def get_queryset(self, request):
        qs = super().get_queryset(request)
        ids = administered_school_ids(request)
        if ids is None:
            return qs
        return qs.filter(**{f"{self.school_lookup}__in": ids})

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        ids = administered_school_ids(request)
        if ids is not None:
            scoped = self.scoped_choices(db_field.name, request, ids)
            if scoped is not None:
                kwargs["queryset"] = scoped
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def scoped_choices(self, name, request, ids):
        """The choices a school admin has for the foreign key `name` (None: the default)."""
        if name == "school":
            return School.objects.filter(pk__in=ids)
        return None


# The school's settings.


def _role_names(roles):
    names = [label for value, label in Role.choices if value in roles]
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " or " + names[-1]


class SchoolAdminForm(forms.ModelForm):
    """The admin builds the fields from SchoolAdmin.fieldsets; this adds the P1 and P3 checks."""

    def clean(self):
        cleaned = super().clean()
        authorisers = ("headteacher_may_authorise", "dsl_may_authorise", "slt_may_authorise")
        if not any(cleaned.get(name) for name in authorisers):
            raise forms.ValidationError(
                "Tick at least one role that may authorise visits; otherwise no visit can go "
                "ahead (P1)."
            )
        policy = cleaned.get("lone_visit_policy")
        if policy:
            # The settings as they would be saved, read by the model's own P1 and P3 methods.
            school = School(
                lone_visit_policy=policy, **{name: bool(cleaned.get(name)) for name in authorisers}
            )
            deciders = school.lone_visit_deciding_roles()
            if deciders and not deciders & school.authorising_roles():
                raise forms.ValidationError(
                    "A lone visit is decided as the visit is authorised, by someone who may both "
                    "authorise visits (P1) and decide lone visits (P3). Here lone visits are "
                    f"decided only by the {_role_names(deciders)}, who may not authorise, so no "
                    "lone visit could ever be authorised. Let them authorise, or choose another "
                    "lone-visit setting (P1, P3)."
                )
        return cleaned


@admin.register(School)
class SchoolAdmin(_SchoolScopedAdmin, admin.ModelAdmin):
    """A school admin changes their own school's settings; only the trust adds or deletes."""

    school_lookup = "pk"
    form = SchoolAdminForm
    list_display = ("name", "slug", "office_phone", "lone_visit_policy")
    list_filter = ("lone_visit_policy",)
    actions = ["start_drill"]
    search_fields = ("name", "slug")
    prepopulated_fields = {"slug": ("name",)}
    fieldsets = (
        (None, {"fields": ("name", "slug", "nation")}),
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
                    "office_opens_at",
                    "office_closes_at",
                ),
                "description": "E1: the office is open these hours on school days only (terms "
                "and closure days are on the school calendar, which the headteacher and the "
                "office keep). At other times alerts go to whoever is on the on-call rota.",
            },
        ),
        (
            "Check-in and escalation timings (D1, E1, E2)",
            {
                "fields": (
                    "arrival_tolerance_minutes",
                    "grace_minutes",
                    "escalation_step2_minutes",
                    "alert_repeat_minutes",
                )
            },
        ),
    )

    @admin.action(description="Start a drill: a practice overdue alert for the office (E1)")
    def start_drill(self, request, queryset):
        """The school's admin or headteacher tests the office's procedure (escalation/)."""
        from escalation.responses import drill_start
        from visits.rules import RuleBroken

        for school in queryset:
            try:
                drill_start(school=school, by=request.user)
            except RuleBroken as error:
                self.message_user(request, f"{school}: {' '.join(error.messages)}", "error")
            else:
                self.message_user(
                    request,
                    f"Drill started at {school}: the office sees it on the live board, marked "
                    "DRILL, and its response time is recorded.",
                )

    def has_add_permission(self, request):
        return request.user.is_superuser and super().has_add_permission(request)

    def has_delete_permission(self, request, obj=None):
        return request.user.is_superuser and super().has_delete_permission(request, obj)


# People: the user, their staff profile and their roles at schools.


class StaffProfileInline(admin.StackedInline):
    model = StaffProfile
    can_delete = False
    max_num = 1
    # The office reads the mobile and vehicle when a visit runs late (P12, P13: fields' help).
    verbose_name_plural = "staff profile (mobile and vehicle)"


def _form_for(form, request):
    """`form` told who is giving the role (MembershipForm.by), for this request only."""
    return type(form.__name__, (form,), {"by": request.user})


class MembershipInline(_SchoolScopedAdmin, admin.TabularInline):
    """A school admin sees and gives roles at their own schools only; a role given is shown,
    never changed; a DSL, deputy DSL or headteacher role waits for approval (A8)."""

    model = Membership
    form = MembershipForm
    extra = 1
    fields = ("school", "role")
    verbose_name_plural = "roles at schools"

    def get_formset(self, request, obj=None, **kwargs):
        kwargs["form"] = _form_for(self.form, request)
        return super().get_formset(request, obj, **kwargs)


def _tell_given(model_admin, request, given):
    """The admin's message for what role_give returned: a role given, or a request waiting."""
    if isinstance(given, RoleRequest):
        model_admin.message_user(
            request,
            f"{given.get_role_display()} for {display_name(given.user)} at {given.school} "
            "reads safeguarding records: it waits for a second person's approval (the "
            "headteacher, or the trust's admin for the headteacher role). The school's DSL and "
            "headteacher have been told. Follow it on the page Roles waiting for approval (A8).",
            messages.WARNING,
        )


def _send_reset(model_admin, request, user):
    try:
        password_reset_send(user=user, by=request.user, request=request)
    except RoleRefused as refusal:
        model_admin.message_user(request, " ".join(refusal.messages), messages.ERROR)
        return False
    model_admin.message_user(
        request,
        f"A link to set their own password was sent to {display_name(user)} at {user.email}.",
    )
    return True


class StaffImportForm(forms.Form):
    """A staff CSV for one of the importer's schools: checked first, saved on confirmation."""

    school = forms.ModelChoiceField(
        queryset=School.objects.none(),
        empty_label=None,
        help_text="Everyone in the file gets their roles at this school only.",
    )
    staff_file = forms.FileField(label="Staff CSV", required=False)
    # The checked file, signed, so that confirming saves exactly what was checked.
    checked = forms.CharField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args, schools, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["school"].queryset = schools


STAFF_IMPORT_SALT = "schools.admin.staff-import"
STAFF_IMPORT_MAX_AGE = 60 * 60  # seconds between checking a file and confirming it


def _staff_import_done(model_admin, request, done, unsent):
    added = sum(1 for _, _, created, _ in done if created)
    given = sum(1 for *_, results in done for r in results if isinstance(r, Membership))
    asked = sum(1 for *_, results in done for r in results if isinstance(r, RoleRequest))
    words = [
        f"{added} new {'person' if added == 1 else 'people'} added, each sent a link to set "
        "their own password",
        f"{len(done) - added} already had an account",
        f"{given} role{'' if given == 1 else 's'} given",
    ]
    model_admin.message_user(request, "Staff imported: " + "; ".join(words) + ".")
    if asked:
        model_admin.message_user(
            request,
            f"{asked} DSL, deputy DSL or headteacher role{' waits' if asked == 1 else 's wait'} "
            "for a second person's approval: they read safeguarding records. The school's DSL "
            "and headteacher have been told; follow them on the page Roles waiting for approval "
            "(A8).",
            messages.WARNING,
        )
    for message in unsent:
        model_admin.message_user(request, message, messages.ERROR)


admin.site.unregister(User)

# A8: nobody sets or sees another person's password here, superusers included: they are sent a
# link to set their own (password_reset). A person changes their own on the password change page.
# What a school admin may set on a person: never superuser status, groups or permissions.
SCHOOL_ADMIN_USER_FIELDSETS = (
    (None, {"fields": ("username", "password_reset")}),
    ("Personal info", {"fields": ("first_name", "last_name", "email")}),
    ("Access", {"fields": ("is_active", "is_staff")}),
    ("Important dates", {"fields": ("last_login", "date_joined")}),
)
SUPERUSER_USER_FIELDSETS = (
    (None, {"fields": ("username", "password_reset")}),
    ("Personal info", {"fields": ("first_name", "last_name", "email")}),
    (
        "Permissions",
        {"fields": ("is_active", "is_staff", "is_superuser", "groups", "user_permissions")},
    ),
    ("Important dates", {"fields": ("last_login", "date_joined")}),
)


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    """Django's user admin plus the person's staff profile and roles, edited in one place.

    A school admin sees the people of their schools and people with no role yet (users_in_scope)
    and changes only those whose roles are all at their schools (may_change_user).
    """

    inlines = (StaffProfileInline, MembershipInline)
    change_list_template = "admin/schools/user_change_list.html"
    form = UserChangeForm
    add_form = UserAddForm
    add_fieldsets = (
        (
            None,
            {
                "fields": ("username", "first_name", "last_name", "email"),
                "description": "No password: the new person is emailed a link to set their own, "
                "so nobody else ever knows it (A8).",
            },
        ),
    )
    actions = ["send_password_reset"]
    list_display = ("username", "first_name", "last_name", "email", "roles", "is_active")
    list_filter = (
        "is_active",
        "is_staff",
        "is_superuser",
        ("memberships__school", AdministeredSchoolFilter),
    )

    def get_queryset(self, request):
        qs = super().get_queryset(request)
        ids = administered_school_ids(request)
        if ids is None:
            return qs.prefetch_related("memberships__school")
        # Only the roles at their own schools are shown to a school admin.
        return qs.filter(pk__in=users_in_scope(request).values("pk")).prefetch_related(
            Prefetch(
                "memberships",
                queryset=Membership.objects.filter(school_id__in=ids).select_related("school"),
            )
        )

    def get_list_filter(self, request):
        if request.user.is_superuser:
            return self.list_filter
        return [f for f in self.list_filter if f != "is_superuser"]

    def get_fieldsets(self, request, obj=None):
        if obj is None:
            return self.add_fieldsets
        if not request.user.is_superuser:
            return SCHOOL_ADMIN_USER_FIELDSETS
        return SUPERUSER_USER_FIELDSETS

    def get_readonly_fields(self, request, obj=None):
        return (*super().get_readonly_fields(request, obj), "password_reset")

    @admin.display(description="password")
    def password_reset(self, user):
        if user.pk is None:
            return "–"
        url = reverse("admin:auth_user_send_reset", args=[user.pk])
        return format_html(
            'Nobody sets another person\'s password (A8). <a href="{}">Send a password reset '
            "link</a>: they set their own. Your own password: change it on the password change "
            "page.",
            url,
        )

    def get_urls(self):
        send_reset = self.admin_site.admin_view(self.send_reset_view)
        staff_import_page = self.admin_site.admin_view(self.staff_import_view)
        template = self.admin_site.admin_view(self.staff_template_view)
        return [
            path("import-staff/", staff_import_page, name="auth_user_staff_import"),
            path("import-staff/staff.csv", template, name="auth_user_staff_template"),
            path("<id>/send-reset/", send_reset, name="auth_user_send_reset"),
            *super().get_urls(),
        ]

    def changelist_view(self, request, extra_context=None):
        refused = _refuse_nul(request)
        if refused:
            return refused
        if self._import_schools(request).exists():
            extra_context = {
                **(extra_context or {}),
                "staff_import_url": reverse("admin:auth_user_staff_import"),
            }
        return super().changelist_view(request, extra_context)

    def _import_schools(self, request):
        """The schools `request.user` may import staff into (none: no import for them)."""
        if not self.has_add_permission(request):
            return School.objects.none()
        ids = administered_school_ids(request)
        return School.objects.all() if ids is None else School.objects.filter(pk__in=ids)

    def staff_template_view(self, request):
        """The Staff CSV template: the header and one example row."""
        if not self._import_schools(request).exists():
            raise PermissionDenied
        response = HttpResponse(content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = 'attachment; filename="staff.csv"'
        writer = csv.writer(response)
        writer.writerow(STAFF_HEADER)
        writer.writerow(STAFF_EXAMPLE)
        return response

    def staff_import_view(self, request):
        """Issue 12, item 8: a school's staff and their roles from one CSV. The file is checked
        first (nothing saved): every row's problems with its row number, or what will happen to
        each person. Saved only on confirmation, and only if no row has a problem."""
        schools = self._import_schools(request)
        if not schools.exists():
            raise PermissionDenied
        form = StaffImportForm(request.POST or None, request.FILES or None, schools=schools)
        rows, checked = None, ""
        if request.method == "POST" and form.is_valid():
            school = form.cleaned_data["school"]
            text = self._staff_text(request, form, school)
            if text is not None:
                try:
                    rows = staff_file_read(text, school=school, by=request.user)
                except StaffFileError as error:
                    form.add_error("staff_file", str(error))
            if rows and not any(row.problems for row in rows):
                if "confirm" in request.POST:
                    saved = self._staff_save(request, form, school, rows)
                    if saved:
                        return redirect("admin:auth_user_changelist")
                    rows = None
                else:
                    checked = signing.dumps(
                        {"school": school.pk, "by": request.user.pk, "text": text},
                        salt=STAFF_IMPORT_SALT,
                        compress=True,
                    )
        context = {
            **self.admin_site.each_context(request),
            "title": "Import staff from a CSV",
            "opts": self.opts,
            "form": form,
            "rows": rows,
            "bad_rows": [row for row in rows or [] if row.problems],
            "checked": checked,
            "school": form.cleaned_data.get("school") if rows else None,
            "columns": STAFF_COLUMNS,
            "header": ",".join(STAFF_HEADER),
        }
        return TemplateResponse(request, "admin/schools/staff_import.html", context)

    def _staff_text(self, request, form, school):
        """The file's text: the checked one on confirmation, else the one chosen."""
        if "confirm" in request.POST:
            try:
                checked = signing.loads(
                    form.cleaned_data["checked"],
                    salt=STAFF_IMPORT_SALT,
                    max_age=STAFF_IMPORT_MAX_AGE,
                )
            except signing.BadSignature:
                checked = {}
            if checked.get("school") != school.pk or checked.get("by") != request.user.pk:
                form.add_error(
                    None,
                    "This check is more than an hour old or was for another school: nothing was "
                    "saved. Choose the file and check it again.",
                )
                return None
            return checked["text"]
        upload = form.cleaned_data.get("staff_file")
        if upload is None:
            form.add_error("staff_file", "Choose the staff CSV file.")
            return None
        if upload.size > STAFF_MAX_BYTES:
            form.add_error("staff_file", "The file is larger than 1 MB: a staff list is smaller.")
            return None
        return staff_file_text(upload.read())

    def _staff_save(self, request, form, school, rows):
        try:
            done, unsent = staff_import(school=school, rows=rows, by=request.user, request=request)
        except RoleRefused as refusal:
            form.add_error(None, "Nothing was saved: " + " ".join(refusal.messages))
            return False
        except IntegrityError:
            form.add_error(
                None,
                "Nothing was saved: someone added one of these people or usernames while you "
                "were checking. Check the file again.",
            )
            return False
        _staff_import_done(self, request, done, unsent)
        return True

    def send_reset_view(self, request, id):
        """The button for one person: confirm, then send the link (POST)."""
        user = self.get_object(request, unquote(id))
        if user is None:
            raise Http404("No such person.")
        if not self.has_change_permission(request, user):
            raise PermissionDenied
        if request.method == "POST":
            _send_reset(self, request, user)
            return redirect("admin:auth_user_change", user.pk)
        context = {
            **self.admin_site.each_context(request),
            "title": "Send a password reset link",
            "person": user,
            "opts": self.opts,
        }
        return TemplateResponse(request, "admin/auth/user/send_reset.html", context)

    @admin.action(description="Send a password reset link")
    def send_password_reset(self, request, queryset):
        for user in queryset:
            if self.has_change_permission(request, user):
                _send_reset(self, request, user)
            else:
                self.message_user(
                    request,
                    f"{display_name(user)} also works at a school you do not administer: the "
                    "trust's admin sends their link (A8).",
                    messages.ERROR,
                )

    def user_change_password(self, request, id, form_url=""):
        # A8: nobody sets another person's password, superusers included; one's own is changed
        # on the password change page, which asks for the current one.
        if str(request.user.pk) == str(unquote(id)):
            return redirect("account_change_password")
        raise PermissionDenied

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        if not change:
            _send_reset(self, request, form.instance)

    def save_formset(self, request, form, formset, change):
        if formset.model is not Membership:
            return super().save_formset(request, form, formset, change)
        # Roles go through schools/roles.py: given, or asked for, and taken away on the record.
        formset.save(commit=False)
        for membership in formset.deleted_objects:
            role_remove(membership=membership, by=request.user, request=request)
        given = []
        for membership in formset.new_objects:
            result = role_give(
                user=form.instance,
                school=membership.school,
                role=membership.role,
                by=request.user,
                request=request,
            )
            if isinstance(result, Membership):
                given.append(result)
            _tell_given(self, request, result)
        # The admin's history names only the roles given, not those waiting.
        formset.new_objects = given

    def has_change_permission(self, request, obj=None):
        if obj is not None and not may_change_user(request, obj):
            return False
        return super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        if obj is not None and not may_change_user(request, obj):
            return False
        return super().has_delete_permission(request, obj)

    @admin.display(description="roles at schools")
    def roles(self, user):
        return "; ".join(
            f"{m.get_role_display()} at {m.school.slug}" for m in user.memberships.all()
        )


@admin.register(Membership)
class MembershipAdmin(_SchoolScopedAdmin, admin.ModelAdmin):
    """Roles are given (or asked for) and taken away through schools/roles.py, never changed:
    moving a role to someone else, or turning an office role into a DSL one, would skip the
    rules of giving it (A8). To change one, delete it and add the new one."""

    form = MembershipForm
    list_display = ("user", "school", "role")
    list_filter = (("school", AdministeredSchoolFilter), "role")
    search_fields = ("user__username", "user__first_name", "user__last_name", "user__email")
    list_select_related = ("user", "school")
    autocomplete_fields = ("user", "school")

    def get_form(self, request, obj=None, change=False, **kwargs):
        kwargs["form"] = _form_for(self.form, request)
        return super().get_form(request, obj, change=change, **kwargs)

    def has_change_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        given = role_give(
            user=obj.user, school=obj.school, role=obj.role, by=request.user, request=request
        )
        if isinstance(given, Membership):
            obj.pk = given.pk
            obj._state.adding = False
        obj._given = given

    def log_addition(self, request, obj, message):
        if obj.pk is not None:  # a role waiting for approval is on the audit trail instead
            return super().log_addition(request, obj, message)
        return None

    def response_add(self, request, obj, post_url_continue=None):
        if obj.pk is None:
            _tell_given(self, request, obj._given)
            return redirect("admin:schools_rolerequest_changelist")
        return super().response_add(request, obj, post_url_continue)

    def delete_model(self, request, obj):
        role_remove(membership=obj, by=request.user, request=request)

    def delete_queryset(self, request, queryset):
        for membership in queryset.select_related("user", "school"):
            role_remove(membership=membership, by=request.user, request=request)

    def scoped_choices(self, name, request, ids):
        if name == "user":
            # A role may be given to anyone who can sign in; the school is theirs to choose.
            return User.objects.filter(is_active=True)
        return super().scoped_choices(name, request, ids)


@admin.register(RoleRequest)
class RoleRequestAdmin(_SchoolScopedAdmin, admin.ModelAdmin):
    """A8: the DSL, deputy DSL and headteacher roles asked for, and what was decided. Read
    only: the headteacher (or the trust's admin) decides on the page Roles waiting for
    approval, never here."""

    list_display = ("role", "user", "school", "outcome", "asked_by", "asked_at", "decided_by")
    list_filter = (("school", AdministeredSchoolFilter), "outcome", "role")
    list_select_related = ("user", "school", "asked_by", "decided_by")
    search_fields = ("user__username", "user__first_name", "user__last_name")
    date_hierarchy = "asked_at"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


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

    def get_queryset(self, request):
        qs = super().get_queryset(request)
        if request.user.is_superuser:
            return qs
        return qs.filter(user__in=users_in_scope(request).values("pk"))

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "user" and not request.user.is_superuser:
            kwargs["queryset"] = users_in_scope(request)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def has_change_permission(self, request, obj=None):
        if obj is not None and not may_change_user(request, obj.user):
            return False
        return super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        if obj is not None and not may_change_user(request, obj.user):
            return False
        return super().has_delete_permission(request, obj)


# Pupils and carers, with CSV import and export.


class _FileImportExportAdmin(_SchoolScopedAdmin, ImportExportModelAdmin):
    """CSV in and out; importing needs add and change rights, exporting needs view rights.

    django-import-export lets anyone who reaches the changelist import and export unless
    settings name a permission; pupils' and carers' details are too sensitive for that.
    The import is told who is importing: a school admin's row for another school is refused
    (schools/resources.py). The export is the changelist's rows, so already scoped.
    """

    formats = (CSV,)

    def has_import_permission(self, request):
        return self.has_add_permission(request) and self.has_change_permission(request)

    def has_export_permission(self, request):
        return self.has_view_permission(request)

    def get_import_resource_kwargs(self, request, **kwargs):
        return {**super().get_import_resource_kwargs(request, **kwargs), "user": request.user}


class YearGroupFilter(admin.SimpleListFilter):
    """The year groups of the pupils listed. A value that is not one of them (a crafted
    address) lists no pupil and never reaches the database."""

    title = "year group"
    parameter_name = "year_group"

    def lookups(self, request, model_admin):
        groups = (
            model_admin.get_queryset(request)
            .order_by("year_group")
            .values_list("year_group", flat=True)
            .distinct()
        )
        return [(group, group or "(none)") for group in groups]

    def queryset(self, request, queryset):
        value = self.value()
        if value is None:
            return queryset
        if value not in {group for group, _ in self.lookup_choices}:
            return queryset.none()
        return queryset.filter(year_group=value)


class CarerInline(admin.StackedInline):
    model = Carer
    extra = 0


@admin.register(Pupil)
class PupilAdmin(_FileImportExportAdmin):
    resource_classes = (PupilResource,)
    list_display = ("name", "upn", "school", "year_group", "key_worker", "flags")
    list_filter = (
        ("school", AdministeredSchoolFilter),
        YearGroupFilter,
        "has_animals",
        "previous_aggression",
    )
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

    def scoped_choices(self, name, request, ids):
        if name == "key_worker":
            return User.objects.filter(
                pk__in=Membership.objects.filter(school_id__in=ids).values("user_id")
            )
        return super().scoped_choices(name, request, ids)

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
    school_lookup = "pupil__school"
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
    list_filter = (
        ("pupil__school", AdministeredSchoolFilter),
        "parental_responsibility",
        "lives_with_pupil",
    )
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

    def scoped_choices(self, name, request, ids):
        if name == "pupil":
            return Pupil.objects.filter(school_id__in=ids)
        return super().scoped_choices(name, request, ids)

    @admin.display(description="school", ordering="pupil__school__name")
    def school(self, carer):
        return carer.pupil.school


# The school calendar (A7, E1) and the on-call rota (E1). The headteacher and the office keep
# them on their own pages (schools/views_calendar.py); here the trust's and school admins do.


RECORDED = ("created_by", "created_at", "updated_by", "updated_at")


class _CalendarEntryAdmin(_SchoolScopedAdmin, admin.ModelAdmin):
    """Saved and deleted with who and when, and a CalendarChange, as the pages do."""

    list_filter = (("school", AdministeredSchoolFilter),)
    list_select_related = ("school",)
    readonly_fields = RECORDED

    def save_model(self, request, obj, form, change):
        obj.save_by(by=request.user, now=timezone.now())

    def delete_model(self, request, obj):
        obj.delete_by(by=request.user, now=timezone.now())

    def delete_queryset(self, request, queryset):
        now = timezone.now()
        for obj in queryset:
            obj.delete_by(by=request.user, now=now)


@admin.register(Term)
class TermAdmin(_CalendarEntryAdmin):
    list_display = ("name", "school", "starts_on", "ends_on")
    search_fields = ("name",)
    date_hierarchy = "starts_on"
    fieldsets = (
        (
            None,
            {
                "fields": ("school", "name", "starts_on", "ends_on"),
                "description": "A7, E1: school days are the weekdays inside a term that are not "
                "bank holidays or closure days. Record each half term as a term, so that half-term "
                "holidays fall between terms. A school with no terms counts every weekday as term "
                "time; once it has some, days after the last one are holidays until the next "
                "terms are added.",
            },
        ),
        ("Recorded", {"fields": RECORDED}),
    )


@admin.register(ClosureDay)
class ClosureDayAdmin(_CalendarEntryAdmin):
    list_display = ("date", "school", "reason", "note")
    list_filter = (("school", AdministeredSchoolFilter), "reason")
    date_hierarchy = "date"
    fieldsets = (
        (
            None,
            {
                "fields": ("school", "date", "reason", "note"),
                "description": "A7, E1: an INSET day or other closure is not a school day: the "
                "office counts as closed (alerts go to whoever is on call) and reminders wait.",
            },
        ),
        ("Recorded", {"fields": RECORDED}),
    )


@admin.register(OnCallShift)
class OnCallShiftAdmin(_CalendarEntryAdmin):
    list_display = ("user", "school", "starts_at", "ends_at", "kind", "note")
    list_filter = (("school", AdministeredSchoolFilter), "kind")
    list_select_related = ("school", "user")
    search_fields = ("user__username", "user__first_name", "user__last_name", "note")
    date_hierarchy = "starts_at"
    autocomplete_fields = ("user",)
    fieldsets = (
        (
            None,
            {
                "fields": ("school", "user", "starts_at", "ends_at", "kind", "note"),
                "description": "E1: when the office is closed, an overdue alert goes to whoever "
                "is on call: cover and swaps first, then the rota. A swap is recorded as cover "
                "(one entry for each person, each for the other's times). Only people with a "
                "role at the school can be on call; one person's rota shifts may not overlap.",
            },
        ),
        ("Recorded", {"fields": RECORDED}),
    )

    def scoped_choices(self, name, request, ids):
        if name == "user":
            return User.objects.filter(
                is_active=True,
                pk__in=Membership.objects.filter(school_id__in=ids).values("user_id"),
            )
        return super().scoped_choices(name, request, ids)


@admin.register(CalendarChange)
class CalendarChangeAdmin(_SchoolScopedAdmin, admin.ModelAdmin):
    """The record of changes to the rota and calendar: read only."""

    list_display = ("at", "school", "action", "what", "by")
    list_filter = (("school", AdministeredSchoolFilter), "action")
    list_select_related = ("school", "by")
    search_fields = ("what",)
    date_hierarchy = "at"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
