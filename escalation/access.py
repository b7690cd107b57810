"""Who may see an alert: the office and senior staff of its school (E1, A8), nobody else."""

from django.http import Http404

from visits.selectors import schedule_schools

from .models import Escalation


def visible_escalations(user):
    if not user.is_authenticated:
        return Escalation.objects.none()
    return Escalation.objects.filter(school__in=schedule_schools(user))


def get_escalation_for(user, pk):
    """The alert, or 404 for anyone who may not know it exists."""
    esc = (
        visible_escalations(user)
        .select_related("school", "visit__pupil", "visit__school", "raised_by", "acknowledged_by")
        .prefetch_related("visit__assignments__user__staff_profile")
        .filter(pk=pk)
        .first()
    )
    if esc is None:
        raise Http404("No such alert.")
    return esc
