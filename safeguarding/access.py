"""Who may know a concern exists (A8): the DSL, deputies and headteacher of its school, and
the person who raised it. Everyone else gets a 404."""

from django.db.models import Q
from django.http import Http404

from schools.selectors import schools_for

from .models import Concern
from .services import READING_ROLES


def visible_concerns(user):
    if not user.is_authenticated:
        return Concern.objects.none()
    # The raiser keeps sight of their concern only while they hold a role at the school.
    return Concern.objects.filter(
        Q(school__in=schools_for(user, roles=READING_ROLES))
        | Q(raised_by=user, school__in=schools_for(user))
    )


def get_concern_for(user, pk):
    concern = (
        visible_concerns(user)
        .select_related("school", "pupil", "visit", "raised_by", "triaged_by", "closed_by")
        .filter(pk=pk)
        .first()
    )
    if concern is None:
        raise Http404("No such concern.")
    return concern


def visible_minutes(user):
    """A8: minutes are read by the staff on the visit and by the DSL, deputies, headteacher and
    SLT of its school; not by the office, nor by other staff."""
    from .models import Minutes
    from .services.minutes import MINUTES_READING_ROLES

    if not user.is_authenticated:
        return Minutes.objects.none()
    return Minutes.objects.filter(
        Q(visit__school__in=schools_for(user, roles=MINUTES_READING_ROLES))
        | Q(visit__assignments__user=user, visit__school__in=schools_for(user))
    ).distinct()


def get_visit_for_minutes(user, pk):
    """The visit whose minutes `user` may read or write, or 404 (A8). Works before the minutes
    exist, so the staff on the visit can start them."""
    from visits.access import visible_visits

    from .services.minutes import may_read_minutes

    visit = (
        visible_visits(user)
        .select_related("school", "pupil")
        .prefetch_related("assignments__user__staff_profile")
        .filter(pk=pk)
        .first()
    )
    if visit is None or not may_read_minutes(user, visit):
        raise Http404("No such visit.")
    return visit
