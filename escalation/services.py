"""The escalation chain (E1-E3): every change to an escalation goes through these functions.

Step 1 (E1): a missed check-in alerts the office (or, out of hours, the on-call senior), who
phone the staff and record what happened. Step 2 (E2, E3): an unresolved step 1 after the
school's limit, a cause for concern, the code word or "I need help" raises the police-contact
instructions and alerts the headteacher and DSL.

Idempotence is kept by the database, not by luck: a missed deadline escalates once
(Escalation's unique constraint), a step is claimed with a conditional UPDATE, and every
notification has a unique key. Each function takes `now`, read once by its caller.
"""

import datetime
import functools
import logging
import time

from django.conf import settings
from django.db import DatabaseError, IntegrityError, transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

from notifications import services as outbox
from notifications.models import Channel
from notifications.services import people_with, recipients_of
from schools.models import Role
from schools.selectors import display_name, roles_at
from visits.models import WATCHED_STATES, EventKind, Status, Visit, VisitEvent, VisitStaff
from visits.rules import EXTENSION_MINUTES, RuleBroken

from .models import CallOutcome, Escalation, Heartbeat, Kind, Step

log = logging.getLogger(__name__)

# Roles told when the police step is raised (E2: "the headteacher is told"; A5: the DSL).
POLICE_STEP_ROLES = (Role.HEADTEACHER, Role.DSL, Role.DEPUTY_DSL)
# Roles that may act on an alert: the office and senior staff who hold the schedule (P11).
RESPONDING_ROLES = frozenset({Role.OFFICE, Role.HEADTEACHER, Role.DSL, Role.DEPUTY_DSL, Role.SLT})
DRILL_ROLES = frozenset({Role.HEADTEACHER, Role.SCHOOL_ADMIN})


def may_respond(user, school):
    """E1-E3: the office and senior staff act on alerts and record the code word."""
    return bool(roles_at(user, school) & RESPONDING_ROLES)


def may_start_drill(user, school):
    return bool(roles_at(user, school) & DRILL_ROLES)


OVERDUE_KINDS = (Kind.ARRIVAL, Kind.RETURN)


def _event(esc, *, kind, by, now, message="", data=None):
    visit = esc.visit
    status = visit.status if visit else ""
    return VisitEvent.objects.create(
        visit=visit,
        escalation=esc,
        kind=kind,
        by=by,
        at=now,
        from_status=status,
        to_status=status,
        message=message,
        data=data or {},
    )


def _link(name, *args):
    return settings.SITE_URL + reverse(name, args=args)


# --- Who is told ---------------------------------------------------------------------------


def _office_recipients(esc, now):
    """E1: the office in office hours; the on-call senior's mobile when it is closed."""
    school = esc.school
    if school.office_is_open(now):
        people = list(people_with(school, [Role.OFFICE]))
        if people:
            return recipients_of(people)
    if school.out_of_hours_phone:
        return [(None, "On-call senior", (Channel.SMS, school.out_of_hours_phone))]
    # Nobody in danger may go unnoticed: with no office and no on-call number, go to the seniors.
    return _senior_recipients(esc)


def _senior_recipients(esc):
    if esc.is_drill:
        # A drill never reaches the police step's real contacts: only whoever started it.
        user = esc.raised_by
        return recipients_of([user] if user else [])
    people = people_with(esc.school, POLICE_STEP_ROLES)
    return recipients_of(people)


def _notification_rows(esc, *, purpose, recipients, subject, body, now, visit=None):
    """Outbox rows (unsaved) for `recipients`, keyed so that a step run twice writes none twice."""
    about = esc if esc is not None else visit
    return outbox.rows_for(
        key=f"esc{esc.pk}:{purpose}" if esc is not None else f"visit{visit.pk}:{purpose}",
        school=visit.school if esc is None else esc.school,
        about=about,
        recipients=recipients,
        subject=subject,
        body=body,
        now=now,
        is_drill=bool(esc and esc.is_drill),
    )


def _queue(esc, **kwargs):
    """Write outbox rows; a row already written for this purpose is kept.

    Rows are written in the caller's transaction: the step and its messages commit together.
    """
    return len(outbox.queue(_notification_rows(esc, **kwargs)))


# --- What is said --------------------------------------------------------------------------


def staff_lines(visit):
    """Names and mobiles of the staff on a visit, for a message read on a phone."""
    # .all() uses the assignments a sweep prefetched; elsewhere it is one small query.
    return [f"{display_name(a.user)} {a.mobile}" for a in visit.assignments.all()]


def _summary(esc):
    if esc.visit is None:
        return "DRILL: practice overdue alert. No one is in danger; respond as you would."
    visit = esc.visit
    local = timezone.localtime
    due = (
        f"due {local(esc.deadline):%H:%M}"
        if esc.deadline
        else f"raised {local(esc.raised_at):%H:%M}"
    )
    return (
        f"{esc.get_kind_display()} ({due}): home visit to {visit.pupil}, "
        f"{visit.address.splitlines()[0] if visit.address else ''}. "
        f"Staff: {'; '.join(staff_lines(visit))}."
    )


def _prefix(esc):
    return "[DRILL] " if esc.is_drill else ""


def _step1_message(esc):
    subject = f"{_prefix(esc)}Home visit overdue: phone the staff now (E1)"
    body = (
        f"{_summary(esc)}\nPhone them now, then record what happened: "
        f"{_link('escalation-detail', esc.pk)}"
    )
    return subject, body


def _police_message(esc):
    if esc.is_drill:
        subject = "[DRILL] Police step reached in a practice alert: do NOT call 999"
    else:
        subject = "POLICE STEP: staff on a home visit may be in danger (E2)"
    body = (
        f"{_summary(esc)}\nReason: {esc.police_step_reason}\n"
        f"Police-contact instructions: {_link('escalation-police', esc.pk)}"
    )
    return subject, body


# --- Raising and stepping up ---------------------------------------------------------------


def _step1_fields(school, now):
    """E1, E2: whether the office is open now, and when an unresolved alert becomes step 2."""
    return {
        "out_of_hours": not school.office_is_open(now),
        "police_due_at": now + datetime.timedelta(minutes=school.escalation_step2_minutes),
    }


def _step1_rows(esc, *, now, recipients):
    """E1: the timeline event and outbox rows (unsaved) that alert the office for `esc`."""
    who = "the on-call senior (office closed)" if esc.out_of_hours else "the office"
    status = esc.visit.status if esc.visit else ""
    event = VisitEvent(
        visit=esc.visit,
        escalation=esc,
        kind=EventKind.ESCALATION_RAISED,
        by=esc.raised_by,
        at=now,
        from_status=status,
        to_status=status,
        message=f"{esc.get_kind_display()}: {who} alerted to phone the staff (E1).",
    )
    subject, body = _step1_message(esc)
    rows = _notification_rows(
        esc, purpose="step1", recipients=recipients, subject=subject, body=body, now=now
    )
    return event, rows


def _raise_step1(esc, *, now):
    """E1: the office (or the on-call senior) is alerted and must phone the staff (a drill's
    alert; the sweep raises real ones in bulk). `esc` was created with _step1_fields()."""
    event, rows = _step1_rows(esc, now=now, recipients=_office_recipients(esc, now))
    event.save()
    _queue_alert_messages(esc, rows, now=now)


def _police_rows(esc, *, now):
    subject, body = _police_message(esc)
    recipients = _senior_recipients(esc) + _office_recipients(esc, now)
    return _notification_rows(
        esc, purpose="step2", recipients=recipients, subject=subject, body=body, now=now
    )


def _claim_police_step(esc, *, by, now, reason):
    """E2, E3: raise the police step once; a second caller (or worker) finds it done."""
    claimed = Escalation.objects.filter(pk=esc.pk, step=Step.OFFICE, resolved_at__isnull=True)
    if not claimed.update(
        step=Step.POLICE, police_step_at=now, police_due_at=None, police_step_reason=reason
    ):
        return False
    esc.refresh_from_db()
    _event(
        esc,
        kind=EventKind.POLICE_STEP,
        by=by,
        now=now,
        message=f"{reason} Police-contact instructions raised; headteacher and DSL alerted.",
    )
    _queue_alert_messages(esc, _police_rows(esc, now=now), now=now)
    return True


# --- Messages that cannot be queued ----------------------------------------------------------


def _queue_alert_messages(esc, rows, *, now):
    """Queue an alert's messages in a savepoint of their own.

    If they cannot be written the alert still stands (on the board, sounding), and says why
    there and on its page until a later sweep queues them (messages_retry_batch): a fault in
    the messages must never take the alert down with it.
    """
    try:
        with transaction.atomic():
            outbox.queue(rows)
    except Exception as exc:
        log.exception("Could not queue the messages of escalation %s", esc.pk)
        _messages_unqueued(esc, error=f"{type(exc).__name__}: {exc}", now=now)
        return False
    if esc.messages_error:
        Escalation.objects.filter(pk=esc.pk).update(messages_error="")
        esc.messages_error = ""
        _event(esc, kind=EventKind.NOTIFICATION_SENT, by=None, now=now, message="Messages queued.")
    return True


def _messages_unqueued(esc, *, error, now):
    error = error.splitlines()[0][:500] if error else "unknown error"
    first = not esc.messages_error
    Escalation.objects.filter(pk=esc.pk).update(messages_error=error)
    esc.messages_error = error
    if first:
        _event(
            esc,
            kind=EventKind.NOTIFICATION_FAILED,
            by=None,
            now=now,
            message=f"Messages could not be sent: {error}. Trying again.",
        )


def _current_rows(esc, *, now):
    """The messages of the step the alert is at (step 1's, or the police step's)."""
    if esc.at_police_step:
        return _police_rows(esc, now=now)
    return _step1_rows(esc, now=now, recipients=_office_recipients(esc, now))[1]


def messages_retry_batch(*, now, limit=50, failed=None):
    """Open alerts whose messages could not be queued: queue them now. Returns (tried, queued)."""
    failed = set() if failed is None else failed
    queued = 0
    with transaction.atomic():
        due = list(
            Escalation.objects.filter(resolved_at__isnull=True)
            .exclude(messages_error="")
            .exclude(pk__in=failed)
            .select_related("school", "visit__pupil", "raised_by")
            .order_by("raised_at")
            .select_for_update(skip_locked=True, of=("self",))[:limit]
        )
        for esc in due:
            if _queue_alert_messages(esc, _current_rows(esc, now=now), now=now):
                queued += 1
            else:
                failed.add(esc.pk)
    return len(due), queued


def _handled(visits):
    """Visits (of `visits`) that need no new alert: one is open for them, or was raised for
    this very deadline before (one_escalation_per_deadline would refuse a second)."""
    deadlines = {v.next_deadline for v in visits}
    seen = Escalation.objects.filter(visit__in=visits).filter(
        Q(resolved_at__isnull=True) | Q(deadline__in=deadlines)
    )
    done = set()
    for visit_id, kind, deadline, resolved_at in seen.values_list(
        "visit_id", "kind", "deadline", "resolved_at"
    ):
        done.add((visit_id, None) if resolved_at is None else (visit_id, (kind, deadline)))
    return {
        v.pk
        for v in visits
        if (v.pk, None) in done or (v.pk, (v.deadline_kind, v.next_deadline)) in done
    }


def _new_overdue_alerts(visits, *, now, recipients):
    """E1: raise the step-1 alerts for locked visits past their deadline; return how many.

    The escalation takes over each visit's watch (its deadline is cleared; the next state
    change sets a new one). `recipients` caches step-1 recipients by (school, office open), so
    a storm of alerts does not look up the same people each time. Rows are written in bulk.
    """
    Visit.objects.filter(pk__in=[v.pk for v in visits]).update(next_deadline=None, deadline_kind="")
    handled = _handled(visits)
    alerts = [
        Escalation(
            school=v.school,
            visit=v,
            kind=v.deadline_kind,
            deadline=v.next_deadline,
            raised_at=now,
            **_step1_fields(v.school, now),
        )
        for v in visits
        if v.pk not in handled
    ]
    Escalation.objects.bulk_create(alerts)
    events, rows = [], {}
    for esc in alerts:
        key = (esc.school_id, esc.out_of_hours)
        if key not in recipients:
            recipients[key] = _office_recipients(esc, now)
        event, rows[esc] = _step1_rows(esc, now=now, recipients=recipients[key])
        events.append(event)
    VisitEvent.objects.bulk_create(events)
    try:
        with transaction.atomic():
            outbox.queue([row for batch in rows.values() for row in batch])
    except Exception:
        # One alert's messages that cannot be written must not stop another's: each on its own.
        for esc, batch in rows.items():
            _queue_alert_messages(esc, batch, now=now)
    return len(alerts)


def overdue_claim_batch(*, now, limit=50, failed=None, recipients=None):
    """Claim up to `limit` visits past their deadline and raise their alerts.

    Returns (claimed, raised). Rows are locked with SKIP LOCKED, so workers running at once
    share the work. The batch is written in bulk; if that raises, each visit is tried again on
    its own, in its own savepoint, so one that raises holds up no other. A visit that raises
    stays watched and is added to `failed`, which later rounds of the same sweep pass over:
    stuck visits can never fill every batch and starve the rest.
    """
    failed = set() if failed is None else failed
    recipients = {} if recipients is None else recipients
    with transaction.atomic():
        due = list(
            Visit.objects.filter(next_deadline__lte=now)
            .exclude(pk__in=failed)
            .select_related("school", "pupil")
            .prefetch_related("assignments__user")
            .order_by("next_deadline")
            .select_for_update(skip_locked=True, of=("self",))[:limit]
        )
        if not due:
            return 0, 0
        try:
            with transaction.atomic():
                return len(due), _new_overdue_alerts(due, now=now, recipients=recipients)
        except Exception:
            log.exception("Could not escalate a batch of %s overdue visits; one by one", len(due))
        raised = 0
        for visit in due:
            try:
                with transaction.atomic():
                    raised += _new_overdue_alerts([visit], now=now, recipients=recipients)
            except Exception:
                # Left watched: the next sweep tries again, and the log says why.
                log.exception("Could not escalate overdue visit %s", visit.pk)
                failed.add(visit.pk)
    return len(due), raised


def police_step_batch(*, now, limit=50, failed=None):
    """E2: step 1 alerts not resolved within the school's limit go to the police step.

    Returns (claimed, raised); `failed` as for overdue_claim_batch.
    """
    failed = set() if failed is None else failed
    done = 0
    with transaction.atomic():
        due = list(
            Escalation.objects.filter(police_due_at__lte=now, resolved_at__isnull=True)
            .exclude(pk__in=failed)
            .select_related("school", "visit__pupil", "raised_by")
            .order_by("police_due_at")
            .select_for_update(skip_locked=True, of=("self",))[:limit]
        )
        for esc in due:
            minutes = esc.school.escalation_step2_minutes
            try:
                with transaction.atomic():
                    done += _claim_police_step(
                        esc,
                        by=None,
                        now=now,
                        reason=f"Step 1 not resolved within {minutes} minutes (E2).",
                    )
            except Exception:
                log.exception("Could not raise the police step for escalation %s", esc.pk)
                failed.add(esc.pk)
    return len(due), done


def sweep(*, now=None, limit=50, budget_seconds=None):
    """One run of the overdue watch: every due police step, then every due deadline.

    With `now` given (tests, replays) every batch judges at that instant; without it each batch
    reads the clock afresh, so an alert's raised_at and its police-step time are when it was
    really raised. A run stops after `budget_seconds` (default: two sweep periods) and the next
    beat tick carries on: a storm of alerts after an outage never holds the worker's processes
    so long that other work, or the next sweep, waits behind it. Batches commit `limit` alerts
    at a time, so the first of a storm shows within a sweep period. Police steps go first: in a
    storm they must not wait behind the new alerts. Last, alerts whose messages could not be
    queued try again.
    """
    budget = budget_seconds
    if budget is None:
        budget = 2 * settings.ESCALATION_SWEEP_SECONDS
    ends = time.monotonic() + budget
    totals = {"claimed": 0, "raised": 0, "police": 0, "requeued": 0}
    # The office's recipients are looked up once per school for the whole run.
    new_alerts = functools.partial(overdue_claim_batch, recipients={})
    batches = (
        (police_step_batch, "police"),
        (new_alerts, "raised"),
        (messages_retry_batch, "requeued"),
    )
    for batch, key in batches:
        failed = set()
        while True:
            try:
                claimed, raised = batch(now=now or timezone.now(), limit=limit, failed=failed)
            except DatabaseError:
                # A batch whose commit failed (a lock waited for too long, the database gone
                # for a moment) is rolled back whole; the next kind of batch, and the next
                # sweep a period later, go on.
                log.exception("An overdue sweep batch (%s) failed; retried next sweep", key)
                break
            if key == "raised":
                totals["claimed"] += claimed
            totals[key] += raised
            if claimed < limit or time.monotonic() >= ends:
                break
    return totals


# --- Emergencies: "I need help" and the code word (E3) -------------------------------------


def emergency_raise(*, visit, by, now, kind, reason):
    """E3: straight to the police step, joining the visit's open alert if it has one."""
    esc = Escalation.objects.filter(visit=visit, resolved_at__isnull=True).first()
    if esc is None:
        try:
            with transaction.atomic():
                esc = Escalation.objects.create(
                    school=visit.school, visit=visit, kind=kind, raised_at=now, raised_by=by
                )
        except IntegrityError:
            # Two taps (or both staff) at once: the other one made the alert; join it.
            esc = Escalation.objects.get(visit=visit, resolved_at__isnull=True)
    _claim_police_step(esc, by=by, now=now, reason=reason)
    if kind == Kind.HELP:
        _tell_partner(esc, by=by, now=now)
    return esc


def _tell_partner(esc, *, by, now):
    """Either one's "I need help" escalates, and the other member of staff is told."""
    others = VisitStaff.objects.filter(visit=esc.visit).exclude(user=by).select_related("user")
    recipients = [(a.user, display_name(a.user), (Channel.SMS, a.mobile)) for a in others]
    body = (
        f"{display_name(by)} pressed I NEED HELP on your home visit at "
        f"{timezone.localtime(now):%H:%M}. The school is calling the police. "
        "If you are safe, get to safety; if you can, phone the office."
    )
    _queue(
        esc,
        purpose=f"partner-help-{by.pk}",
        recipients=recipients,
        subject="Your partner needs help",
        body=body,
        now=now,
    )


# --- The office's response -----------------------------------------------------------------


def _require_responder(esc, by):
    if not may_respond(by, esc.school):
        raise RuleBroken("Alerts are handled by the office and senior staff (E1).")


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


def _acknowledge(esc, *, by, now):
    if esc.acknowledged_at is None:
        esc.acknowledged_at, esc.acknowledged_by = now, by
        esc.save(update_fields=["acknowledged_at", "acknowledged_by"])
        seconds = int(esc.response_seconds())
        _event(
            esc,
            kind=EventKind.ACKNOWLEDGED,
            by=by,
            now=now,
            message=f"Acknowledged {seconds // 60} min {seconds % 60} s after it was raised.",
            data={"response_seconds": seconds},
        )


@transaction.atomic
def escalation_acknowledge(*, escalation, by, now=None):
    """The alert is seen: the sound stops on every board. Its response time is recorded."""
    now = now or timezone.now()
    esc = _locked(escalation)
    _require_responder(esc, by)
    _acknowledge(esc, by=by, now=now)
    return esc


def _restart_watch(visit, *, now, minutes):
    """Staff are safe as of now: watch them again from now (plus `minutes` more, if agreed)."""
    if visit is None or not visit.is_watched:
        return
    until = now + datetime.timedelta(minutes=minutes)
    if visit.extended_until is None or until > visit.extended_until:
        visit.extended_until = until
    visit.save(update_fields=["extended_until", *visit.refresh_deadline()])


def _resolve(esc, *, by, now, resolution):
    esc.resolved_at, esc.resolved_by, esc.resolution = now, by, resolution
    esc.police_due_at = None
    esc.save(update_fields=["resolved_at", "resolved_by", "resolution", "police_due_at"])
    _event(esc, kind=EventKind.ESCALATION_RESOLVED, by=by, now=now, message=resolution)


@transaction.atomic
def escalation_record_call(*, escalation, by, outcome, note="", extend_minutes=0, now=None):
    """E1: the office phoned the staff; what happened decides the next step."""
    now = now or timezone.now()
    esc = _locked(escalation)
    _require_responder(esc, by)
    if not esc.is_open:
        raise RuleBroken("This alert is already resolved.")
    if outcome not in CallOutcome.values:
        raise RuleBroken("Say what happened on the call.")
    if extend_minutes and extend_minutes not in EXTENSION_MINUTES:
        raise RuleBroken("Extend by 15, 30 or 60 minutes (D2).")
    _acknowledge(esc, by=by, now=now)
    label = CallOutcome(outcome).label
    message = f"{label}. {note.strip()}".strip()
    _event(esc, kind=EventKind.CALL, by=by, now=now, message=message, data={"outcome": outcome})
    if outcome == CallOutcome.REACHED_SAFE:
        extra = f" Extended by {extend_minutes} minutes (D2)." if extend_minutes else ""
        _resolve(esc, by=by, now=now, resolution=f"Staff reached by phone and safe.{extra}")
        _restart_watch(esc.visit, now=now, minutes=extend_minutes)
    elif outcome == CallOutcome.CONCERN:
        _claim_police_step(
            esc,
            by=by,
            now=now,
            reason=f"{display_name(by)} recorded a cause for concern (E2). {note}".strip(),
        )
    elif outcome == CallOutcome.CODE_WORD:
        _claim_police_step(
            esc,
            by=by,
            now=now,
            reason=f"{display_name(by)} recorded that the code word was used (E3).",
        )
    return esc


# E3: the code word comes on the phone while staff are out, or just after they reported out
# (a report can be made under duress); not for a visit not yet under way, closed or cancelled.
CODE_WORD_STATES = WATCHED_STATES | {Status.COMPLETED}


def may_record_code_word(user, visit):
    return may_respond(user, visit.school) and visit.status in CODE_WORD_STATES


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
    _require_responder(esc, by)
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
    _acknowledge(esc, by=by, now=now)
    when = timezone.localtime(called_at)
    _event(
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
    _require_responder(esc, by)
    if not esc.is_open:
        raise RuleBroken("This alert is already resolved.")
    reason = (reason or "").strip() or "Raised by hand."
    _claim_police_step(esc, by=by, now=now, reason=f"{display_name(by)}: {reason}")
    return esc


@transaction.atomic
def escalation_resolve(*, escalation, by, resolution, now=None):
    """Close the alert with what happened; staff still out are watched again from now."""
    now = now or timezone.now()
    esc = _locked(escalation)
    _require_responder(esc, by)
    if not esc.is_open:
        return esc
    resolution = (resolution or "").strip()
    if not resolution:
        raise RuleBroken("Record how the alert ended (who was reached, where staff are now).")
    _acknowledge(esc, by=by, now=now)
    _resolve(esc, by=by, now=now, resolution=resolution)
    _restart_watch(esc.visit, now=now, minutes=0)
    return esc


def overdue_resolve_on_check_in(*, visit, by, now, what):
    """Staff checked in by themselves: an open step-1 overdue alert is answered.

    A police-step alert stays open: a check-in could be made under duress, and only the
    office closes it, having spoken to the staff.
    """
    esc = (
        Escalation.objects.select_for_update()
        .filter(visit=visit, resolved_at__isnull=True, kind__in=OVERDUE_KINDS, step=Step.OFFICE)
        .first()
    )
    if esc is None:
        return None
    esc.visit = visit
    _resolve(esc, by=by, now=now, resolution=f"{display_name(by)} checked in: {what}.")
    return esc


def safety_report(*, visit, by, now, reason, child_at_risk):
    """D5: a visit called off or ended for safety is reported to the headteacher; D6: a child
    alone or at risk goes to the DSL too."""
    roles = [Role.HEADTEACHER] + ([Role.DSL, Role.DEPUTY_DSL] if child_at_risk else [])
    people = people_with(visit.school, roles)
    recipients = recipients_of(people)
    subject = "Home visit called off for safety (D5)"
    if child_at_risk:
        subject += ": child at risk (D6)"
    body = (
        f"{display_name(by)} called off the home visit to {visit.pupil} at "
        f"{timezone.localtime(now):%H:%M}: {reason}\n{_link('visit-detail', visit.pk)}"
    )
    _queue(
        None,
        visit=visit,
        purpose="safety",
        recipients=recipients,
        subject=subject,
        body=body,
        now=now,
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


# --- Drills ----------------------------------------------------------------------------------


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
    _raise_step1(esc, now=now)
    return esc


# --- The watcher's own health ----------------------------------------------------------------


def heartbeat_write(name, *, now=None):
    Heartbeat.objects.update_or_create(name=name, defaults={"at": now or timezone.now()})


# The workers (the watch's and the sender's) and beat beat from threads of their own; "sweep" is
# written by every finished sweep, so a worker that is alive but never gets to run a sweep is
# called down too.
WATCHERS = ("worker", "sender", "beat", "sweep")


def watchers_down(*, now):
    """The parts of the overdue watch that have been silent too long (empty: all running)."""
    stale = datetime.timedelta(seconds=settings.HEARTBEAT_STALE_SECONDS)
    seen = dict(Heartbeat.objects.filter(name__in=WATCHERS).values_list("name", "at"))
    return [name for name in WATCHERS if name not in seen or now - seen[name] > stale]
