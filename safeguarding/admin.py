"""Concerns and minutes in the admin: read-only, and only for those A8 lets read them at the
record's school, superusers included. Changes go through safeguarding/services/, which keeps the
audit trail; reading here is not audited, so the admin shows no account, minutes or addendum
text and no signature: those are read in the app, where every reading is recorded."""

from django.contrib import admin

from schools.selectors import schools_for
from visits.admin import ReadOnlyMixin, _local

from .access import RECORDS_ROLES, RETENTION_ROLES
from .models import (
    Action,
    Addendum,
    Concern,
    ConcernEvent,
    CopySent,
    Debrief,
    FileTransfer,
    Minutes,
    MinutesEvent,
    RetentionRun,
    RetentionSchedule,
    Signature,
)
from .services import READING_ROLES
from .services.minutes import MINUTES_READING_ROLES
from .services.retention import retention_schedule_update


class _ReadersOnlyMixin:
    school_lookup = "school"
    reading_roles = READING_ROLES

    def get_queryset(self, request):
        schools = schools_for(request.user, roles=self.reading_roles)
        return super().get_queryset(request).filter(**{f"{self.school_lookup}__in": schools})


@admin.register(Concern)
class ConcernAdmin(_ReadersOnlyMixin, ReadOnlyMixin, admin.ModelAdmin):
    list_display = ("raised", "school", "pupil", "status", "category", "referral", "raised_by")
    list_filter = ("school", "status", "category", "referral")
    list_select_related = ("school", "pupil", "raised_by")
    exclude = ("account",)

    @admin.display(description="raised", ordering="raised_at")
    def raised(self, concern):
        return _local(concern.raised_at)


@admin.register(ConcernEvent)
class ConcernEventAdmin(_ReadersOnlyMixin, ReadOnlyMixin, admin.ModelAdmin):
    school_lookup = "concern__school"
    list_display = ("at", "concern", "kind", "by", "message")
    list_filter = ("kind",)
    list_select_related = ("concern__pupil", "by")


class _MinutesReadersMixin(_ReadersOnlyMixin):
    reading_roles = MINUTES_READING_ROLES
    school_lookup = "minutes__visit__school"


@admin.register(Minutes)
class MinutesAdmin(_MinutesReadersMixin, ReadOnlyMixin, admin.ModelAdmin):
    school_lookup = "visit__school"
    list_display = ("visit", "status", "started_by", "updated", "submitted_by")
    list_filter = ("status",)
    list_select_related = ("visit__pupil", "started_by", "submitted_by")
    fields = (
        "visit",
        "status",
        "revision",
        "started_by",
        "started_at",
        "updated_by",
        "updated_at",
        "submitted_by",
        "submitted_at",
    )

    @admin.display(description="last saved", ordering="updated_at")
    def updated(self, minutes):
        return _local(minutes.updated_at)


@admin.register(Signature)
class SignatureAdmin(_MinutesReadersMixin, ReadOnlyMixin, admin.ModelAdmin):
    list_display = ("minutes", "signer_role", "signer_name", "signed_at")
    list_select_related = ("minutes__visit__pupil",)
    exclude = ("image",)


@admin.register(Addendum)
class AddendumAdmin(_MinutesReadersMixin, ReadOnlyMixin, admin.ModelAdmin):
    list_display = ("minutes", "by", "at")
    list_select_related = ("minutes__visit__pupil", "by")
    exclude = ("text",)


@admin.register(CopySent)
class CopySentAdmin(_MinutesReadersMixin, ReadOnlyMixin, admin.ModelAdmin):
    list_display = ("minutes", "version", "recipient", "recipient_name", "method", "sent_at")
    list_filter = ("version", "recipient", "method")
    list_select_related = ("minutes__visit__pupil",)


@admin.register(MinutesEvent)
class MinutesEventAdmin(_ReadersOnlyMixin, ReadOnlyMixin, admin.ModelAdmin):
    # The audit of who read the minutes is for the DSL, deputies and headteacher (A8).
    school_lookup = "minutes__visit__school"
    list_display = ("at", "minutes", "kind", "by", "message")
    list_filter = ("kind",)
    list_select_related = ("minutes__visit__pupil", "by")


@admin.register(Debrief)
class DebriefAdmin(_MinutesReadersMixin, ReadOnlyMixin, admin.ModelAdmin):
    school_lookup = "visit__school"
    list_display = ("visit", "led_by", "led_as", "held_at")
    list_select_related = ("visit__pupil", "led_by")
    exclude = ("agreed",)


@admin.register(Action)
class ActionAdmin(_ReadersOnlyMixin, ReadOnlyMixin, admin.ModelAdmin):
    # Actions may come from a concern, so only those who read concerns list them here (A8).
    list_display = ("due_on", "pupil", "owner", "status", "school")
    list_filter = ("status", "school")
    list_select_related = ("pupil", "owner", "school")
    exclude = ("description", "outcome")


# --- Data-protection duties -----------------------------------------------------------------


@admin.register(RetentionSchedule)
class RetentionScheduleAdmin(_ReadersOnlyMixin, admin.ModelAdmin):
    """Kept by the DSL and headteacher of the school (here or on the "Keeping records" page);
    a change is on the audit trail either way (services/retention.py)."""

    reading_roles = RETENTION_ROLES
    list_display = ("school", *RetentionSchedule.PERIOD_FIELDS)
    list_select_related = ("school",)
    fields = ("school", *RetentionSchedule.PERIOD_FIELDS, "updated_by", "updated_at")
    readonly_fields = ("school", "updated_by", "updated_at")

    def has_add_permission(self, request, obj=None):
        # Every school has one, made with the toolkit's defaults the first time it is needed.
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        if not super().has_change_permission(request, obj):
            return False
        return obj is None or obj.school_id in {
            school.pk for school in schools_for(request.user, roles=RETENTION_ROLES)
        }

    def save_model(self, request, obj, form, change):
        values = {name: form.cleaned_data[name] for name in RetentionSchedule.PERIOD_FIELDS}
        retention_schedule_update(
            school=obj.school, by=request.user, values=values, request=request
        )


@admin.register(RetentionRun)
class RetentionRunAdmin(_ReadersOnlyMixin, ReadOnlyMixin, admin.ModelAdmin):
    reading_roles = RETENTION_ROLES
    list_display = ("at", "school", "dry_run", "by", "counts")
    list_filter = ("dry_run",)
    list_select_related = ("school", "by")


@admin.register(FileTransfer)
class FileTransferAdmin(_ReadersOnlyMixin, ReadOnlyMixin, admin.ModelAdmin):
    reading_roles = RECORDS_ROLES
    list_display = ("created_at", "school", "pupil", "receiving_school", "status", "collected_at")
    list_filter = ("status",)
    list_select_related = ("school", "pupil")
    exclude = ("token_hash",)
