"""The overdue watch end to end: a real Celery worker (prefork) and beat, Redis and PostgreSQL.

The other tests call the sweep directly; these start `celery worker` and `celery beat` as
production does and check that a visit past its deadline is alerted exactly once and its
notifications sent, also when the worker is killed (SIGKILL) just before the deadline and
another starts after it. They need PostgreSQL and Redis (DATABASE_URL, REDIS_URL), and are
skipped without them, except in CI.

The test's data is committed (transactional test) so the subprocesses, connected to the same
test database, see it. They use Redis database 15, flushed before and after.
"""

import datetime
import os
import time

import pytest
from django.db import connection
from django.utils import timezone

from escalation.models import Escalation, Heartbeat, Kind, Step
from escalation.selectors import messages_for_visit
from notifications.models import Delivery
from visits import services
from visits.models import DeadlineKind, EventKind, Status, Visit, VisitEvent

from .celery_procs import CeleryStack, database_url, redis_url_with_db, wait_until, worker_env

SWEEP_SECONDS = 1
HEARTBEAT_SECONDS = 1
REDIS_DB = 15
# Generous bounds for a loaded CI machine; a pass takes far less.
READY_TIMEOUT = 30
ALERT_TIMEOUT = 30


def _skip_reason():
    """Why these tests cannot run here, or None. In CI on PostgreSQL they must run."""
    if not os.environ.get("DATABASE_URL", "").startswith("postgres"):
        return (
            "needs PostgreSQL and Redis for a real Celery worker and beat: "
            "set DATABASE_URL=postgres://... and REDIS_URL=redis://..."
        )
    if not os.environ.get("REDIS_URL") and os.environ.get("CI") != "true":
        return "needs Redis for a real Celery worker and beat: set REDIS_URL=redis://..."
    return None


pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(_skip_reason() is not None, reason=_skip_reason() or ""),
]


def _other_connections():
    """Sessions on the test database other than this one (the workers', until they exit)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        return cursor.fetchone()[0]


@pytest.fixture
def celery(transactional_db, tmp_path):
    """A CeleryStack on the test database and Redis db 15; every process stopped afterwards."""
    import redis

    if not os.environ.get("REDIS_URL"):
        pytest.fail("CI must run the Celery end-to-end tests: set REDIS_URL=redis://...")
    broker = redis_url_with_db(os.environ["REDIS_URL"], REDIS_DB)
    client = redis.Redis.from_url(broker)
    try:
        client.flushdb()
    except redis.RedisError as exc:
        pytest.fail(f"Redis at {broker} is not usable: {exc}")
    env = worker_env(
        database_url=database_url(connection.settings_dict),
        redis_url=broker,
        sweep_seconds=SWEEP_SECONDS,
        HEARTBEAT_SECONDS=HEARTBEAT_SECONDS,
    )
    stack = CeleryStack(env=env, workdir=tmp_path / "celery")
    try:
        yield stack
    finally:
        try:
            stack.stop_all()
        finally:
            client.flushdb()
            client.close()
            # A killed worker's sessions end when PostgreSQL sees the socket close; wait for
            # that, or the flush after this test (and dropping the test database) could block.
            wait_until(lambda: _other_connections() == 0, timeout=10, what="worker sessions to end")
            connection.close()


def _arrive_due_in(visit, *, by, seconds):
    """Staff arrive now (visit_arrive) on a visit whose return deadline is `seconds` away.

    The plan is moved to today with one UPDATE, so that the expected end plus the school's
    grace period falls `seconds` from now; the deadline itself is set by visit_arrive, which
    computes it as in production (Visit.compute_deadline).
    """
    now = timezone.now()
    grace = datetime.timedelta(minutes=visit.school.grace_minutes)
    expected_end = now + datetime.timedelta(seconds=seconds) - grace
    Visit.objects.filter(pk=visit.pk).update(
        planned_start=expected_end - datetime.timedelta(minutes=30), expected_end=expected_end
    )
    visit.refresh_from_db()
    services.visit_arrive(visit=visit, by=by, now=now)
    visit.refresh_from_db()
    assert visit.status == Status.ON_SITE
    assert visit.deadline_kind == DeadlineKind.RETURN
    assert (visit.next_deadline, visit.deadline_kind) == visit.compute_deadline()
    assert visit.next_deadline == now + datetime.timedelta(seconds=seconds)
    return visit


def _sleep_until(moment):
    time.sleep(max(0.0, (moment - timezone.now()).total_seconds()))


def _wait_for(predicate, *, stack, timeout, what):
    try:
        return wait_until(predicate, timeout=timeout, what=what)
    except TimeoutError as exc:
        pytest.fail(f"{exc}\n{stack.logs()}")


def _wait_for_escalation(visit, *, stack):
    return _wait_for(
        lambda: Escalation.objects.filter(visit=visit).first(),
        stack=stack,
        timeout=ALERT_TIMEOUT,
        what=f"an escalation for visit {visit.pk}",
    )


def _wait_for_fresh_heartbeats(*, since, stack):
    def fresh():
        seen = dict(Heartbeat.objects.values_list("name", "at"))
        return all(
            name in seen and seen[name] >= since for name in ("worker", "sender", "beat", "sweep")
        )

    _wait_for(fresh, stack=stack, timeout=READY_TIMEOUT, what="worker, beat and sweep heartbeats")


def _assert_heartbeats_fresh():
    now = timezone.now()
    seen = dict(Heartbeat.objects.values_list("name", "at"))
    for name in ("worker", "sender", "beat", "sweep"):
        assert name in seen, f"no {name} heartbeat"
        age = (now - seen[name]).total_seconds()
        assert age < 5 * HEARTBEAT_SECONDS + 2, f"{name} heartbeat is {age:.1f} s old"


def _assert_alerted_once(visit, *, stack):
    """Exactly one step-1 alert for the visit's deadline, every notification sent once."""
    escalations = list(Escalation.objects.filter(visit=visit))
    assert len(escalations) == 1, escalations
    esc = escalations[0]
    assert esc.kind == Kind.RETURN
    assert esc.step == Step.OFFICE
    assert esc.resolved_at is None
    assert esc.deadline == visit.next_deadline
    assert esc.raised_at >= esc.deadline
    raised = VisitEvent.objects.filter(visit=visit, kind=EventKind.ESCALATION_RAISED)
    assert raised.count() == 1

    def all_sent():
        rows = list(esc.notifications.all())
        return rows if rows and all(row.state == Delivery.SENT for row in rows) else None

    rows = _wait_for(
        all_sent, stack=stack, timeout=ALERT_TIMEOUT, what="the alert's notifications to be sent"
    )
    keys = [row.key for row in rows]
    assert len(keys) == len(set(keys))
    assert all(key.startswith(f"esc{esc.pk}:step1:") for key in keys), keys
    assert all(row.sent_at is not None and row.attempts == 1 for row in rows)
    # Nothing else was written for this visit: no second alert's messages.
    assert messages_for_visit(visit).count() == len(rows)
    # The escalation took over the watch.
    assert Visit.objects.get(pk=visit.pk).next_deadline is None
    return esc


def test_overdue_visit_is_alerted_once_by_worker_and_beat(celery, authorised_visit, visitor):
    since = timezone.now()
    celery.start_worker()
    celery.start_beat()
    celery.processes[0].wait_for_log(" ready.", timeout=READY_TIMEOUT)
    _wait_for_fresh_heartbeats(since=since, stack=celery)

    visit = _arrive_due_in(authorised_visit, by=visitor, seconds=4)
    assert not Escalation.objects.filter(visit=visit).exists()
    esc = _wait_for_escalation(visit, stack=celery)
    assert esc.raised_at >= visit.next_deadline
    _assert_alerted_once(visit, stack=celery)

    # A few more sweeps change nothing.
    time.sleep(3 * SWEEP_SECONDS)
    _assert_alerted_once(visit, stack=celery)
    _assert_heartbeats_fresh()
    assert all(proc.running() for proc in celery.processes), celery.logs()


def test_worker_killed_before_deadline_alerts_once_after_restart(celery, authorised_visit, visitor):
    since = timezone.now()
    first = celery.start_worker()
    beat = celery.start_beat()
    first.wait_for_log(" ready.", timeout=READY_TIMEOUT)
    _wait_for_fresh_heartbeats(since=since, stack=celery)

    visit = _arrive_due_in(authorised_visit, by=visitor, seconds=4)
    deadline = visit.next_deadline

    # Just before the deadline the worker dies with its pool, as in a crash or an OOM kill.
    _sleep_until(deadline - datetime.timedelta(seconds=1))
    assert not Escalation.objects.filter(visit=visit).exists()
    first.kill()
    assert not first.running()
    killed_at = timezone.now()
    assert killed_at < deadline, "the worker was not killed before the deadline"
    last_worker_beat = Heartbeat.objects.get(name="worker").at

    # The deadline passes with beat still queueing sweeps and no worker to run them.
    _sleep_until(deadline + datetime.timedelta(seconds=2 * SWEEP_SECONDS))
    assert beat.running()
    assert not Escalation.objects.filter(visit=visit).exists()
    # Nothing of the killed worker is left: its heartbeat thread died with it.
    assert Heartbeat.objects.get(name="worker").at == last_worker_beat

    restarted_at = timezone.now()
    second = celery.start_worker()
    second.wait_for_log(" ready.", timeout=READY_TIMEOUT)
    esc = _wait_for_escalation(visit, stack=celery)
    assert esc.raised_at >= restarted_at
    _assert_alerted_once(visit, stack=celery)
    assert Heartbeat.objects.get(name="worker").at >= restarted_at

    # A few more sweep periods, with the backlog of sweeps queued while no worker ran: still
    # one alert, and no notification written or sent twice.
    time.sleep(3 * SWEEP_SECONDS)
    _assert_alerted_once(visit, stack=celery)
    _assert_heartbeats_fresh()
    assert second.running() and beat.running(), celery.logs()


def test_sender_killed_after_the_gateway_took_a_text_sends_it_once(
    celery, authorised_visit, visitor, settings
):
    """The sender worker dies (SIGKILL) between Notify accepting the text and the outbox's
    "sent" mark. The next sender asks Notify by the outbox key, finds it, and marks it sent:
    one text reaches the phone, not two."""
    import signal

    from notifications.models import Channel
    from notifications.notify.fakes import API_KEY, FakeNotify

    with FakeNotify() as notify:
        killed = []

        def kill_the_sender(message):
            if not killed:
                killed.append(message)
                sender.signal_group(signal.SIGKILL)

        notify.behaviour.on_accept = kill_the_sender
        celery.env.update(
            SMS_PROVIDER="notify",
            NOTIFY_API_KEY=API_KEY,
            NOTIFY_BASE_URL=notify.url,
            NOTIFY_SMS_TEMPLATE_ID="9a4c2e1b-5f3d-4b8a-9c7e-1d2f3a4b5c6d",
            OUTBOX_SEND_TIMEOUT="1",
        )
        since = timezone.now()
        watch = celery.start_worker(queues="celery", name="watch")
        sender = celery.start_worker(queues="outbox", name="sender", concurrency=1)
        celery.start_beat()
        watch.wait_for_log(" ready.", timeout=READY_TIMEOUT)
        sender.wait_for_log(" ready.", timeout=READY_TIMEOUT)
        _wait_for_fresh_heartbeats(since=since, stack=celery)

        visit = _arrive_due_in(authorised_visit, by=visitor, seconds=3)
        esc = _wait_for_escalation(visit, stack=celery)
        _wait_for(lambda: killed, stack=celery, timeout=ALERT_TIMEOUT, what="the text to Notify")
        sender.popen.wait(timeout=10)
        sms = esc.notifications.get(channel=Channel.SMS)
        assert sms.state == Delivery.PENDING  # the sender died before marking it

        second = celery.start_worker(queues="outbox", name="sender", concurrency=1)
        second.wait_for_log(" ready.", timeout=READY_TIMEOUT)
        _wait_for(
            lambda: esc.notifications.get(channel=Channel.SMS).state == Delivery.SENT,
            stack=celery,
            timeout=ALERT_TIMEOUT,
            what="the text to be marked sent",
        )

        sms.refresh_from_db()
        assert len(notify.find(reference=sms.key)) == 1
        assert sms.provider_ref == killed[0]["id"]
        line = VisitEvent.objects.get(
            escalation=esc, kind=EventKind.NOTIFICATION_SENT, data__notification=sms.pk
        )
        assert "found at the gateway after an interrupted send" in line.message


def test_an_out_of_hours_alert_reaches_a_person_by_text_call_repeat_and_key_press(
    celery, live_server, authorised_visit, visitor, head, dsl, office, school, settings
):
    """The whole chain with a real worker, sender and beat, the fake Twilio calling back into
    the app: a visit overdue on a day the school is closed (an INSET day stands for the bank
    holiday evening: the worker's clock cannot be moved); the on-call is texted and called and
    nobody answers; the alert widens at once to the headteacher and repeats on time; the police
    step calls the head, who presses 1; delivery reports land on the timeline; nothing is sent
    twice."""
    from django.db.models import Count

    from notifications.models import Channel, Notification
    from notifications.twilio.fakes import ACCOUNT_SID, AUTH_TOKEN, FROM, FakeTwilio
    from schools.models import ClosureDay, ClosureReason, OnCallShift, StaffProfile

    StaffProfile.objects.filter(user=head).update(mobile="07700 900501")
    StaffProfile.objects.filter(user=dsl).update(mobile="07700 900502")
    today = timezone.localdate()
    ClosureDay.objects.create(school=school, date=today, reason=ClosureReason.INSET)
    now = timezone.now()
    OnCallShift.objects.create(
        school=school,
        user=dsl,
        starts_at=now - datetime.timedelta(hours=1),
        ends_at=now + datetime.timedelta(hours=2),
    )
    assert not school.office_is_open(now)

    with FakeTwilio(auto="ring", ring_seconds=1.0) as twilio:
        celery.env.update(
            SMS_PROVIDER="twilio",
            VOICE_PROVIDER="twilio",
            TWILIO_ACCOUNT_SID=ACCOUNT_SID,
            TWILIO_AUTH_TOKEN=AUTH_TOKEN,
            TWILIO_FROM=FROM,
            TWILIO_BASE_URL=twilio.url,
            SITE_URL=live_server.url,
        )
        settings.TWILIO_AUTH_TOKEN, settings.SITE_URL = AUTH_TOKEN, live_server.url
        since = timezone.now()
        watch = celery.start_worker(queues="celery", name="watch")
        sender = celery.start_worker(queues="outbox", name="sender")
        celery.start_beat()
        watch.wait_for_log(" ready.", timeout=READY_TIMEOUT)
        sender.wait_for_log(" ready.", timeout=READY_TIMEOUT)
        _wait_for_fresh_heartbeats(since=since, stack=celery)

        visit = _arrive_due_in(authorised_visit, by=visitor, seconds=3)
        esc = _wait_for_escalation(visit, stack=celery)
        assert esc.out_of_hours

        # The on-call is texted and called; the call rings out: the alert widens at once.
        def told(person, channel):
            return Notification.objects.filter(
                about_id=esc.pk, recipient=person, channel=channel
            ).exists()

        _wait_for(
            lambda: told(head, Channel.VOICE),
            stack=celery,
            timeout=ALERT_TIMEOUT,
            what="the head to be called after the on-call's call rang out",
        )
        assert told(dsl, Channel.SMS) and told(dsl, Channel.VOICE)
        moved = VisitEvent.objects.filter(escalation=esc, message__contains="did not get through")
        assert moved.exists()

        # Five minutes on (brought forward here), nobody has answered: it goes again.
        Escalation.objects.filter(pk=esc.pk).update(repeat_due_at=timezone.now())
        _wait_for(
            lambda: Notification.objects.filter(about_id=esc.pk, key__contains="-r1:").exists(),
            stack=celery,
            timeout=ALERT_TIMEOUT,
            what="the repeat",
        )

        # The police step (brought forward): the head is called again and presses 1.
        twilio.auto = "answer"
        Escalation.objects.filter(pk=esc.pk).update(police_due_at=timezone.now())
        _wait_for(
            lambda: Escalation.objects.get(pk=esc.pk).police_acknowledged_at,
            stack=celery,
            timeout=ALERT_TIMEOUT,
            what="someone to press 1 on the police step's call",
        )
        esc.refresh_from_db()
        assert esc.step == Step.POLICE
        assert esc.police_acknowledged_how == "key press"
        assert esc.police_acknowledged_by in (head, dsl)

    lines = VisitEvent.objects.filter(escalation=esc)
    assert lines.filter(kind=EventKind.NOTIFICATION_DELIVERED).exists()
    assert lines.filter(message__contains="pressing 1 on the phone call").exists()
    # Nothing was sent twice: one row per key, and the fake got each row's message once.
    assert not Notification.objects.values("key").annotate(n=Count("pk")).filter(n__gt=1).exists()
    sent = Notification.objects.filter(about_id=esc.pk).exclude(provider_ref="")
    refs = [m["sid"] for m in twilio.messages]
    assert len(refs) == len(set(refs)) == sent.count()
