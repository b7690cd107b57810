"""The outbox and its senders: each message once, each channel on its own, nothing lost.

The transports are the real ones: SMS through GOV.UK Notify's official client against a fake
Notify on loopback (tests/conftest.py `gateways`), email through Django's email backend. The
fake can be slow, fail, hang, or take a message and never answer; every such path is here.
"""

import datetime
import logging
import threading

import pytest
from django.core import mail
from django.db import connection
from django.utils import timezone

from escalation.models import Escalation
from escalation.services import sweep
from notifications import delivery
from notifications.email.transport import message_id
from notifications.models import Channel, Delivery, Notification, fit, fit_key
from notifications.notify.transport import NotifySMSTransport
from notifications.services import message_people
from schools.models import Role
from visits.models import EventKind

from .celery_procs import wait_until
from .factories import member

SECOND = datetime.timedelta(seconds=1)


def _fresh(obj):
    return type(obj).objects.get(pk=obj.pk)


def _deliver(now, **kwargs):
    return delivery.deliver_due(budget_seconds=5, now=now, **kwargs)


def _sms(esc):
    """The office's text of step 1 (a widening alert may text others too)."""
    return esc.notifications.get(channel=Channel.SMS, key__contains=":step1:")


def test_each_pending_message_is_sent_once_through_its_gateway(overdue, office, gateways):
    now = overdue.raised_at + SECOND

    assert _deliver(now) == 2
    assert _deliver(now + datetime.timedelta(minutes=5)) == 0

    rows = list(overdue.notifications.all())
    assert sorted(gateways.sent()) == sorted((r.channel, r.address, r.key) for r in rows)
    assert len(rows) == 2
    for row in rows:
        assert (row.state, row.sent_at, row.attempts, row.sending_since) == (
            Delivery.SENT,
            now,
            1,
            None,
        )
    # Notify's own id for the text is kept (its delivery report will name it).
    [text] = gateways.notify.messages
    assert _sms(overdue).provider_ref == text["id"]
    assert text["body"].startswith("Home visit overdue")
    assert overdue.visit.events.filter(kind=EventKind.NOTIFICATION_SENT).count() == 2


def test_the_outbox_key_goes_to_the_gateway_as_its_reference(overdue, gateways):
    _deliver(overdue.raised_at)
    [text] = gateways.notify.messages
    assert text["reference"] == _sms(overdue).key
    [email] = mail.outbox
    assert email.extra_headers["Message-ID"] == message_id(
        overdue.notifications.get(channel="email")
    )


def test_a_failing_sms_gateway_leaves_the_email_sent_and_the_sms_retrying(overdue, gateways):
    gateways.notify.behaviour.failure_rate = 1.0
    now = overdue.raised_at + SECOND
    _deliver(now)

    email = overdue.notifications.get(channel=Channel.EMAIL)
    sms = _sms(overdue)
    assert email.state == Delivery.SENT
    assert [channel for channel, _, _ in gateways.sent()] == [Channel.EMAIL]
    assert (sms.state, sms.attempts) == (Delivery.PENDING, 1)
    assert sms.next_attempt_at > now
    assert "GOV.UK Notify 500" in sms.last_error
    assert sms.sending_since is None  # Notify answered that it failed: nothing in flight
    [failed] = overdue.visit.events.filter(kind=EventKind.NOTIFICATION_FAILED)
    assert "will retry" in failed.message
    assert failed.data == {"notification": sms.pk, "channel": Channel.SMS}
    # Not tried again before its back-off.
    assert _deliver(now) == 0
    assert len(gateways.notify.requests) == 1


def test_a_message_is_retried_soon_and_given_up_only_after_its_time(overdue, gateways, settings):
    settings.OUTBOX_GIVE_UP_SECONDS = 60
    gateways.notify.behaviour.failure_rate = 1.0
    now = overdue.raised_at
    waits = []
    while _sms(overdue).state == Delivery.PENDING:
        _deliver(now)
        sms = _sms(overdue)
        waits.append((sms.next_attempt_at - now).total_seconds())
        now = sms.next_attempt_at

    assert waits[:5] == [1, 2, 4, 8, 8]  # soon, then every 8 s: a gateway back is used at once
    assert sms.state == Delivery.FAILED
    failures = overdue.visit.events.filter(
        kind=EventKind.NOTIFICATION_FAILED, data__notification=sms.pk
    )
    gave_up_after = (failures.last().at - overdue.raised_at).total_seconds()
    assert 50 <= gave_up_after <= 60
    assert failures.count() == sms.attempts
    assert "gave up" in failures.last().message
    attempts = sms.attempts
    _deliver(now + datetime.timedelta(days=1))
    assert _sms(overdue).attempts == attempts  # given up: never tried again
    # Given up on the office's text, the alert moved on to the next people at once (E1).
    assert overdue.notifications.filter(key__contains=":step1-c2:").exists()


def test_a_message_the_gateway_refuses_is_given_up_after_three_refusals(overdue, gateways):
    gateways.notify.behaviour.fail_next = [400, 400, 400]
    now = overdue.raised_at
    for _ in range(3):
        _deliver(now)
        now = _sms(overdue).next_attempt_at
    sms = _sms(overdue)
    assert (sms.state, sms.refusals) == (Delivery.FAILED, delivery.MAX_REFUSALS)


def test_the_first_message_a_gateway_takes_again_brings_the_others_forward(
    school, overdue, gateways
):
    people = [
        member(school, Role.DSL, username=f"d{n}", mobile=f"07700 90010{n}") for n in range(3)
    ]
    message_people(
        school=school, key="test", people=people, subject="S", body="B", now=overdue.raised_at
    )
    gateways.notify.behaviour.failure_rate = 1.0
    now = overdue.raised_at
    for _ in range(4):  # the gateway is down: every text backs off, to 8 s
        _deliver(now)
        now = max(row.next_attempt_at for row in Notification.objects.filter(channel="sms"))
    waiting = Notification.objects.filter(channel=Channel.SMS)
    first = waiting.first()
    Notification.objects.filter(pk=first.pk).update(next_attempt_at=now - 5 * SECOND)

    gateways.notify.behaviour.failure_rate = 0.0  # back
    _deliver(now - 5 * SECOND)  # only the first is due; it goes, and the rest follow at once

    assert {row.state for row in waiting} == {Delivery.SENT}
    assert len(gateways.notify.messages) == waiting.count() == 4


def test_a_sender_that_starts_again_takes_back_what_it_held(overdue, gateways):
    """Killed mid-send and restarted: its message goes at once, not when the lease lapses,
    and the gateway is asked first, so a text it had already taken is not sent twice."""
    now = overdue.raised_at + SECOND
    row = delivery.claim_next(channel=Channel.SMS, now=now, sender="sender@school-server")
    NotifySMSTransport().send(row)  # the gateway took it; then the worker was killed

    assert delivery.release_claims_of("sender@other-server") == 0
    assert delivery.release_claims_of("sender@school-server", now=now + 2 * SECOND) == 1
    _deliver(now + 2 * SECOND)  # well inside the lease

    assert _sms(overdue).state == Delivery.SENT
    assert len(gateways.notify.messages) == 1


def test_a_message_under_another_senders_lease_is_not_sent_again(overdue, gateways):
    now = overdue.raised_at + SECOND
    claimed = delivery.claim_next(channel=Channel.SMS, now=now)  # another sender, mid-send

    assert _deliver(now + delivery.lease() - SECOND) == 1  # the email only
    assert gateways.notify.messages == []

    assert delivery.send_one(claimed, NotifySMSTransport(), now=now + SECOND)
    assert _deliver(now + delivery.lease() + SECOND) == 0
    assert len(gateways.notify.messages) == 1


def test_a_sender_cut_off_holds_up_only_the_message_it_had(school, overdue, office, gateways):
    """One message at a time: a sender that dies with one in hand delays no other message."""
    for n in range(3):
        member(school, Role.OFFICE, username=f"o{n}", mobile=f"07700 90010{n}")
    sweep(now=overdue.raised_at)  # nothing new; the office's messages were written at raise
    message_people(
        school=school,
        key="test:more",
        people=list(office.__class__.objects.filter(username__startswith="o")),
        subject="More",
        body="More",
        now=overdue.raised_at,
    )
    now = overdue.raised_at + SECOND
    dead = delivery.claim_next(channel=Channel.SMS, now=now)  # its sender dies now
    due_sms = Notification.objects.filter(channel=Channel.SMS).exclude(pk=dead.pk).count()

    _deliver(now + SECOND)

    assert len(gateways.notify.messages) == due_sms
    assert _fresh(dead).state == Delivery.PENDING  # it waits out its short lease alone


def test_a_send_cut_off_after_the_gateway_took_it_is_not_sent_again(overdue, gateways):
    """The sender handed the text to Notify and died before marking it sent: the next sender
    asks Notify by the outbox key, finds it, and marks it sent without a second text."""
    now = overdue.raised_at + SECOND
    row = delivery.claim_next(channel=Channel.SMS, now=now)
    NotifySMSTransport().send(row)  # accepted by the gateway; then the sender died

    later = now + delivery.lease() + SECOND
    _deliver(later)

    sms = _sms(overdue)
    assert len(gateways.notify.messages) == 1
    assert (sms.state, sms.attempts) == (Delivery.SENT, 2)
    assert sms.provider_ref == gateways.notify.messages[0]["id"]
    [sent] = overdue.visit.events.filter(kind=EventKind.NOTIFICATION_SENT, data__channel="sms")
    assert "found at the gateway after an interrupted send" in sent.message


def test_a_send_cut_off_before_the_gateway_took_it_is_sent_once_the_lease_lapses(overdue, gateways):
    now = overdue.raised_at + SECOND
    delivery.claim_next(channel=Channel.SMS, now=now)  # claimed, then the sender died

    _deliver(now + delivery.lease())

    assert len(gateways.notify.messages) == 1
    assert ("GET", "/v2/notifications") in gateways.notify.requests  # it asked first
    assert _sms(overdue).state == Delivery.SENT


def test_a_timed_out_send_that_the_gateway_took_is_found_not_repeated(overdue, gateways, settings):
    """A gateway slower than the timeout may still take the message: the retry asks first."""
    settings.OUTBOX_SEND_TIMEOUT = 1
    gateways.notify.behaviour.delay = 1.5
    now = overdue.raised_at + SECOND
    _deliver(now)
    sms = _sms(overdue)
    assert sms.state == Delivery.PENDING
    assert sms.sending_since is not None  # outcome unknown
    wait_until(lambda: gateways.notify.messages, timeout=5, what="the slow gateway to take it")

    gateways.notify.behaviour.delay = 0
    _deliver(sms.next_attempt_at)

    assert len(gateways.notify.messages) == 1
    assert _sms(overdue).state == Delivery.SENT


def test_a_slow_gateway_is_asked_not_sent_to_again_until_it_had_time_to_take_it(
    overdue, gateways, settings
):
    """The gateway answers after the timeout but still takes the text: the retries ask for
    it and do not post it again, so the phone gets one text."""
    settings.OUTBOX_SEND_TIMEOUT = 1
    gateways.notify.behaviour.delay = 2.5
    now = timezone.now()
    overdue.notifications.update(next_attempt_at=now)
    _deliver(now)  # times out; the gateway is still working on it
    gateways.notify.behaviour.delay = 0

    sms = _sms(overdue)
    _deliver(sms.next_attempt_at)  # asks: not there yet, and too soon to send again
    assert [r for r in gateways.notify.requests if r[0] == "POST"] == [
        ("POST", "/v2/notifications/sms")
    ]
    assert _sms(overdue).state == Delivery.PENDING

    wait_until(lambda: gateways.notify.messages, timeout=5, what="the slow gateway to take it")
    _deliver(_sms(overdue).next_attempt_at)
    assert _sms(overdue).state == Delivery.SENT
    assert len(gateways.notify.messages) == 1


def test_a_stuck_gateway_that_dropped_the_text_is_sent_to_again_after_its_time(
    overdue, gateways, settings
):
    settings.OUTBOX_SEND_TIMEOUT = 1
    gateways.notify.behaviour.hang.set()
    now = timezone.now()
    overdue.notifications.update(next_attempt_at=now)
    _deliver(now)
    gateways.notify.behaviour.hang.clear()  # the held request is dropped, never taken

    first_try = _sms(overdue).sending_since
    while _sms(overdue).state == Delivery.PENDING:
        _deliver(_sms(overdue).next_attempt_at)

    posts = [r for r in gateways.notify.requests if r[0] == "POST"]
    assert len(posts) == 2 and len(gateways.notify.messages) == 1
    assert _sms(overdue).sent_at >= first_try + delivery.resend_after()


def test_a_refused_message_is_known_not_sent_and_retried_without_asking(overdue, gateways):
    gateways.notify.behaviour.fail_next = [400]
    now = overdue.raised_at + SECOND
    _deliver(now)
    sms = _sms(overdue)
    assert sms.sending_since is None and "GOV.UK Notify 400" in sms.last_error

    _deliver(sms.next_attempt_at)

    assert ("GET", "/v2/notifications") not in gateways.notify.requests
    assert len(gateways.notify.messages) == 1


def test_without_a_gateway_messages_go_to_the_log(overdue, caplog):
    with caplog.at_level(logging.WARNING, logger="homevisits.notifications"):
        assert _deliver(overdue.raised_at) == 2
    assert "Home visit overdue" in caplog.text


def test_the_email_transport_sends_through_djangos_email_backend(overdue, gateways):
    _deliver(overdue.raised_at)
    row = overdue.notifications.get(channel=Channel.EMAIL)
    assert [(m.to, m.subject) for m in mail.outbox] == [([row.address], row.subject)]


# Lengths that cannot break a message ------------------------------------------------------


def test_a_very_long_name_does_not_stop_the_offices_alert(school, authorised_visit, visitor):
    """One office member with a 301-character name once silenced every office alert of the
    school: the names are cut to fit, and the alert's messages are queued."""
    long_name = member(
        school,
        Role.OFFICE,
        username="long",
        first_name="A" * 150,
        last_name="B" * 150,
        mobile="07700 900555",
    )
    from visits import services

    services.visit_arrive(
        visit=authorised_visit, by=visitor, now=authorised_visit.planned_start + SECOND
    )
    authorised_visit.refresh_from_db()
    sweep(now=authorised_visit.next_deadline)

    esc = Escalation.objects.get(visit=authorised_visit)
    rows = esc.notifications.filter(recipient=long_name)
    assert rows.count() == 2
    assert all(
        len(row.recipient_label) == 300 and row.recipient_label.endswith("…") for row in rows
    )
    assert esc.messages_error == ""


def test_long_keys_stay_unique_and_fit():
    base = "x" * 300
    one, two = fit_key(base + "1"), fit_key(base + "2")
    assert len(one) <= 255 and len(two) <= 255 and one != two
    assert fit_key("short") == "short"
    assert fit("abcdef", 4) == "abc…"


# Channels on their own, in threads ---------------------------------------------------------


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(
    connection.vendor == "sqlite",
    reason="sender threads on SQLite's shared in-memory test database lock each other's tables",
)
def test_a_hung_sms_gateway_holds_up_no_email(overdue, gateways, settings):
    """With senders in threads, a gateway that hangs holds its own channel's senders, bounded
    by the send timeout, and nothing else: the email goes while the SMS gateway is stuck."""
    settings.OUTBOX_THREADS_PER_CHANNEL = 2
    settings.OUTBOX_SEND_TIMEOUT = 3
    gateways.notify.behaviour.hang.set()
    overdue.notifications.update(next_attempt_at=timezone.now())
    run = threading.Thread(
        target=lambda: delivery.deliver_due(budget_seconds=1) and connection.close()
    )
    run.start()
    try:
        email = overdue.notifications.get(channel=Channel.EMAIL)
        wait_until(
            lambda: _fresh(email).state == Delivery.SENT,
            timeout=10,
            what="the email to go while the SMS gateway hangs",
        )
        assert gateways.notify.behaviour.hang.is_set()
        assert gateways.notify.messages == []
        run.join(timeout=20)  # the gateway still hangs: each send gives up at its timeout
        assert not run.is_alive()
    finally:
        gateways.notify.behaviour.hang.clear()
        run.join(timeout=20)
    sms = _sms(overdue)
    assert sms.state == Delivery.PENDING and sms.sending_since is not None
    assert "GOV.UK Notify" in sms.last_error


# An alert whose messages cannot be queued -------------------------------------------------


def test_an_alert_whose_messages_cannot_be_queued_still_stands_and_says_so(
    monkeypatch, client, on_site_visit, return_deadline, office, caplog
):
    from notifications import services as outbox

    real = outbox.queue

    def broken(rows):
        raise RuntimeError("value too long for type character varying(200)")

    monkeypatch.setattr(outbox, "queue", broken)
    sweep(now=return_deadline)

    esc = Escalation.objects.get(visit=on_site_visit)  # the alert is raised all the same
    assert not esc.notifications.exists()
    assert esc.messages_error.startswith("RuntimeError: value too long")
    [event] = esc.events.filter(kind=EventKind.NOTIFICATION_FAILED)
    assert event.message.startswith("Messages could not be sent: RuntimeError")
    client.force_login(office)
    board = client.get("/board/rows/").content.decode()
    assert "Messages could not be sent: RuntimeError: value too long" in board
    page = client.get(esc.get_absolute_url()).content.decode()
    assert "Messages could not be sent:" in page

    # A later sweep queues them once the fault has gone, and the warning goes.
    sweep(now=return_deadline + SECOND)  # still broken: nothing changes, no second line
    assert esc.events.filter(kind=EventKind.NOTIFICATION_FAILED).count() == 1
    monkeypatch.setattr(outbox, "queue", real)
    assert sweep(now=return_deadline + 2 * SECOND)["requeued"] == 1
    esc.refresh_from_db()
    assert esc.messages_error == ""
    assert esc.notifications.filter(key__contains=":step1:").count() == 2
    assert "Messages could not be sent" not in client.get("/board/rows/").content.decode()


# Email through a real SMTP conversation ---------------------------------------------------------


@pytest.fixture
def smtp(settings):
    from notifications.email.fakes import FakeSMTP

    with FakeSMTP() as server:
        settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
        settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", server.port
        settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
        settings.NOTIFICATION_TRANSPORTS = {
            **settings.NOTIFICATION_TRANSPORTS,
            "email": "notifications.email.transport.EmailTransport",
        }
        yield server


def test_email_goes_through_an_smtp_server_with_the_outbox_key_as_its_message_id(overdue, smtp):
    _deliver(overdue.raised_at)
    row = overdue.notifications.get(channel=Channel.EMAIL)
    [sent] = smtp.messages
    assert (sent["to"], sent["subject"], sent["message_id"]) == (
        [row.address],
        row.subject,
        message_id(row),
    )
    assert row.body.splitlines()[0] in sent["body"]
    assert _fresh(row).state == Delivery.SENT


def test_an_address_the_mail_server_refuses_is_refused_not_retried_for_ever(overdue, smtp):
    row = overdue.notifications.get(channel=Channel.EMAIL)
    smtp.refuse.add(row.address)
    _deliver(overdue.raised_at)
    row = _fresh(row)
    assert (row.state, row.refusals) == (Delivery.PENDING, 1)
    assert "refused the address" in row.last_error
    assert smtp.messages == []


def test_email_url_sets_the_smtp_server():
    import subprocess
    import sys

    code = (
        "import django, os; django.setup(); from django.conf import settings as s; "
        "print(s.EMAIL_HOST, s.EMAIL_PORT, s.EMAIL_USE_TLS, s.NOTIFICATION_TRANSPORTS['email'])"
    )
    env = {
        **__import__("os").environ,
        "DJANGO_SETTINGS_MODULE": "homevisits.settings",
        "SECRET_KEY": "t",
        "EMAIL_URL": "smtp://user:pw@smtp.example.org:587/?tls=True",
    }
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    ).stdout
    assert out.split() == [
        "smtp.example.org",
        "587",
        "True",
        "notifications.email.transport.EmailTransport",
    ]
