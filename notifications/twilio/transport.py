"""Texts and phone calls through Twilio, with its official client (twilio).

A text goes through the Messages API, a call through the Calls API; both name our status
callback (views.status), and a call names the TwiML Twilio fetches when it is answered
(views.call), which reads the message and asks for a key press (views.key_press).

At least once: Twilio keeps no idempotency key and cannot be asked for a message by our key, so
`supports_look_up` is False and a send cut off after Twilio took it is sent again (the outbox
resends at once, delivery.send_one); the phone may then get the text, or the call, twice.

TWILIO_BASE_URL, when set, points the official client at another host (a staging gateway, the
loopback fake in fakes.py): the client still makes the request and parses the answer.
"""

import requests
from django.conf import settings
from django.core import signing
from django.urls import reverse
from twilio.base.exceptions import TwilioException
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client

from ..transports import Transport, TransportError, text_message

TOKEN_SALT = "notifications.twilio"
# How long a call rings before Twilio gives up ("no-answer"), so that the escalation hears soon
# that nobody picked up. A voicemail that answers first counts as answered: there is no machine
# detection, so only a key press (views.key_press) says a person heard it.
RING_SECONDS = 25


def token_for(notification):
    """What names `notification` in our callback URLs: signed, so it cannot be guessed or
    walked through (views.notification_for reads it back)."""
    return signing.dumps(notification.pk, salt=TOKEN_SALT)


def site_url(name, notification):
    return settings.SITE_URL + reverse(name, args=[token_for(notification)])


def client():
    twilio = Client(
        settings.TWILIO_ACCOUNT_SID,
        settings.TWILIO_AUTH_TOKEN,
        http_client=TwilioHttpClient(timeout=settings.OUTBOX_SEND_TIMEOUT),
    )
    if settings.TWILIO_BASE_URL:
        # Every Messages and Calls request is built from the Api domain's base URL
        # (twilio.base.domain.Domain.absolute_url).
        twilio.api.base_url = settings.TWILIO_BASE_URL
        # An edge or region (read from TWILIO_EDGE/TWILIO_REGION in the environment) would
        # rewrite that host as if it were *.twilio.com.
        twilio.edge = twilio.region = None
    return twilio


def _error(exc):
    """The TransportError for what the client raised while sending."""
    status = getattr(exc, "status", None)
    if isinstance(exc, TwilioException) and isinstance(status, int):
        # Twilio answered: a 4xx but 429 refuses the message (a bad number, an unverified
        # one, our credentials); a 5xx or 429 did not take it.
        rejected = 400 <= status < 500 and status != 429
        code = getattr(exc, "code", None)
        detail = getattr(exc, "msg", None) or getattr(exc, "title", "") or "error"
        return TransportError(
            f"Twilio {status} (error {code}): {detail}", rejected=rejected, answered=True
        )
    # No answer (a timeout, a refused or dropped connection) or one we could not read: Twilio
    # may have taken it.
    return TransportError(f"Twilio no answer: {type(exc).__name__}")


class _TwilioTransport(Transport):
    supports_look_up = False

    def __init__(self):
        self.client = client()

    def send(self, notification):
        try:
            created = self._create(notification)
        except (TwilioException, requests.RequestException, ValueError) as exc:
            raise _error(exc) from exc
        return created.sid

    def _create(self, notification):
        raise NotImplementedError


class TwilioSMSTransport(_TwilioTransport):
    def _create(self, notification):
        return self.client.messages.create(
            to=notification.address,
            from_=settings.TWILIO_FROM,
            body=text_message(notification),
            status_callback=site_url("twilio-status", notification),
        )


class TwilioVoiceTransport(_TwilioTransport):
    def _create(self, notification):
        return self.client.calls.create(
            to=notification.address,
            from_=settings.TWILIO_FROM,
            url=site_url("twilio-call", notification),
            method="POST",
            # "completed" is the call's end, whatever its outcome (answered, busy, no answer).
            status_callback=site_url("twilio-status", notification),
            status_callback_event=["completed"],
            status_callback_method="POST",
            timeout=RING_SECONDS,
        )
