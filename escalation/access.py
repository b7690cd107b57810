"""Who may see and act on an alert (E1-E3, A8): one place for every "who may" of the watch."""

from django.http import Http404

from schools.models import Role
from schools.selectors import roles_at
from visits.models import WATCHED_STATES, Status
from visits.selectors import schedule_schools

from .models import Escalation

# Roles that may act on an alert: the office and senior staff who hold the schedule (P11).
RESPONDING_ROLES = frozenset({Role.OFFICE, Role.HEADTEACHER, Role.DSL, Role.DEPUTY_DSL, Role.SLT})
DRILL_ROLES = frozenset({Role.HEADTEACHER, Role.SCHOOL_ADMIN})
# E3: the code word comes on the phone while staff are out, or just after they reported out
# (a report can be made under duress); not for a visit not yet under way, closed or cancelled.
CODE_WORD_STATES = WATCHED_STATES | {Status.COMPLETED}


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


def may_respond(user, school):
    """E1-E3: the office and senior staff act on alerts and record the code word."""
    return bool(roles_at(user, school) & RESPONDING_ROLES)


def is_on_the_visit(user, esc):
    return esc.visit is not None and user.pk in esc.visit.staff_user_ids()


def may_answer(user, esc):
    """Who may acknowledge, record a call on, step up or resolve an alert: the office and the
    seniors, but never someone on the visit it is about, whatever else they are: under duress
    the phone that pressed "I need help" must not be able to silence it (they keep that button)."""
    return may_respond(user, esc.school) and not is_on_the_visit(user, esc)


def why_not(user, esc):
    """Why `user` may not act on the alert, in words for its page ("" if they may)."""
    if is_on_the_visit(user, esc):
        return (
            "You are on this visit, so someone else deals with its alert: the office or a "
            "senior who is not on the visit (E1). Use I need help on your own screen if you "
            "need it."
        )
    if not may_respond(user, esc.school):
        return "Alerts are handled by the office and senior staff (E1)."
    return ""


def may_start_drill(user, school):
    return bool(roles_at(user, school) & DRILL_ROLES)


def may_record_code_word(user, visit):
    return may_respond(user, visit.school) and visit.status in CODE_WORD_STATES
