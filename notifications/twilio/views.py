"""Twilio's callbacks: the TwiML a call reads when it is answered, the key pressed on it, and the
delivery reports of texts and calls.

Every request must carry Twilio's signature (X-Twilio-Signature: an HMAC, keyed with the auth
token, of the URL Twilio called and the POST parameters); one without a valid signature is
refused (403) before anything is read. The URL checked is SITE_URL plus the path called, not
request.build_absolute_uri(): behind a proxy (TLS ended at the load balancer, another Host) the
URL Django sees is not the one Twilio signed. SITE_URL must therefore be the public address the
transport gave Twilio (transport.site_url builds them the same way).

The notification is named by a signed token (transport.token_for): a bad one gets 404. No CSRF
check: these are server-to-server requests, and the signature does that job.
"""

import functools
import logging
import re

from django.conf import settings
from django.core import signing
from django.http import Http404, HttpResponse, HttpResponseForbidden
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST
from twilio.request_validator import RequestValidator
from twilio.twiml.voice_response import VoiceResponse

from ..models import Notification
from ..services import record_answer, record_status
from .transport import TOKEN_SALT, token_for

log = logging.getLogger(__name__)

VOICE = {"voice": "Polly.Amy", "language": "en-GB"}
PROMPT = "Press 1 to say you are dealing with it."
THANKS = "Thank you. The school has been told you are dealing with it."
GOODBYE = "Goodbye."
# Seconds Twilio waits for a key after the prompt.
KEY_WAIT = 10
# Read aloud, a link is a minute of letters nobody can use on a call.
LINK = re.compile(r"(?:\b[a-z][a-z0-9+.-]*://|\bwww\.)\S+", re.IGNORECASE)

# Twilio's words -> (record_status's status, the detail kept and put on the timeline).
MESSAGE_STATUSES = {
    "delivered": ("delivered", "delivered"),
    "undelivered": ("failed", "not delivered"),
    "failed": ("failed", "could not be sent"),
}
# Without answering-machine detection a voicemail that picks up is "completed" too.
CALL_STATUSES = {
    "completed": ("delivered", "answered"),
    "busy": ("failed", "busy"),
    "no-answer": ("failed", "no answer"),
    "failed": ("failed", "call failed"),
    "canceled": ("failed", "call cancelled"),
}


def _signed(request):
    token = settings.TWILIO_AUTH_TOKEN
    signature = request.headers.get("X-Twilio-Signature", "")
    # An empty token would make every forger's empty-key signature valid.
    if not (token and signature):
        return False
    url = settings.SITE_URL + request.get_full_path()
    return RequestValidator(token).validate(url, request.POST, signature)


def notification_for(token):
    try:
        pk = signing.loads(token, salt=TOKEN_SALT)
    except signing.BadSignature as exc:
        raise Http404("No such message") from exc
    return get_object_or_404(Notification, pk=pk)


def twilio_callback(view):
    """A view Twilio calls: POST only, signed, the notification found from the URL's token."""

    @csrf_exempt
    @require_POST
    @functools.wraps(view)
    def callback(request, token):
        if not _signed(request):
            log.warning("Refused a Twilio callback without a valid signature")
            return HttpResponseForbidden()
        return view(request, notification_for(token))

    return callback


def spoken(notification):
    """The subject then the body as sentences, with links left out."""
    said = []
    for line in [notification.subject, *notification.body.splitlines()]:
        line = " ".join(LINK.sub(" ", line).split()).rstrip(" :;,-")
        if line:
            said.append(line if line[-1] in ".!?" else f"{line}.")
    return " ".join(said)


def _ask(response, notification, *, message=""):
    """A Gather that says `message` then the prompt; a key pressed during either counts."""
    action = reverse("twilio-key-press", args=[token_for(notification)])
    gather = response.gather(
        num_digits=1, action=settings.SITE_URL + action, method="POST", timeout=KEY_WAIT
    )
    if message:
        gather.say(message, **VOICE)
    gather.say(PROMPT, **VOICE)


def _twiml(response):
    return HttpResponse(str(response), content_type="text/xml")


@twilio_callback
def call(request, notification):
    """What the person hears on answering: the message and the prompt, twice, then goodbye."""
    response = VoiceResponse()
    message = spoken(notification)
    for _ in range(2):
        _ask(response, notification, message=message)
    response.say(GOODBYE, **VOICE)
    return _twiml(response)


@twilio_callback
def key_press(request, notification):
    response = VoiceResponse()
    if request.POST.get("Digits") == "1":
        # A second press (or Twilio retrying this request) records nothing more.
        record_answer(notification=notification, how="key press", now=timezone.now())
        response.say(THANKS, **VOICE)
        response.say(GOODBYE, **VOICE)
        response.hangup()
    else:
        _ask(response, notification)
        response.say(GOODBYE, **VOICE)
    return _twiml(response)


@twilio_callback
def status(request, notification):
    """A text's or a call's delivery report. Reports may come twice or out of order (record_status
    keeps the first final one); the ones on the way (queued, sent, ringing) are not recorded."""
    if "CallStatus" in request.POST:
        found = CALL_STATUSES.get(request.POST["CallStatus"])
    else:
        found = MESSAGE_STATUSES.get(request.POST.get("MessageStatus", ""))
    if found is not None:
        outcome, detail = found
        code = request.POST.get("ErrorCode", "")
        if outcome == "failed" and code.isdigit():
            detail = f"{detail} (Twilio error {code})"
        record_status(notification=notification, status=outcome, detail=detail, now=timezone.now())
    return HttpResponse(status=204)
