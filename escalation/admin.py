"""Alerts and their notifications in the admin: read-only records.

Every change to an alert goes through escalation/services.py, which records who and when on the
timeline; an admin form would go round that. Rows are shown only to people who hold the office
or a senior role at the alert's school (A8), superusers included. The escalation settings
themselves (tolerance, grace, police-step delay, office hours, on-call number) are the school's,
under Schools.
"""

from django.contrib import admin
from django.contrib.contenttypes.admin import GenericTabularInline

from notifications.models import Notification
from schools.admin import _SchoolScopedAdmin
from visits.admin import ReadOnlyMixin, _local
from visits.selectors import schedule_schools

from .models import Escalation, Heartbeat, TechnicalContact, WatchdogOutage


class _OwnSchoolsMixin:
    def get_queryset(self, request):
        return super().get_queryset(request).filter(school__in=schedule_schools(request.user))


class NotificationInline(ReadOnlyMixin, GenericTabularInline):
    model = Notification
    ct_field, ct_fk_field = "about_type", "about_id"
    fields = (
        "created_at",
        "channel",
        "recipient_label",
        "address",
        "state",
        "attempts",
        "sent_at",
        "last_error",
    )


@admin.register(Escalation)
class EscalationAdmin(_OwnSchoolsMixin, ReadOnlyMixin, admin.ModelAdmin):
    list_display = (
        "raised_local",
        "school",
        "visit",
        "kind",
        "step",
        "is_drill",
        "acknowledged",
        "resolved_at",
    )
    list_filter = ("school", "kind", "step", "is_drill")
    list_select_related = ("school", "visit__pupil")
    date_hierarchy = "raised_at"
    inlines = (NotificationInline,)

    @admin.display(description="raised", ordering="raised_at")
    def raised_local(self, esc):
        return _local(esc.raised_at)

    @admin.display(description="seconds to acknowledge")
    def acknowledged(self, esc):
        seconds = esc.response_seconds()
        return "–" if seconds is None else int(seconds)


@admin.register(Notification)
class NotificationAdmin(_OwnSchoolsMixin, ReadOnlyMixin, admin.ModelAdmin):
    list_display = (
        "created_at",
        "school",
        "channel",
        "recipient_label",
        "subject",
        "state",
        "attempts",
    )
    list_filter = ("state", "channel", "school", "is_drill")
    search_fields = ("recipient_label", "address", "subject")
    exclude = ("about_type", "about_id")


@admin.register(Heartbeat)
class HeartbeatAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = ("name", "at")


@admin.register(TechnicalContact)
class TechnicalContactAdmin(_SchoolScopedAdmin, admin.ModelAdmin):
    """Who the watchdog pages when the overdue watch stops. A school admin keeps their school's;
    the trust's (no school) are kept by the trust's admins."""

    list_display = ("name", "school", "mobile", "is_active")
    list_filter = ("is_active",)
    search_fields = ("name",)

    def get_form(self, request, obj=None, **kwargs):
        form = super().get_form(request, obj, **kwargs)
        if not request.user.is_superuser and "school" in form.base_fields:
            form.base_fields["school"].required = True
        return form


@admin.register(WatchdogOutage)
class WatchdogOutageAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = ("started_at", "parts", "paged_at", "ended_at", "recovery_paged_at")
