"""Web Push (RFC 8030, 8291, 8292) to a browser that subscribed, with pywebpush.

A push's outbox address is `push:<PushSubscription pk>` (an endpoint URL is too long for the
address column). The message is encrypted for the browser's keys and handed to its push service
(Google's, Mozilla's, Apple's, Microsoft's), signed with this site's VAPID key pair
(VAPID_PUBLIC_KEY, VAPID_PRIVATE_KEY, VAPID_SUBJECT: their forms are in keys.py).

At least once: a push service cannot be asked whether it already holds a message, so a send
cut off after it was taken is sent again. The copies do not pile up: each carries a `Topic`
made from the outbox key, so the push service keeps only the latest copy of a message it has
not yet delivered, and a `tag` made from what the message is about, so a copy (or a newer
message about the same alert) that reaches the device replaces the one already shown there.

A push is only worth anything within minutes (TTL_SECONDS): a phone that is off for longer
gets the alert by text and email, which go too.
"""

import hashlib
import json
import logging

import requests
from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.utils import timezone
from py_vapid import Vapid
from pywebpush import WebPushException, webpush

from ..models import PushSubscription, fit
from ..transports import Transport, TransportError
from . import keys

log = logging.getLogger(__name__)

ADDRESS_PREFIX = "push:"
TTL_SECONDS = 300
TITLE_CHARS = 200
BODY_CHARS = 1000
# Push services must take 4096 bytes of encrypted payload (RFC 8030 7.2), and may refuse more;
# the encryption's header (86 bytes), tag (16) and padding (1) leave this for the JSON. A
# character takes up to four bytes, so the body is cut to fit in bytes too.
MAX_PAYLOAD_BYTES = 3993
ELLIPSIS = "…"
# RFC 8030 5.4: at most 32 characters of the base64url alphabet.
TOPIC_CHARS = 32


def topic(notification):
    """The same for every copy of one outbox message, and for no other message."""
    digest = hashlib.sha256(notification.key.encode()).digest()
    return keys.b64url_encode(digest)[:TOPIC_CHARS]


def tag(notification):
    """The same for every message about one thing (an alert, a concern): the device shows the
    newest only."""
    if notification.about_type_id is None:
        return f"message:{topic(notification)}"
    about_type = ContentType.objects.get_for_id(notification.about_type_id)
    return f"{about_type.app_label}.{about_type.model}:{notification.about_id}"


def _link_path(word):
    """The path of `word` if it is a link to this site, else None."""
    site = settings.SITE_URL
    if word == site:
        return "/"
    if word.startswith(site + "/"):
        path = word[len(site) :]
        # "//host" would be another site to the browser.
        return None if path.startswith("//") else path
    return None


def payload(notification):
    """What the service worker (static/js/sw.js) shows: the subject, the body's first line, and
    the link the body ends with as the page a tap opens (the home page if it has none)."""
    body = notification.body.strip()
    words = body.rsplit(None, 1)
    url = _link_path(words[-1]) if words else None
    lines = body.splitlines()
    first = lines[0].strip() if lines else ""
    if url is not None and len(lines) == 1:
        # A one-line body's link would fill the lock screen; a tap opens it.
        first = words[0].strip() if len(words) > 1 else ""
    return {
        "title": fit(notification.subject, TITLE_CHARS),
        "body": fit(first, BODY_CHARS),
        "url": url or "/",
        "tag": tag(notification),
        "requireInteraction": True,
    }


def _json(content):
    return json.dumps(content, separators=(",", ":"), ensure_ascii=False).encode()


def encoded_payload(notification):
    """payload() as the bytes sent, its body cut further if they would not fit in a push."""
    content = payload(notification)
    data = _json(content)
    while len(data) > MAX_PAYLOAD_BYTES and content["body"]:
        # Cut in bytes, at a character's edge; a quote or backslash the JSON escapes takes
        # more than its byte, hence another turn now and then.
        body = content["body"].encode()
        keep = len(body) - (len(data) - MAX_PAYLOAD_BYTES) - len(ELLIPSIS.encode())
        cut = body[: max(keep, 0)].decode("utf-8", "ignore").rstrip()
        content["body"] = cut + ELLIPSIS if cut else ""
        data = _json(content)
    return data


def _vapid():
    """(Vapid key, None), or (None, what is wrong with the settings)."""
    try:
        vapid = Vapid.from_string(settings.VAPID_PRIVATE_KEY)
    except Exception:
        return None, "VAPID_PRIVATE_KEY is not a P-256 private key (run manage.py vapid_keys)."
    if keys.public_point(vapid.public_key) != settings.VAPID_PUBLIC_KEY.rstrip("="):
        # Browsers subscribed with the public key; a push service refuses pushes signed with
        # another, so this would fail every push, one refusal at a time.
        return None, "VAPID_PUBLIC_KEY is not the public key of VAPID_PRIVATE_KEY."
    return vapid, None


def _ref(response):
    """The push service's id for the message: the last part of its Location (RFC 8030 5)."""
    location = response.headers.get("Location", "")
    return location.rstrip("/").rsplit("/", 1)[-1][:100]


class WebPushTransport(Transport):
    """Sends at least once (supports_look_up is False: a push service cannot be asked what it
    took). A copy sent again carries the same Topic, so the push service keeps one undelivered
    copy, and the same tag, so the device shows one."""

    supports_look_up = False

    def __init__(self):
        self.vapid, self.problem = _vapid()
        if self.problem:
            log.error("Web Push is not set up: %s", self.problem)
        self.session = requests.Session()
        # A push service answers; it does not send the request elsewhere. Following a redirect
        # would let an endpoint point this server at any address.
        self.session.max_redirects = 0

    def send(self, notification):
        if self.problem:
            raise TransportError(self.problem, rejected=True)
        subscription = self._subscription(notification)
        try:
            response = webpush(
                subscription_info={
                    "endpoint": subscription.endpoint,
                    "keys": {"p256dh": subscription.p256dh, "auth": subscription.auth},
                },
                data=encoded_payload(notification),
                vapid_private_key=self.vapid,
                # A new dict each time: webpush() writes the audience and expiry into it.
                vapid_claims={"sub": settings.VAPID_SUBJECT},
                timeout=settings.OUTBOX_SEND_TIMEOUT,
                ttl=TTL_SECONDS,
                headers={"Urgency": "high", "Topic": topic(notification)},
                requests_session=self.session,
            )
        except WebPushException as exc:
            raise self._error(exc, subscription) from exc
        except requests.TooManyRedirects as exc:
            raise TransportError("Push service redirected the push", rejected=True) from exc
        except requests.RequestException as exc:
            # Only the kind of failure: requests' own words name the endpoint, which is the
            # person's device.
            raise TransportError(f"Push service: no answer ({type(exc).__name__})") from exc
        PushSubscription.objects.filter(pk=subscription.pk).update(last_success_at=timezone.now())
        return _ref(response)

    @staticmethod
    def _subscription(notification):
        pk = notification.address.removeprefix(ADDRESS_PREFIX)
        subscription = None
        if notification.address.startswith(ADDRESS_PREFIX) and pk.isdigit():
            subscription = PushSubscription.objects.filter(pk=int(pk)).first()
        if subscription is None:
            raise TransportError(
                "The browser is no longer subscribed to push notifications", final=True
            )
        try:
            keys.receiver_key(subscription.p256dh)
            keys.auth_secret(subscription.auth)
        except ValueError as exc:
            raise TransportError(
                "The browser's push subscription has unusable keys", rejected=True
            ) from exc
        return subscription

    @staticmethod
    def _error(exc, subscription):
        response = exc.response
        if response is None:
            # pywebpush refused it before sending (the subscription's keys): nothing was sent.
            return TransportError(f"Web Push: {exc.message}", rejected=True)
        status = response.status_code
        detail = f"Push service {status} {response.reason or ''}".strip()
        text = (response.text or "").strip()
        if text:
            detail += f": {text[:200]}"
        if status in (404, 410):
            # RFC 8030 7.3: the subscription is gone for good (the person unsubscribed, the
            # browser was reset or its data cleared). A new one comes only from the browser.
            PushSubscription.objects.filter(pk=subscription.pk).delete()
            log.info("Push subscription %s is gone (%s): deleted", subscription.pk, status)
            return TransportError(f"{detail} (the browser unsubscribed)", final=True)
        rejected = 400 <= status < 500 and status != 429
        return TransportError(detail, rejected=rejected, answered=True)
