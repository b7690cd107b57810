"""The watchdog pages a person when the overdue watch itself stops (issue 10, item 8): straight
through the SMS and voice providers, once per outage and once when it is back."""

import datetime

import pytest
from django.core.management import call_command
from django.utils import timezone

from escalation import watchdog
from escalation.models import Heartbeat, TechnicalContact, WatchdogOutage
from escalation.services import WATCHERS

SECOND = datetime.timedelta(seconds=1)


@pytest.fixture
def contacts(school, other_school):
    return [
        TechnicalContact.objects.create(school=school, name="School IT", mobile="07700 900801"),
        TechnicalContact.objects.create(school=None, name="Trust IT", mobile="07700 900802"),
        TechnicalContact.objects.create(
            school=other_school, name="Gone", mobile="07700 900803", is_active=False
        ),
    ]


def _beat(now, *, silent=()):
    for name in WATCHERS:
        age = 120 if name in silent else 1
        Heartbeat.objects.update_or_create(
            name=name, defaults={"at": now - datetime.timedelta(seconds=age)}
        )


def test_all_beating_pages_nobody(db, contacts, phones):
    now = timezone.now()
    _beat(now)
    assert watchdog.check(now=now) == ""
    assert phones.messages == []


def test_a_silent_worker_pages_every_active_contact_by_text_and_call_once(db, contacts, phones):
    now = timezone.now()
    _beat(now, silent={"worker"})

    assert watchdog.check(now=now) == "down"

    texts = {m["to"] for m in phones.texts()}
    calls = {m["to"] for m in phones.calls()}
    assert texts == calls == {"+447700900801", "+447700900802"}
    assert "the overdue checks (worker)" in phones.texts()[0]["body"]
    outage = WatchdogOutage.objects.get()
    assert (outage.parts, outage.paged_at) == ("worker", now)
    # Still down a minute later, or after the watchdog restarted: nobody is paged again.
    assert watchdog.check(now=now + 60 * SECOND) == ""
    assert len(phones.messages) == 4


def test_the_watch_back_pages_once_more_and_closes_the_outage(db, contacts, phones):
    now = timezone.now()
    _beat(now, silent={"beat", "sweep"})
    watchdog.check(now=now)
    later = now + 300 * SECOND
    _beat(later)

    assert watchdog.check(now=later) == "up"

    outage = WatchdogOutage.objects.get()
    assert (outage.ended_at, outage.recovery_paged_at, outage.open_marker) == (later, later, None)
    assert "running again after 5 minutes" in phones.texts()[-1]["body"]
    assert len(phones.messages) == 8
    assert watchdog.check(now=later + SECOND) == ""


def test_one_contact_that_cannot_be_reached_does_not_stop_the_others(db, contacts, phones):
    phones.behaviour.fail_next = [500, 500]  # the first contact's text and call
    now = timezone.now()
    _beat(now, silent={"sender"})
    watchdog.check(now=now)
    assert {m["to"] for m in phones.messages} == {"+447700900802"}


def test_the_command_looks_once(db, contacts, phones, capsys):
    _beat(timezone.now(), silent={"worker"})
    call_command("watchdog", "--once")
    assert "Watchdog" in capsys.readouterr().out
    assert WatchdogOutage.objects.filter(open_marker="open").exists()


# Proving a set-up: send_test_alert ---------------------------------------------------------------


def test_send_test_alert_texts_and_calls_the_number(db, phones, capsys):
    call_command("send_test_alert", "--to", "07700 900123", "--call")
    out = capsys.readouterr().out
    assert "SMS through TwilioSMSTransport: accepted (the gateway's id: SM" in out
    assert "Phone call through TwilioVoiceTransport: accepted" in out
    assert [m["to"] for m in phones.messages] == ["+447700900123", "+447700900123"]


def test_send_test_alert_says_when_the_gateway_refuses(db, phones, capsys):
    from django.core.management import CommandError

    phones.behaviour.fail_next = [400]
    with pytest.raises(CommandError, match="did not go"):
        call_command("send_test_alert", "--to", "07700 900123")
    assert "failed" in capsys.readouterr().err


def test_send_test_alert_with_no_gateway_says_it_went_to_the_log(db, capsys):
    call_command("send_test_alert", "--to", "07700 900123")
    assert "written to the log: no gateway is set" in capsys.readouterr().out
