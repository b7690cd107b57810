"""The one place that decides whether someone may know a visit exists (A8)."""

from django.http import Http404
from guardian.shortcuts import get_objects_for_user

from schools.selectors import schools_for

from .models import Visit


def visible_visits(user):
    """Every visit the user may see. Superusers get no special pass: A8 applies to all."""
    if not user.is_authenticated:
        return Visit.objects.none()
    # Someone who has left the school keeps their old per-visit grants in guardian's table;
    # A8 still shuts them out, because access also needs a current role at the visit's school.
    return get_objects_for_user(
        user,
        "visits.view_visit",
        klass=Visit,
        accept_global_perms=False,
        with_superuser=False,
    ).filter(school__in=schools_for(user))


def get_visit_for(user, pk):
    """The visit, or 404 for anyone who may not know it exists."""
    visit = (
        visible_visits(user)
        .select_related("school", "pupil", "created_by", "risk_assessment")
        .prefetch_related("assignments__user__staff_profile")
        .filter(pk=pk)
        .first()
    )
    if visit is None:
        raise Http404("No such visit.")
    return visit
