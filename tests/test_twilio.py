"""Texts and calls through Twilio: the official client against a fake Twilio on loopback, and
the fake's signed callbacks into a live server (the phone's part: delivered, answered, 1 pressed).

Nothing here mocks the twilio library or reaches the internet.
"""

import json
import time
import urllib.request
from xml.etree import ElementTree

import pytest
from django.core import signing
from django.http import Http404
from django.urls import resolve, reverse
from django.utils import timezone
from twilio.request_validator import RequestValidator

from notifications import delivery
from notifications.models import Channel, Delivery, Notification
from notifications.signals import message_answered, message_status
from notifications.transports import TransportError, text_message
from notifications.twilio import views
from notifications.twilio.fakes import ACCOUNT_SID, AUTH_TOKEN, FROM, FakeTwilio
from notifications.twilio.transport import (
    TOKEN_SALT,
    TwilioSMSTransport,
    TwilioVoiceTransport,
    token_for,
)

from .celery_procs import wait_until

MOBILE = "07700 900123"
SUBJECT = "Home visit overdue: phone the staff now (E1)"
BODY = (
    "Vic Visitor and Pat Partner, due back 14:30.\n"
    "Phone them now, then record what happened: http://127.0.0.1:8000/board/7/\n"
    "Or see www.example.org/help"
)


def _fresh(obj):
    return type(obj).objects.get(pk=obj.pk)


def _point_at(settings, fake):
    settings.TWILIO_BASE_URL = fake.url
    settings.NOTIFICATION_TRANSPORTS = {
        **settings.NOTIFICATION_TRANSPORTS,
        "sms": "notifications.twilio.transport.TwilioSMSTransport",
        "voice": "notifications.twilio.transport.TwilioVoiceTransport",
    }


@pytest.fixture(autouse=True)
def _twilio_account(settings):
    settings.TWILIO_ACCOUNT_SID = ACCOUNT_SID
    settings.TWILIO_AUTH_TOKEN = AUTH_TOKEN
    settings.TWILIO_FROM = FROM


@pytest.fixture
def fake_twilio(settings):
    """A fake Twilio the official client is pointed at; no server for its callbacks."""
    with FakeTwilio() as fake:
        _point_at(settings, fake)
        yield fake


@pytest.fixture
def twilio(fake_twilio, settings, live_server):
    """The fake Twilio, with the app live at SITE_URL for its callbacks."""
    settings.SITE_URL = live_server.url
    return fake_twilio


@pytest.fixture
def heard_signals():
    """What the outbox told the stages above (status reports, answers), in order."""
    seen = []

    def on_status(sender, notification, status, detail, **kwargs):
        seen.append(("status", notification.pk, status, detail))

    def on_answer(sender, notification, how, **kwargs):
        seen.append(("answer", notification.pk, how))

    message_status.connect(on_status, weak=False)
    message_answered.connect(on_answer, weak=False)
    yield seen
    message_status.disconnect(on_status)
    message_answered.disconnect(on_answer)


def _row(school, channel, *, key="alert1:office", address=MOBILE):
    row = Notification.build(
        key=f"{key}:{channel}:{address}",
        school=school,
        about=None,
        recipient=None,
        label="Olive Office",
        channel=channel,
        address=address,
        subject=SUBJECT,
        body=BODY,
        now=timezone.now(),
    )
    row.save()
    return row


def _send(row):
    """Send through the outbox as the workers do; the row as it is afterwards."""
    delivery.deliver_due(budget_seconds=5)
    return _fresh(row)


def _signed_post(client, settings, path, params, *, token=AUTH_TOKEN):
    signature = RequestValidator(token).compute_signature(settings.SITE_URL + path, params)
    return client.post(path, params, HTTP_X_TWILIO_SIGNATURE=signature)


def _names(url, name, settings):
    """The notification `url` (one of ours, named `name`) is about."""
    assert url.startswith(settings.SITE_URL)
    match = resolve(url.removeprefix(settings.SITE_URL))
    assert match.url_name == name
    return views.notification_for(match.kwargs["token"])


def _says(twiml):
    return [say.text for say in ElementTree.fromstring(twiml).iter("Say")]


# --- Sending -------------------------------------------------------------------------------------


def test_a_text_goes_to_twilio_through_the_official_client(school, fake_twilio, settings):
    row = _send(_row(school, Channel.SMS))

    [text] = fake_twilio.texts()
    assert (row.state, row.provider_ref) == (Delivery.SENT, text["sid"])
    assert text["sid"].startswith("SM") and len(text["sid"]) == 34
    assert (text["to"], text["from"], text["body"]) == (MOBILE, FROM, text_message(row))
    assert _names(text["status_callback"], "twilio-status", settings) == row
    assert fake_twilio.requests == [("POST", f"/2010-04-01/Accounts/{ACCOUNT_SID}/Messages.json")]


def test_a_call_goes_to_twilio_with_our_twiml_and_status_urls(school, fake_twilio, settings):
    row = _send(_row(school, Channel.VOICE))

    [call] = fake_twilio.calls()
    assert (row.state, row.provider_ref) == (Delivery.SENT, call["sid"])
    assert call["sid"].startswith("CA") and len(call["sid"]) == 34
    assert (call["to"], call["from"], call["method"]) == (MOBILE, FROM, "POST")
    assert _names(call["url"], "twilio-call", settings) == row
    assert _names(call["status_callback"], "twilio-status", settings) == row
    assert call["status_callback_event"] == ["completed"]
    assert call["ring_timeout"] == 25


def test_the_token_in_our_urls_names_the_message_and_cannot_be_made_for_another(school):
    first, second = _row(school, Channel.SMS, key="a"), _row(school, Channel.SMS, key="b")
    assert views.notification_for(token_for(first)) == first
    # The second's id with the first's signature: a walk through the ids finds nothing.
    payload, stamp_and_signature = token_for(second).split(":", 1)[0], token_for(first)
    forged = payload + stamp_and_signature[stamp_and_signature.index(":") :]
    with pytest.raises(Http404):
        views.notification_for(forged)


def test_twilio_refusing_a_text_is_rejected(school, fake_twilio):
    row = _row(school, Channel.SMS, address="not a number")

    with pytest.raises(TransportError) as refused:
        TwilioSMSTransport().send(row)

    assert (refused.value.rejected, refused.value.answered) == (True, True)
    assert "Twilio 400 (error 21211)" in str(refused.value)
    assert fake_twilio.messages == []


def test_a_refusal_counts_in_the_outbox(school, fake_twilio):
    row = _send(_row(school, Channel.VOICE, address="not a number"))

    assert (row.state, row.refusals, row.sending_since) == (Delivery.PENDING, 1, None)
    assert "Twilio 400" in row.last_error


def test_wrong_credentials_are_rejected(school, fake_twilio, settings):
    settings.TWILIO_AUTH_TOKEN = "0" * 32

    with pytest.raises(TransportError) as refused:
        TwilioSMSTransport().send(_row(school, Channel.SMS))

    assert refused.value.rejected
    assert "Twilio 401 (error 20003)" in str(refused.value)
    assert fake_twilio.messages == []


@pytest.mark.parametrize("status", [500, 503, 429])
def test_a_twilio_error_answer_is_answered_not_rejected(school, fake_twilio, status):
    fake_twilio.behaviour.fail_next = [status]

    with pytest.raises(TransportError) as failed:
        TwilioVoiceTransport().send(_row(school, Channel.VOICE))

    assert (failed.value.rejected, failed.value.answered) == (False, True)
    assert f"Twilio {status}" in str(failed.value)


def test_a_hung_twilio_times_out_within_the_send_timeout_outcome_unknown(
    school, fake_twilio, settings
):
    fake_twilio.behaviour.hang.set()
    started = time.monotonic()
    try:
        with pytest.raises(TransportError) as cut_off:
            TwilioSMSTransport().send(_row(school, Channel.SMS))
    finally:
        fake_twilio.behaviour.hang.clear()

    assert time.monotonic() - started < settings.OUTBOX_SEND_TIMEOUT + 1
    assert (cut_off.value.rejected, cut_off.value.answered) == (False, False)
    assert "no answer" in str(cut_off.value)


def test_a_twilio_that_cannot_be_reached_is_outcome_unknown(school, settings):
    gone = FakeTwilio()  # never started: its port is closed
    gone.server.server_close()
    settings.TWILIO_ACCOUNT_SID, settings.TWILIO_AUTH_TOKEN = ACCOUNT_SID, AUTH_TOKEN
    settings.TWILIO_FROM, settings.TWILIO_BASE_URL = FROM, gone.url

    with pytest.raises(TransportError) as cut_off:
        TwilioSMSTransport().send(_row(school, Channel.SMS))

    assert not cut_off.value.answered


def test_a_send_cut_off_is_sent_again_at_once_twilio_cannot_be_asked(school, fake_twilio):
    assert not TwilioSMSTransport.supports_look_up
    assert not TwilioVoiceTransport.supports_look_up
    fake_twilio.behaviour.hang.set()
    try:
        row = _send(_row(school, Channel.SMS))
    finally:
        fake_twilio.behaviour.hang.clear()
    assert row.sending_since is not None  # it may have been taken

    Notification.objects.filter(pk=row.pk).update(next_attempt_at=timezone.now())
    row = _send(row)

    assert row.state == Delivery.SENT
    assert len(fake_twilio.texts()) == 1


# --- Delivery reports ----------------------------------------------------------------------------


def test_a_delivered_text_is_marked_delivered(school, twilio, heard_signals):
    row = _send(_row(school, Channel.SMS))

    assert twilio.deliver(row.provider_ref) == 204

    row = _fresh(row)
    assert (row.state, row.provider_status) == (Delivery.DELIVERED, "delivered")
    assert row.delivered_at is not None
    assert heard_signals == [("status", row.pk, "delivered", "delivered")]


def test_an_undelivered_text_is_marked_failed_in_plain_words(school, twilio):
    row = _send(_row(school, Channel.SMS))

    assert twilio.fail(row.provider_ref) == 204

    row = _fresh(row)
    assert (row.state, row.provider_status) == (
        Delivery.FAILED,
        "not delivered (Twilio error 30003)",
    )


def test_a_repeated_or_late_report_changes_nothing_more(school, twilio, heard_signals):
    row = _send(_row(school, Channel.SMS))
    twilio.deliver(row.provider_ref)
    first = _fresh(row)

    assert twilio.deliver(row.provider_ref) == 204
    assert twilio.fail(row.provider_ref, status="failed") == 204

    row = _fresh(row)
    assert (row.state, row.status_at, row.provider_status) == (
        Delivery.DELIVERED,
        first.status_at,
        "delivered",
    )
    assert len(heard_signals) == 1


def test_a_report_on_the_way_is_not_recorded(school, twilio):
    row = _send(_row(school, Channel.SMS))
    [text] = twilio.texts()
    params = {"MessageSid": text["sid"], "MessageStatus": "sent", "AccountSid": ACCOUNT_SID}

    assert twilio.post(text["status_callback"], params)[0] == 204

    assert _fresh(row).state == Delivery.SENT


def test_an_unanswered_or_busy_call_is_failed(school, twilio):
    unanswered = _send(_row(school, Channel.VOICE, key="a"))
    busy = _send(_row(school, Channel.VOICE, key="b"))

    assert twilio.no_answer(unanswered.provider_ref) == 204
    assert twilio.busy(busy.provider_ref) == 204

    assert (_fresh(unanswered).state, _fresh(unanswered).provider_status) == (
        Delivery.FAILED,
        "no answer",
    )
    assert (_fresh(busy).state, _fresh(busy).provider_status) == (Delivery.FAILED, "busy")


# --- The call ------------------------------------------------------------------------------------


def test_an_answered_call_reads_the_message_twice_and_is_delivered(school, twilio, heard_signals):
    row = _send(_row(school, Channel.VOICE))

    heard = twilio.answer(row.provider_ref)

    message = views.spoken(row)
    assert heard == [message, views.PROMPT, message, views.PROMPT, views.GOODBYE]
    assert twilio.heard_by(MOBILE) == heard
    row = _fresh(row)
    assert (row.state, row.provider_status, row.answered_at) == (
        Delivery.DELIVERED,
        "answered",
        None,
    )
    assert heard_signals == [("status", row.pk, "delivered", "answered")]


def test_pressing_1_tells_the_school_once(school, twilio, heard_signals):
    row = _send(_row(school, Channel.VOICE))

    heard = twilio.answer(row.provider_ref, press="1")

    assert heard == [views.spoken(row), views.PROMPT, views.THANKS, views.GOODBYE]
    row = _fresh(row)
    assert row.answered_how == "key press"
    assert row.state == Delivery.DELIVERED
    answered_at = row.answered_at
    assert answered_at is not None

    # A second press (or Twilio trying the request again) tells no one anything more.
    [key_press] = [c for c in twilio.callbacks if "/key/" in c["url"]]
    assert twilio.post(key_press["url"], key_press["params"])[0] == 200
    assert _fresh(row).answered_at == answered_at
    assert [s for s in heard_signals if s[0] == "answer"] == [("answer", row.pk, "key press")]


def test_another_key_asks_again(school, twilio):
    row = _send(_row(school, Channel.VOICE))

    heard = twilio.answer(row.provider_ref, press="21")

    assert heard == [
        views.spoken(row),
        views.PROMPT,
        views.PROMPT,
        views.THANKS,
        views.GOODBYE,
    ]
    assert _fresh(row).answered_at is not None


def test_the_call_says_the_subject_asks_for_1_and_never_says_a_link(school, client, settings):
    row = _row(school, Channel.VOICE)
    path = reverse("twilio-call", args=[token_for(row)])

    answer = _signed_post(client, settings, path, {"CallSid": "CA" + "0" * 32})

    assert answer.status_code == 200
    assert answer["Content-Type"].startswith("text/xml")
    twiml = ElementTree.fromstring(answer.content)
    gathers = twiml.findall("Gather")
    assert len(gathers) == 2
    for gather in gathers:
        assert gather.get("numDigits") == "1"
        assert gather.get("timeout") == "10"
        assert _names(gather.get("action"), "twilio-key-press", settings) == row
    said = " ".join(_says(answer.content))
    assert said.startswith(SUBJECT)
    assert "Vic Visitor and Pat Partner, due back 14:30." in said
    assert "Press 1 to say you are dealing with it." in said
    for link in ("http", "://", "www.", "example.org", "/board/"):
        assert link not in said
    assert all(say.get("language") == "en-GB" for say in twiml.iter("Say"))


def test_spoken_leaves_out_every_link():
    row = Notification(subject="Alert: see https://x.test/a?b=1", body="Go to www.x.test now\n")
    assert views.spoken(row) == "Alert: see. Go to now."


# --- Signatures and tokens -----------------------------------------------------------------------


@pytest.mark.parametrize("name", ["twilio-call", "twilio-key-press", "twilio-status"])
def test_a_forged_or_missing_signature_is_refused_and_changes_nothing(
    school, client, settings, name
):
    row = _row(school, Channel.VOICE)
    path = reverse(name, args=[token_for(row)])
    params = {"CallStatus": "completed", "Digits": "1"}

    forged = _signed_post(client, settings, path, params, token="f" * 32)
    missing = client.post(path, params)
    # Signed for another address (a replay of one message's callback to another's URL).
    other = reverse(name, args=[token_for(_row(school, Channel.VOICE, key="other"))])
    signature = RequestValidator(AUTH_TOKEN).compute_signature(settings.SITE_URL + other, params)
    replayed = client.post(path, params, HTTP_X_TWILIO_SIGNATURE=signature)

    assert [forged.status_code, missing.status_code, replayed.status_code] == [403, 403, 403]
    row = _fresh(row)
    assert (row.state, row.answered_at, row.provider_status) == (Delivery.PENDING, None, "")


def test_a_forged_callback_through_the_network_is_refused(school, twilio):
    row = _send(_row(school, Channel.SMS))
    [text] = twilio.texts()
    params = {"MessageSid": text["sid"], "MessageStatus": "delivered"}

    assert twilio.post(text["status_callback"], params, auth_token="f" * 32)[0] == 403
    assert twilio.post(text["status_callback"], params, signed=False)[0] == 403
    assert _fresh(row).state == Delivery.SENT


def test_without_an_auth_token_every_callback_is_refused(school, client, settings):
    settings.TWILIO_AUTH_TOKEN = ""
    row = _row(school, Channel.SMS)
    path = reverse("twilio-status", args=[token_for(row)])

    answer = _signed_post(client, settings, path, {"MessageStatus": "delivered"}, token="")

    assert answer.status_code == 403
    assert _fresh(row).state == Delivery.PENDING


@pytest.mark.parametrize("name", ["twilio-call", "twilio-key-press", "twilio-status"])
def test_a_bad_token_is_not_found(school, client, settings, name):
    row = _row(school, Channel.SMS)
    bad = [
        "nonsense",
        str(row.pk),
        token_for(row)[:-2] + "xx",
        signing.dumps(row.pk, salt="another purpose"),
        signing.dumps(row.pk + 1000, salt=TOKEN_SALT),  # a message that does not exist
    ]
    for token in bad:
        answer = _signed_post(client, settings, reverse(name, args=[token]), {"Digits": "1"})
        assert answer.status_code == 404, token


def test_callbacks_take_post_only(school, client, settings):
    path = reverse("twilio-status", args=[token_for(_row(school, Channel.SMS))])
    signature = RequestValidator(AUTH_TOKEN).compute_signature(settings.SITE_URL + path, {})

    assert client.get(path, HTTP_X_TWILIO_SIGNATURE=signature).status_code == 405


# --- The fake by itself (the demo and end-to-end tests) ------------------------------------------


def test_the_fake_delivers_texts_and_answers_calls_by_itself(school, twilio):
    twilio.auto, twilio.auto_delay = "answer", 0.5
    text, call = _row(school, Channel.SMS), _row(school, Channel.VOICE)
    _send(text)

    wait_until(
        lambda: (
            {
                c["params"].get("MessageStatus") or c["params"].get("CallStatus")
                for c in twilio.callbacks
            }
            >= {"delivered", "completed"}
        ),
        timeout=10,
        what="the fake's callbacks",
    )

    assert _fresh(text).state == Delivery.DELIVERED
    call = _fresh(call)
    assert (call.state, call.answered_how) == (Delivery.DELIVERED, "key press")
    assert views.THANKS in twilio.heard_by(MOBILE)


def test_the_fake_can_leave_a_call_ringing_out(school, twilio):
    twilio.auto, twilio.ring_seconds = "ring", 0.3
    call = _send(_row(school, Channel.VOICE))

    wait_until(lambda: twilio.callbacks, timeout=10, what="the no-answer callback")

    assert (_fresh(call).state, _fresh(call).provider_status) == (Delivery.FAILED, "no answer")
    assert twilio.heard_by(MOBILE) == []


def test_the_fake_shows_what_each_phone_got(school, twilio):
    twilio.auto, twilio.auto_delay = "deliver", 0.5
    _row(school, Channel.SMS)
    _send(_row(school, Channel.VOICE))
    wait_until(lambda: len(twilio.callbacks) == 3, timeout=10, what="the fake's callbacks")

    with urllib.request.urlopen(f"{twilio.url}/_fake/phones", timeout=5) as answer:
        phones = json.load(answer)

    [text] = phones[MOBILE]["texts"]
    [call] = phones[MOBILE]["calls"]
    assert (text["body"], text["status"]) == (f"{SUBJECT}\n{BODY}", "delivered")
    assert call["heard"][0].startswith(SUBJECT)
    assert call["status"] == "completed"
