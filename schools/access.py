"""Who may keep a school's calendar and on-call rota (E1, A7): the headteacher and the office.

Everyone else is answered 404, as if the pages did not exist (A8).
"""

from django.http import Http404
from django.shortcuts import get_object_or_404

from .models import CALENDAR_ROLES, ClosureDay, OnCallShift, School, Term
from .selectors import roles_at, schools_for


def calendar_schools(user):
    """The schools whose calendar and rota `user` keeps."""
    if not user.is_authenticated:
        return School.objects.none()
    return schools_for(user, roles=CALENDAR_ROLES)


def may_keep_calendar(user, school):
    return bool(roles_at(user, school) & CALENDAR_ROLES)


def get_school_for(user, slug):
    """The school with this slug, or 404 unless `user` keeps its calendar and rota."""
    school = calendar_schools(user).filter(slug=slug).first()
    if school is None:
        raise Http404("No such school.")
    return school


_ENTRIES = {"shift": OnCallShift, "term": Term, "closure": ClosureDay}


def get_entry_for(user, slug, kind, pk):
    """A shift, term or closure day of the school, or 404 unless `user` keeps its calendar."""
    school = get_school_for(user, slug)
    entry = get_object_or_404(_ENTRIES[kind].objects.select_related("school"), school=school, pk=pk)
    return school, entry
