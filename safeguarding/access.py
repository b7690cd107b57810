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
