"""The overdue watch (E1-E3): raising alerts, stepping them up, repeating them until someone
answers. What people do about an alert is in responses.py; who is told in recipients.py; what
they are told in messages.py.

Step 1 (E1): a missed check-in alerts the office (out of hours, whoever is on call), who phone
the staff and record what happened. Step 2 (E2, E3): an unresolved step 1 after the school's
limit, a cause for concern, the code word or "I need help" raises the police-contact
instructions. Until someone answers a step, its messages go again every few minutes to one
more circle of people, and at once to the next circle when a message to someone fails.

Idempotence is kept by the database, not by luck: a missed deadline escalates once
(Escalation's unique constraint), a step is claimed with a conditional UPDATE, and every
message has a unique key. Each function takes `now`, read once by its caller.
"""

import datetime
import functools
import logging
import secrets
import time

from django.conf import settings
from django.db import DatabaseError, IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from notifications import services as outbox
from notifications.models import Channel, Notification
from visits.models import EventKind, Visit, VisitEvent

from . import messages
from .models import Escalation, Heartbeat, Kind, Step
from .recipients import plan_for

log = logging.getLogger(__name__)

OVERDUE_KINDS = (Kind.ARRIVAL, Kind.RETURN)
# Messages that carry a link to answer the alert; a call is answered by a key press.
ANSWERABLE = {Channel.EMAIL, Channel.SMS, Channel.PUSH}


def repeat_interval(school):
    """E1: how long an alert nobody has answered waits before its messages go again."""
    return datetime.timedelta(minutes=school.alert_repeat_minutes)


def event(esc, *, kind, by, now, message="", data=None):
    """One line on the alert's (and its visit's) timeline."""
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


# --- Messages ----------------------------------------------------------------------------------


# Stands for each row's own answer token while a message is written once per channel.
_TOKEN = "ANSWERTOKENPLACEHOLDER"


def alert_rows(esc, *, now, purpose, recipients):
    """Outbox rows (unsaved) for the alert's current step, one per person and channel, keyed
    `esc<pk>:<purpose>:<channel>:<address>` so a round written twice writes nothing twice."""
    render = messages.police if esc.at_police_step else messages.step1
    # Written once for the texts (email, SMS, push say the same) and once for a call; each
    # row then gets its own answer token.
    written = {}
    rows = []
    for user, label, (channel, address) in recipients:
        token = secrets.token_urlsafe(16) if channel in ANSWERABLE else None
        kind = (channel == Channel.VOICE, bool(token))
        if kind not in written:
            written[kind] = render(esc, now=now, channel=channel, token=_TOKEN if token else None)
        subject, body = written[kind]
        if token:
            body = body.replace(_TOKEN, token)
        rows.append(
            Notification.build(
                key=f"esc{esc.pk}:{purpose}:{channel}:{address}",
                school=esc.school,
                about=esc,
                recipient=user,
                label=label,
                channel=channel,
                address=address,
                subject=subject,
                body=body,
                now=now,
                is_drill=esc.is_drill,
                answer_token=token,
            )
        )
    return rows


def queue_alert_messages(esc, rows, *, now):
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
        event(esc, kind=EventKind.NOTIFICATION_SENT, by=None, now=now, message="Messages queued.")
    return True


def _messages_unqueued(esc, *, error, now):
    error = error.splitlines()[0][:500] if error else "unknown error"
    first = not esc.messages_error
    Escalation.objects.filter(pk=esc.pk).update(messages_error=error)
    esc.messages_error = error
    if first:
        event(
            esc,
            kind=EventKind.NOTIFICATION_FAILED,
            by=None,
            now=now,
            message=f"Messages could not be sent: {error}. Trying again.",
        )


def _names(recipients):
    return ", ".join(dict.fromkeys(label for _, label, _ in recipients)) or "nobody"


def _step_purpose(esc, suffix=""):
    return f"step{esc.step}{suffix}"


def current_rows(esc, *, now, plans=None):
    """The messages of the step the alert is at, to the circles told so far."""
    plan = plan_for(esc, now, plans)
    recipients = plan.recipients(esc, upto=esc.circles_told)
    return alert_rows(esc, now=now, purpose=_step_purpose(esc), recipients=recipients)


# --- Raising and stepping up -------------------------------------------------------------------


def _step1_fields(school, now):
    """E1, E2: whether the office is open now, when an unresolved alert becomes step 2, and
    when its messages go again if nobody answers."""
    return {
        "out_of_hours": not school.office_is_open(now),
        "police_due_at": now + datetime.timedelta(minutes=school.escalation_step2_minutes),
        "repeat_due_at": now + repeat_interval(school),
    }


def _step1_rows(esc, *, now, plans=None):
    """E1: the timeline event and outbox rows (unsaved) that alert the office for `esc`."""
    plan = plan_for(esc, now, plans)
    recipients = plan.recipients(esc, upto=1)
    who = "on call (office closed)" if esc.out_of_hours else "the office"
    status = esc.visit.status if esc.visit else ""
    line = VisitEvent(
        visit=esc.visit,
        escalation=esc,
        kind=EventKind.ESCALATION_RAISED,
        by=esc.raised_by,
        at=now,
        from_status=status,
        to_status=status,
        message=(
            f"{esc.get_kind_display()}: {who} alerted to phone the staff (E1): "
            f"{_names(recipients)}."
        ),
    )
    rows = alert_rows(esc, now=now, purpose="step1", recipients=recipients)
    return line, rows


def raise_step1(esc, *, now):
    """E1 for one alert created with _step1_fields() (a drill's; the sweep raises real ones
    in bulk)."""
    line, rows = _step1_rows(esc, now=now)
    line.save()
    queue_alert_messages(esc, rows, now=now)


def _police_rows(esc, *, now):
    plan = plan_for(esc, now)
    recipients = plan.recipients(esc, upto=1)
    return recipients, alert_rows(esc, now=now, purpose="step2", recipients=recipients)


def claim_police_step(esc, *, by, now, reason):
    """E2, E3: raise the police step once; a second caller (or worker) finds it done.

    The police step is a new alert: it must be answered afresh, its messages repeat until it
    is, and it goes to its own circles (the headteacher, the DSL, the on-call, by phone too).
    """
    claimed = Escalation.objects.filter(pk=esc.pk, step=Step.OFFICE, resolved_at__isnull=True)
    if not claimed.update(
        step=Step.POLICE,
        police_step_at=now,
        police_due_at=None,
        police_step_reason=reason,
        repeat_due_at=now + repeat_interval(esc.school),
        rounds=0,
        circles_told=1,
    ):
        return False
    esc.refresh_from_db()
    recipients, rows = _police_rows(esc, now=now)
    event(
        esc,
        kind=EventKind.POLICE_STEP,
        by=by,
        now=now,
        message=f"{reason} Police-contact instructions raised; told: {_names(recipients)}.",
    )
    queue_alert_messages(esc, rows, now=now)
    return True


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


def _new_overdue_alerts(visits, *, now, plans):
    """E1: raise the step-1 alerts for locked visits past their deadline; return how many.

    The escalation takes over each visit's watch (its deadline is cleared; the next state
    change sets a new one). `plans` keeps who is told per (school, step, office open) for the
    whole sweep, so a storm of alerts does not look up the same people each time.
    """
    Visit.objects.filter(pk__in=[v.pk for v in visits]).update(next_deadline=None, deadline_kind="")
    # One School object per school, so its calendar (office hours) is read once per batch.
    schools = {}
    for v in visits:
        v.school = schools.setdefault(v.school_id, v.school)
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
    lines, rows = [], {}
    for esc in alerts:
        line, rows[esc] = _step1_rows(esc, now=now, plans=plans)
        lines.append(line)
    VisitEvent.objects.bulk_create(lines)
    try:
        with transaction.atomic():
            outbox.queue([row for batch in rows.values() for row in batch])
    except Exception:
        # One alert's messages that cannot be written must not stop another's: each on its own.
        for esc, batch in rows.items():
            queue_alert_messages(esc, batch, now=now)
    return len(alerts)


def overdue_claim_batch(*, now, limit=50, failed=None, plans=None):
    """Claim up to `limit` visits past their deadline and raise their alerts.

    Returns (claimed, raised). Rows are locked with SKIP LOCKED, so workers running at once
    share the work. The batch is written in bulk; if that raises, each visit is tried again on
    its own, in its own savepoint, so one that raises holds up no other. A visit that raises
    stays watched and is added to `failed`, which later rounds of the same sweep pass over:
    stuck visits can never fill every batch and starve the rest.
    """
    failed = set() if failed is None else failed
    plans = {} if plans is None else plans
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
                return len(due), _new_overdue_alerts(due, now=now, plans=plans)
        except Exception:
            log.exception("Could not escalate a batch of %s overdue visits; one by one", len(due))
        raised = 0
        for visit in due:
            try:
                with transaction.atomic():
                    raised += _new_overdue_alerts([visit], now=now, plans=plans)
            except Exception:
                # Left watched: the next sweep tries again, and the log says why.
                log.exception("Could not escalate overdue visit %s", visit.pk)
                failed.add(visit.pk)
    return len(due), raised


def _locked_due(queryset, *, now, failed, limit, order):
    return list(
        queryset.exclude(pk__in=failed)
        .select_related("school", "visit__pupil", "visit__school", "raised_by")
        .prefetch_related("visit__assignments__user")
        .order_by(order)
        .select_for_update(skip_locked=True, of=("self",))[:limit]
    )


def police_step_batch(*, now, limit=50, failed=None):
    """E2: step 1 alerts not resolved within the school's limit go to the police step.

    Returns (claimed, raised); `failed` as for overdue_claim_batch.
    """
    failed = set() if failed is None else failed
    done = 0
    with transaction.atomic():
        due = _locked_due(
            Escalation.objects.filter(police_due_at__lte=now, resolved_at__isnull=True),
            now=now,
            failed=failed,
            limit=limit,
            order="police_due_at",
        )
        for esc in due:
            minutes = esc.school.escalation_step2_minutes
            try:
                with transaction.atomic():
                    done += claim_police_step(
                        esc,
                        by=None,
                        now=now,
                        reason=f"Nobody resolved the office alert within {minutes} minutes (E2).",
                    )
            except Exception:
                log.exception("Could not raise the police step for escalation %s", esc.pk)
                failed.add(esc.pk)
    return len(due), done


# --- Until someone answers ---------------------------------------------------------------------


def widen(esc, *, now, plans=None, why):
    """Tell the next circle of people now (a message to someone failed, or nobody answered);
    returns whether there was one."""
    plan = plan_for(esc, now, plans)
    circles = plan.circles_for(esc)
    if esc.circles_told >= len(circles):
        return False
    esc.circles_told += 1
    Escalation.objects.filter(pk=esc.pk).update(circles_told=esc.circles_told)
    recipients = [
        pair
        for pair in plan.recipients(esc, upto=esc.circles_told)
        if pair[0] in circles[esc.circles_told - 1]
    ]
    rows = alert_rows(
        esc, now=now, purpose=_step_purpose(esc, f"-c{esc.circles_told}"), recipients=recipients
    )
    event(
        esc,
        kind=EventKind.NOTIFICATION_SENT,
        by=None,
        now=now,
        message=f"{why} Now also told: {_names(recipients)}.",
    )
    queue_alert_messages(esc, rows, now=now)
    return True


def _repeat(esc, *, now, plans):
    """Nobody has answered: everyone told so far is told again, and the next circle too."""
    esc.rounds += 1
    esc.repeat_due_at = now + repeat_interval(esc.school)
    Escalation.objects.filter(pk=esc.pk).update(rounds=esc.rounds, repeat_due_at=esc.repeat_due_at)
    plan = plan_for(esc, now, plans)
    recipients = plan.recipients(esc, upto=esc.circles_told)
    rows = alert_rows(
        esc, now=now, purpose=_step_purpose(esc, f"-r{esc.rounds}"), recipients=recipients
    )
    minutes = int(repeat_interval(esc.school).total_seconds() // 60)
    event(
        esc,
        kind=EventKind.NOTIFICATION_SENT,
        by=None,
        now=now,
        message=(
            f"Nobody has answered: messages sent again (time {esc.rounds + 1}, every {minutes} "
            f"min until someone does) to {_names(recipients)}."
        ),
    )
    queue_alert_messages(esc, rows, now=now)
    widen(esc, now=now, plans=plans, why="Nobody has answered.")


def repeat_batch(*, now, limit=50, failed=None, plans=None):
    """E1-E3: alerts nobody has answered within the school's repeat interval go again, wider.
    Returns (claimed, repeated)."""
    failed = set() if failed is None else failed
    plans = {} if plans is None else plans
    repeated = 0
    with transaction.atomic():
        due = _locked_due(
            Escalation.objects.filter(repeat_due_at__lte=now, resolved_at__isnull=True),
            now=now,
            failed=failed,
            limit=limit,
            order="repeat_due_at",
        )
        for esc in due:
            try:
                with transaction.atomic():
                    if esc.is_answered:
                        Escalation.objects.filter(pk=esc.pk).update(repeat_due_at=None)
                        continue
                    _repeat(esc, now=now, plans=plans)
                    repeated += 1
            except Exception:
                log.exception("Could not repeat escalation %s", esc.pk)
                failed.add(esc.pk)
    return len(due), repeated


def messages_retry_batch(*, now, limit=50, failed=None):
    """Open alerts whose messages could not be queued: queue them now. Returns (tried, queued)."""
    failed = set() if failed is None else failed
    queued = 0
    with transaction.atomic():
        due = _locked_due(
            Escalation.objects.filter(resolved_at__isnull=True).exclude(messages_error=""),
            now=now,
            failed=failed,
            limit=limit,
            order="raised_at",
        )
        for esc in due:
            if queue_alert_messages(esc, current_rows(esc, now=now), now=now):
                queued += 1
            else:
                failed.add(esc.pk)
    return len(due), queued


def message_failed_for(esc, notification, *, now):
    """A message of the alert's current step did not reach its person (a text not
    delivered, a call not answered, a send given up): the next circle is told at once."""
    if not esc.is_open or esc.is_answered:
        return False
    if f":step{esc.step}" not in notification.key:
        return False
    who = notification.recipient_label
    return widen(
        esc,
        now=now,
        why=f"{notification.get_channel_display()} to {who} did not get through.",
    )


def sweep(*, now=None, limit=50, budget_seconds=None):
    """One run of the overdue watch: every due police step, then every due deadline, then the
    alerts nobody has answered, then alerts whose messages could not be queued.

    With `now` given (tests, replays) every batch judges at that instant; without it each batch
    reads the clock afresh, so an alert's raised_at and its police-step time are when it was
    really raised. A run stops after `budget_seconds` (default: two sweep periods) and the next
    beat tick carries on: a storm of alerts after an outage never holds the worker's processes
    so long that other work, or the next sweep, waits behind it. Batches commit `limit` alerts
    at a time, so the first of a storm shows within a sweep period. Police steps go first: in a
    storm they must not wait behind the new alerts.
    """
    budget = budget_seconds
    if budget is None:
        budget = 2 * settings.ESCALATION_SWEEP_SECONDS
    ends = time.monotonic() + budget
    totals = {"claimed": 0, "raised": 0, "police": 0, "repeated": 0, "requeued": 0}
    # Who is told is worked out once per school and step for the whole run.
    plans = {}
    batches = (
        (police_step_batch, "police"),
        (functools.partial(overdue_claim_batch, plans=plans), "raised"),
        (functools.partial(repeat_batch, plans=plans), "repeated"),
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


# --- Emergencies: "I need help" and the code word (E3) -----------------------------------------


def emergency_raise(*, visit, by, now, kind, reason):
    """E3: straight to the police step, joining the visit's open alert if it has one. The
    other member of staff sees it on their own screen; no message goes to anyone on the visit."""
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
    claim_police_step(esc, by=by, now=now, reason=reason)
    return esc


# --- The watcher's own health ------------------------------------------------------------------


def heartbeat_write(name, *, now=None):
    Heartbeat.objects.update_or_create(name=name, defaults={"at": now or timezone.now()})


# The workers (the watch's and the sender's) and beat beat from threads of their own; "sweep" is
# written by every finished sweep, so a worker that is alive but never gets to run a sweep is
# called down too.
WATCHERS = ("worker", "sender", "beat", "sweep")
WATCHER_NAMES = {
    "worker": "the overdue checks (worker)",
    "sender": "the message sender",
    "beat": "the scheduler (beat)",
    "sweep": "the overdue sweep",
}


def watchers_down(*, now):
    """The parts of the overdue watch that have been silent too long (empty: all running)."""
    stale = datetime.timedelta(seconds=settings.HEARTBEAT_STALE_SECONDS)
    seen = dict(Heartbeat.objects.filter(name__in=WATCHERS).values_list("name", "at"))
    return [name for name in WATCHERS if name not in seen or now - seen[name] > stale]
