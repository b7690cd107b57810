"""Concerns in the admin: read-only, and only for the DSL, deputies and headteacher of the
concern's school (A8), superusers included. Changes go through safeguarding/services/, which
keeps the audit trail; reading one here is not audited, so the list shows no account text."""

from django.contrib import admin

from schools.selectors import schools_for
from visits.admin import ReadOnlyMixin, _local

from .models import Concern, ConcernEvent
from .services import READING_ROLES


class _ReadersOnlyMixin:
    school_lookup = "school"

    def get_queryset(self, request):
        schools = schools_for(request.user, roles=READING_ROLES)
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
