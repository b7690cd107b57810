"""The policy rules a visit must meet, each named by its ID in shared/policies/RULES.md.

Checks return lists of messages so a form can show every problem at once; services raise
`RuleBroken` with them.
"""

import datetime

from django.core.exceptions import ValidationError
from django.utils import timezone

from schools.models import AUTHORISING_ROLES, OVERSIGHT_ROLES, VISITING_ROLES, Role
from schools.selectors import roles_at
from schools.validators import is_phone_number

from .models import Purpose, VisitType


class RuleBroken(ValidationError):
    """A request the policies refuse; its messages say which rule and what to do."""


ROLE_WORDS = {
    Role.HEADTEACHER: "the headteacher",
    Role.DSL: "the DSL",
    Role.DEPUTY_DSL: "a deputy DSL",
    Role.SLT: "SLT",
}


def _role_list(roles):
    words = [ROLE_WORDS[r] for r in ROLE_WORDS if r in roles]
    if len(words) <= 1:
        return "".join(words) or "nobody"
    return ", ".join(words[:-1]) + " or " + words[-1]


def staff_problems(*, school, staff):
    """P3, P13: one or two staff of this school who may visit, each with a mobile.

    `staff` is a list of (user, mobile) pairs.
    """
    problems = []
    if not staff:
        problems.append("Name the member of staff going on the visit (P3).")
    if len(staff) > 2:
        problems.append("No more than two members of staff may go on a home visit (P3).")
    users = [user for user, _ in staff]
    if len({u.pk for u in users}) != len(users):
        problems.append("The same person is named twice; name two different people (P3).")
    for user, mobile in staff:
        mobile = str(mobile or "")
        name = user.get_full_name() or user.get_username()
        if not roles_at(user, school) & VISITING_ROLES:
            problems.append(f"{name} is not visiting staff at {school} (P3).")
        if not (mobile or "").strip():
            problems.append(
                f"Record the mobile {name} will carry; the office must be able to call it (P13)."
            )
        elif not is_phone_number(mobile):
            problems.append(f"{mobile!r} is not a number the office can dial for {name} (P13).")
    return problems


def lone_visit_problems(*, visit, staff_count, risk_assessment):
    """P3, P6, P15: when one member of staff may not go alone, whoever decides."""
    if staff_count != 1:
        return []
    problems = []
    school = visit.school
    if not school.lone_visit_deciding_roles():
        problems.append(f"{school} never allows lone visits: name a second member of staff (P3).")
    if (
        visit.visit_type == VisitType.ENTER_HOME
        and risk_assessment is not None
        and risk_assessment.needs_two_staff_to_enter()
    ):
        problems.append(
            "Entering the home when little is known, after previous aggression or on contentious "
            "issues needs two members of staff (P6)."
        )
    if visit.planned_start and visit.expected_end and runs_into_evening(visit):
        evening = school.evening_starts_at.strftime("%H:%M")
        problems.append(
            f"A lone visit may not run past {evening}, when nobody is at school to back up; "
            "name a second member of staff or plan it earlier (P15)."
        )
    return problems


def runs_into_evening(visit):
    """P15: does the visit run past the school's evening start, in the school's local time?"""
    start = timezone.localtime(visit.planned_start)
    end = timezone.localtime(visit.expected_end)
    evening = visit.school.evening_starts_at
    if end.date() > start.date():
        return True
    return end.time() > evening or start.time() >= evening


def start_problems(*, visit, now):
    """P1: a visit is authorised before it takes place."""
    if visit.planned_start and visit.planned_start <= now:
        return ["The planned start has passed: a visit is authorised before it takes place (P1)."]
    return []


def request_problems(*, visit, staff, risk_assessment, now):
    """Everything a visit request needs before it can go to an authoriser (P3-P8, P13, P10).

    Whether its start is still ahead is checked apart (start_problems), so that a visit already
    under way can still have its details kept right.
    """
    problems = []
    if visit.purpose not in Purpose.values or not (visit.purpose_detail or "").strip():
        problems.append("Give the purpose of the visit and describe it (P4).")
    if visit.parent_could_come_to_school is None:
        problems.append("Answer whether the parent could come into school instead (P4).")
    elif visit.parent_could_come_to_school and not visit.why_not_in_school.strip():
        problems.append(
            "The parent could come into school: say why a home visit is still needed (P4)."
        )
    if not visit.planned_start or not visit.expected_end:
        problems.append("Set the planned start and expected end of the visit (P7).")
    else:
        if visit.expected_end <= visit.planned_start:
            problems.append("The expected end must be after the planned start (P7).")
        elif visit.expected_end - visit.planned_start > datetime.timedelta(hours=12):
            problems.append("A home visit cannot last more than 12 hours; check the times (P7).")
    if not (visit.reporting_arrangements or "").strip():
        problems.append("Set the return-to-base and reporting-in arrangements (P7).")
    if not (visit.address or "").strip():
        problems.append("Give the address of the visit.")
    if visit.visit_type not in VisitType.values:
        problems.append("Say whether staff stay at the door or enter the home (P5).")
    if visit.announced is None:
        problems.append("Say whether the parent/carer was told about the visit in advance (P8).")
    elif visit.announced and (not visit.parent_told_how.strip() or not visit.parent_told_at):
        problems.append("Record how and when the parent/carer was told of the visit (P8).")
    elif visit.announced and visit.planned_start and visit.parent_told_at >= visit.planned_start:
        problems.append("The parent/carer must be told before the visit starts (P8).")
    elif visit.announced and visit.parent_told_at > now:
        problems.append("The time the parent/carer was told cannot be in the future (P8).")
    elif visit.announced is False and not visit.unannounced_reason.strip():
        problems.append("Record the reason for an unannounced visit (P8).")
    if risk_assessment is None:
        problems.append("Complete the risk assessment before asking for authorisation (P5).")
    else:
        if not (risk_assessment.known_about_family or "").strip():
            problems.append("Say what is known about the child and family (P5).")
        unanswered = risk_assessment.unanswered()
        if unanswered:
            problems.append("Answer every risk question (P5): " + "; ".join(unanswered) + ".")
    problems += staff_problems(school=visit.school, staff=staff)
    problems += lone_visit_problems(
        visit=visit, staff_count=len(staff), risk_assessment=risk_assessment
    )
    return problems


def authoriser_problems(*, visit, user):
    """P1: may this person authorise (or refuse) this visit?"""
    school = visit.school
    allowed = school.authorising_roles()
    if not roles_at(user, school) & allowed:
        return [f"At {school} a visit is authorised by {_role_list(allowed)} (P1)."]
    if user.pk in visit.staff_user_ids():
        return ["You are going on this visit, so someone else must authorise it (P1)."]
    return []


def lone_decision_problems(*, visit, user, lone_visit_reason):
    """P3: a lone visit needs an explicit, recorded decision by the roles the school names."""
    deciders = visit.school.lone_visit_deciding_roles()
    if not deciders:
        return [f"{visit.school} never allows lone visits (P3)."]
    if not roles_at(user, visit.school) & deciders:
        return [f"Only {_role_list(deciders)} may decide that a visit goes ahead as lone (P3)."]
    if not (lone_visit_reason or "").strip():
        return ["Record why this visit may go ahead with one member of staff (P3)."]
    return []


def is_involved(*, visit, user):
    """A8: the staff on the visit, whoever planned it and the school's oversight roles."""
    return (
        user.pk == visit.created_by_id
        or user.pk in visit.staff_user_ids()
        or bool(roles_at(user, visit.school) & OVERSIGHT_ROLES)
    )


# D2: a visit running long is extended by one of these (minutes), by staff or by the office.
EXTENSION_MINUTES = (15, 30, 60)
# D1: staff may set off and report arriving this long before the planned start, no earlier.
EARLY_START = datetime.timedelta(hours=2)
# E3: "I need help" stays on the screen this long after staff reported out.
HELP_AFTER_LEAVING = datetime.timedelta(hours=2)


def check_in_problems(*, visit, user, now, action):
    """D1-D6, E3: may this person make this check-in now?

    Only the staff on the visit check in (set off, arrive, call for help). Leaving and extending
    may also be recorded by the office for staff who phone in (D1, D2), which the timeline shows.
    """
    from .models import Status

    on_visit = user.pk in visit.staff_user_ids()
    if action in ("extend", "leave") and not on_visit:
        if not roles_at(user, visit.school) & OVERSIGHT_ROLES:
            return ["Only the staff on this visit or the office can record this (D1, D2)."]
    elif not on_visit:
        return ["Only the staff on this visit can check it in (D1)."]
    if action == "help":
        recently_left = visit.left_at is not None and now - visit.left_at <= HELP_AFTER_LEAVING
        if visit.is_watched or recently_left:
            return []
        return ["This visit is not under way: phone 999 if you are in danger (E3)."]
    allowed = {
        "set_off": {Status.AUTHORISED},
        "arrive": {Status.AUTHORISED, Status.ON_THE_WAY},
        "extend": {Status.ON_SITE},
        "leave": {Status.AUTHORISED, Status.ON_THE_WAY, Status.ON_SITE},
        "door": {Status.AUTHORISED, Status.ON_THE_WAY, Status.ON_SITE},
    }[action]
    if visit.status not in allowed:
        if visit.status in (Status.SUBMITTED, Status.DRAFT, Status.CHANGES_REQUESTED):
            return ["Only an authorised visit can be started (P1)."]
        return [f"This visit is {visit.get_status_display().lower()}."]
    if visit.planned_start - EARLY_START > now:
        local = timezone.localtime(visit.planned_start)
        return [f"This visit starts at {local:%H:%M on %a %d %b}; check in on the day (D1)."]
    return []


# Closing the record is for the people who oversee safeguarding (A6 arrives with minutes).
CLOSING_ROLES = AUTHORISING_ROLES


def may_close(*, visit, user):
    return bool(roles_at(user, visit.school) & CLOSING_ROLES)


def available_actions(*, visit, user, now):
    """Which of the visit's moves this person may try now; the screens offer only these.

    The services check the same rules again when the move is made.
    """
    from .models import Status

    actions = set()
    if not is_involved(visit=visit, user=user):
        return actions
    if visit.is_editable:
        actions |= {"edit", "risk"}
    if visit.status in (Status.DRAFT, Status.CHANGES_REQUESTED):
        actions.add("submit")
    if visit.status == Status.SUBMITTED and not authoriser_problems(visit=visit, user=user):
        actions.add("decide")
    if visit.is_cancellable:
        actions.add("cancel")
    for action in ("set_off", "arrive", "extend", "leave", "door", "help"):
        if not check_in_problems(visit=visit, user=user, now=now, action=action):
            actions.add(action)
    # No "close": a visit closes by itself once its minutes and debrief are in (A1, A6).
    return actions


def decision_blockers(*, visit, user):
    """Why this person cannot decide this visit now, in words (empty: they can)."""
    from .models import Status

    if visit.status != Status.SUBMITTED:
        return [f"This visit is {visit.get_status_display().lower()}, not awaiting a decision."]
    blockers = authoriser_problems(visit=visit, user=user)
    if not blockers and visit.is_lone:
        # Any reason will do here: this asks only whether their role may decide (P3).
        blockers = lone_decision_problems(visit=visit, user=user, lone_visit_reason="-")
    return blockers


def backup_gap(visit):
    """P15's spirit, E1: when the visit runs while the office is closed and nobody is on the
    on-call rota to be alerted, a sentence saying so (or "" when someone is): the school is
    told when it authorises the visit, so that it puts someone on call first."""
    from schools.selectors import next_on_call_gap

    school = visit.school
    end = visit.expected_end + datetime.timedelta(
        minutes=school.grace_minutes + school.escalation_step2_minutes
    )
    gap = next_on_call_gap(school, visit.planned_start, end, office_closed_only=True)
    if gap is None:
        return ""
    start = timezone.localtime(gap[0])
    return (
        f"Nobody is on call from {start:%H:%M on %a %d %b}, while this visit runs and the "
        "office is closed: if the staff were overdue then, no one would be alerted but the "
        "headteacher. Put someone on the on-call rota (E1)."
    )
