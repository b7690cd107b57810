"""What people do about an alert (E1-E3): answer it, record the call, call the police, step it
up, resolve it; and the check-ins, reports and drills that touch alerts. Every change to an
alert made by a person goes through these functions, which check who may (access.py), record
who, how and when, and write the timeline.

Nobody on the visit may answer, step up or resolve its alert, whatever other role they hold:
under duress the phone that pressed "I need help" must not be able to silence it.
"""

import datetime

from django.db import transaction
from django.utils import timezone

from notifications import services as outbox
from schools.models import Role
from schools.selectors import display_name
from visits.models import EventKind, Visit, VisitEvent
from visits.rules import RuleBroken

from . import messages
from .access import CODE_WORD_STATES, may_answer, may_respond, may_start_drill, why_not
from .models import Answer, CallOutcome, Escalation, Kind, Step, Whereabouts
from .services import (
    OVERDUE_KINDS,
    _step1_fields,
    claim_police_step,
    emergency_raise,
    event,
    raise_step1,
)

# How far ahead "staying until" may be: a visit runs at most 12 hours (P7).
LONGEST_STAY = datetime.timedelta(hours=12)


def _require_answerer(esc, by):
    reason = why_not(by, esc)
    if reason:
        raise RuleBroken(reason)


def _locked(esc):
    """The alert under a row lock, its visit locked first.

    Check-ins lock the visit and then its alert; taking them in the same order here means an
    office action and a check-in at the same moment queue instead of deadlocking. `of=("self",)`
    because PostgreSQL cannot lock the nullable side of the outer joins (a drill has no visit).
    """
    if esc.visit_id is not None:
        list(Visit.objects.select_for_update(no_key=True).filter(pk=esc.visit_id).values_list("pk"))
    return (
        Escalation.objects.select_for_update(no_key=True, of=("self",))
        .select_related("school", "visit__school", "visit__pupil", "raised_by")
        .get(pk=esc.pk)
    )


# --- Answering -----------------------------------------------------------------------------------


def answer(esc, *, by, now, how):
    """Someone deals with the step the alert is at: its repeats stop, and the timeline says who
    answered, how and when. Answering again changes nothing."""
    if esc.is_answered:
        return False
    if esc.at_police_step:
        esc.police_acknowledged_at, esc.police_acknowledged_by = now, by
        esc.police_acknowledged_how = how
        fields = ["police_acknowledged_at", "police_acknowledged_by", "police_acknowledged_how"]
        since = esc.police_step_at
    else:
        esc.acknowledged_at, esc.acknowledged_by, esc.acknowledged_how = now, by, how
        fields = ["acknowledged_at", "acknowledged_by", "acknowledged_how"]
        since = esc.raised_at
    esc.repeat_due_at = None
    esc.save(update_fields=[*fields, "repeat_due_at"])
    seconds = max(0, int((now - since).total_seconds()))
    who = display_name(by) if by is not None else "The on-call phone"
    step = "police step" if esc.at_police_step else "alert"
    event(
        esc,
        kind=EventKind.ACKNOWLEDGED,
        by=by,
        now=now,
        message=(
            f"{who} answered the {step} {Answer(how).label}, "
            f"{seconds // 60} min {seconds % 60} s after it was raised."
        ),
        data={"response_seconds": seconds, "how": how, "step": esc.step},
    )
    return True


@transaction.atomic
def escalation_acknowledge(*, escalation, by, now=None, how=Answer.BOARD):
    """The alert is seen and someone deals with it: the sound stops on every board."""
    now = now or timezone.now()
    esc = _locked(escalation)
    _require_answerer(esc, by)
    answer(esc, by=by, now=now, how=how)
    return esc


@transaction.atomic
def answer_by_message(*, notification, how, now):
    """Someone answered through a message about an alert (its link; a key press on a call).

    It answers the step the message was about, if the alert is still at it: a link from the
    office alert does not answer the police step that followed."""
    esc = Escalation.objects.filter(pk=notification.about_id).first()
    if esc is None:
        return False
    esc = _locked(esc)
    if not esc.is_open or f":step{esc.step}" not in notification.key:
        return False
    by = notification.recipient
    if by is not None and not may_answer(by, esc):
        return False
    return answer(esc, by=by, now=now, how=how)


# --- Recording what happened ---------------------------------------------------------------------


def _staying_until(until, *, now):
    if until is None:
        raise RuleBroken("Say until when they are staying.")
    if until <= now:
        raise RuleBroken("The time they are staying until has passed: give a later time.")
    if until > now + LONGEST_STAY:
        raise RuleBroken("A visit runs at most 12 hours (P7): give an earlier time.")
    return until


def _settle_visit(esc, *, by, now, whereabouts, until):
    """Staff were reached: record where they are, which decides the watch. Left: the visit is
    reported out and the watch ends. Staying: they are watched again until that time."""
    from visits.services import visit_leave, visit_safe_by_phone

    visit = esc.visit
    if visit is None or not visit.is_watched:
        return ""
    if whereabouts == Whereabouts.LEFT:
        visit_leave(visit=visit, by=by, now=now)
        return "They have left."
    until = _staying_until(until, now=now)
    visit_safe_by_phone(visit=visit, by=by, until=until, now=now)
    return f"They are staying until {timezone.localtime(until):%H:%M}."


def _resolve(esc, *, by, now, resolution, whereabouts=""):
    esc.resolved_at, esc.resolved_by, esc.resolution = now, by, resolution
    esc.whereabouts = whereabouts
    esc.police_due_at = esc.repeat_due_at = None
    esc.save(
        update_fields=[
            "resolved_at",
            "resolved_by",
            "resolution",
            "whereabouts",
            "police_due_at",
            "repeat_due_at",
        ]
    )
    event(esc, kind=EventKind.ESCALATION_RESOLVED, by=by, now=now, message=resolution)


def _check_whereabouts(esc, whereabouts, until, now):
    """Resolving says where the staff are (no incident comes back without a new deadline)."""
    if esc.visit is None or not esc.visit.is_watched:
        return
    if whereabouts not in Whereabouts.values:
        raise RuleBroken(
            "Say where the staff are: they have left, or they are staying until a time."
        )
    if whereabouts == Whereabouts.STAYING:
        _staying_until(until, now=now)


@transaction.atomic
def escalation_record_call(
    *, escalation, by, outcome, note="", whereabouts="", until=None, now=None
):
    """E1: the office phoned the staff; what happened decides the next step."""
    now = now or timezone.now()
    esc = _locked(escalation)
    _require_answerer(esc, by)
    if not esc.is_open:
        raise RuleBroken("This alert is already resolved.")
    if outcome not in CallOutcome.values:
        raise RuleBroken("Say what happened on the call.")
    if outcome == CallOutcome.REACHED_SAFE:
        _check_whereabouts(esc, whereabouts, until, now)
    answer(esc, by=by, now=now, how=Answer.CALL_RECORDED)
    label = CallOutcome(outcome).label
    text = f"{label}. {note.strip()}".strip()
    event(esc, kind=EventKind.CALL, by=by, now=now, message=text, data={"outcome": outcome})
    if outcome == CallOutcome.REACHED_SAFE:
        where = _settle_visit(esc, by=by, now=now, whereabouts=whereabouts, until=until)
        _resolve(
            esc,
            by=by,
            now=now,
            resolution=f"Staff reached by phone and safe. {where}".strip(),
            whereabouts=whereabouts,
        )
    elif outcome == CallOutcome.CONCERN:
        claim_police_step(
            esc,
            by=by,
            now=now,
            reason=f"{display_name(by)} recorded a cause for concern (E2). {note}".strip(),
        )
    elif outcome == CallOutcome.CODE_WORD:
        claim_police_step(
            esc,
            by=by,
            now=now,
            reason=f"{display_name(by)} recorded that the code word was used (E3).",
        )
    return esc


@transaction.atomic
def code_word_record(*, visit, by, now=None):
    """E3: staff said the code word on the phone: straight to the police step."""
    now = now or timezone.now()
    visit = (
        Visit.objects.select_for_update(no_key=True, of=("self",))
        .select_related("school", "pupil")
        .get(pk=visit.pk)
    )
    if not may_respond(by, visit.school):
        raise RuleBroken("The code word is recorded by the office or senior staff (E3).")
    if visit.status not in CODE_WORD_STATES:
        raise RuleBroken("The code word applies while staff are out on the visit (E3).")
    return emergency_raise(
        visit=visit,
        by=by,
        now=now,
        kind=Kind.CODE_WORD,
        reason=f"{display_name(by)} recorded that the code word was used (E3).",
    )


@transaction.atomic
def escalation_record_police_call(*, escalation, by, reference, called_at=None, now=None):
    """E2: when the police were called and their reference."""
    now = now or timezone.now()
    esc = _locked(escalation)
    _require_answerer(esc, by)
    if not esc.at_police_step:
        raise RuleBroken("The police are called at the police step (E2); raise it first.")
    called_at = called_at or now
    if called_at > now:
        raise RuleBroken("The time the police were called cannot be in the future.")
    reference = (reference or "").strip()
    if (esc.police_called_at, esc.police_reference) == (called_at, reference):
        return esc
    esc.police_called_at, esc.police_reference, esc.police_called_by = called_at, reference, by
    esc.save(update_fields=["police_called_at", "police_reference", "police_called_by"])
    answer(esc, by=by, now=now, how=Answer.POLICE_CALLED)
    when = timezone.localtime(called_at)
    event(
        esc,
        kind=EventKind.POLICE_CALLED,
        by=by,
        now=now,
        message=f"Police called at {when:%H:%M}; reference {reference or 'not given yet'}.",
    )
    return esc


@transaction.atomic
def escalation_raise_police_step(*, escalation, by, reason, now=None):
    """E2: someone decides not to wait for the limit."""
    now = now or timezone.now()
    esc = _locked(escalation)
    _require_answerer(esc, by)
    if not esc.is_open:
        raise RuleBroken("This alert is already resolved.")
    reason = (reason or "").strip() or "Raised by hand."
    claim_police_step(esc, by=by, now=now, reason=f"{display_name(by)}: {reason}")
    return esc


@transaction.atomic
def escalation_resolve(*, escalation, by, whereabouts="", until=None, note="", now=None):
    """Close the alert saying where the staff are: left (the visit is reported out and the
    watch ends) or staying until a time (watched again until then). Nothing comes back
    without a new missed deadline."""
    now = now or timezone.now()
    esc = _locked(escalation)
    _require_answerer(esc, by)
    if not esc.is_open:
        return esc
    _check_whereabouts(esc, whereabouts, until, now)
    answer(esc, by=by, now=now, how=Answer.BOARD)
    where = _settle_visit(esc, by=by, now=now, whereabouts=whereabouts, until=until)
    note = (note or "").strip()
    resolution = " ".join(part for part in (where, note) if part) or "Resolved."
    _resolve(esc, by=by, now=now, resolution=resolution, whereabouts=whereabouts)
    return esc


def overdue_resolve_on_check_in(*, visit, by, now, what, whereabouts):
    """Staff checked in by themselves: an open step-1 overdue alert is answered.

    A police-step alert stays open: a check-in could be made under duress, and only someone
    not on the visit closes it, having spoken to the staff.
    """
    esc = (
        Escalation.objects.select_for_update()
        .filter(visit=visit, resolved_at__isnull=True, kind__in=OVERDUE_KINDS, step=Step.OFFICE)
        .first()
    )
    if esc is None:
        return None
    esc.visit = visit
    _resolve(
        esc,
        by=by,
        now=now,
        resolution=f"{display_name(by)} checked in: {what}.",
        whereabouts=whereabouts,
    )
    return esc


# --- Reports from the door -----------------------------------------------------------------------


def safety_report(*, visit, by, now, child_at_risk):
    """D5: a visit called off or ended for safety is reported to the headteacher; D6: a child
    alone or at risk goes to the DSL too. The message says what to do and links to the visit;
    the staff's note stays inside the school's systems (A5, A8)."""
    roles = [Role.HEADTEACHER] + ([Role.DSL, Role.DEPUTY_DSL] if child_at_risk else [])
    people = [
        p for p in outbox.people_with(visit.school, roles) if p.pk not in visit.staff_user_ids()
    ]
    recipients = outbox.recipients_of(people)
    subject, body = messages.safety_report(visit=visit, child_at_risk=child_at_risk, now=now)
    outbox.queue(
        outbox.rows_for(
            key=f"visit{visit.pk}:safety",
            school=visit.school,
            about=visit,
            recipients=recipients,
            subject=subject,
            body=body,
            now=now,
        )
    )
    told = ", ".join(sorted({label for _, label, _ in recipients})) or "nobody (no contact details)"
    VisitEvent.objects.create(
        visit=visit,
        kind=EventKind.SAFETY_REPORTED,
        by=by,
        at=now,
        from_status=visit.status,
        to_status=visit.status,
        message=f"Reported to {told}.",
    )


# --- Drills --------------------------------------------------------------------------------------


@transaction.atomic
def drill_start(*, school, by, now=None):
    """A practice overdue alert: the office's response is timed; no real contact at step 2."""
    now = now or timezone.now()
    if not may_start_drill(by, school):
        raise RuleBroken("A drill is started by the headteacher or a school admin.")
    esc = Escalation.objects.create(
        school=school,
        kind=Kind.DRILL,
        is_drill=True,
        raised_at=now,
        raised_by=by,
        **_step1_fields(school, now),
    )
    raise_step1(esc, now=now)
    return esc
