"""Browsers subscribing to push: what a subscription must look like, and keeping one per
browser, owned by whoever last subscribed it."""

import logging
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import transaction

from ..models import PushSubscription, fit
from . import keys

log = logging.getLogger(__name__)

# The push services that browsers use are all on https; plain http is only for the loopback
# fakes (fakes.FakePushService), which the tests and the demo run.
LOOPBACK_HOSTS = {"127.0.0.1", "localhost"}
MAX_ENDPOINT = PushSubscription._meta.get_field("endpoint").max_length
MAX_P256DH = PushSubscription._meta.get_field("p256dh").max_length
MAX_AUTH = PushSubscription._meta.get_field("auth").max_length
MAX_USER_AGENT = PushSubscription._meta.get_field("user_agent").max_length
# Every alert to a person goes to each of their browsers, one request each: a person (or a
# script signed in as one) piling up subscriptions would slow every push behind theirs.
MAX_DEVICES = 10


class BadSubscription(ValueError):
    """The browser's subscription cannot be used; the message says why, in plain words."""


def endpoint_from(value):
    """The endpoint URL `value`, checked; BadSubscription if it is not one to send to."""
    if not isinstance(value, str) or not value:
        raise BadSubscription("The subscription has no endpoint.")
    if len(value) > MAX_ENDPOINT:
        raise BadSubscription(f"The endpoint is longer than {MAX_ENDPOINT} characters.")
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 (raises ValueError on a port that is not a number)
        URLValidator(schemes=["http", "https"])(value)
    except (ValueError, ValidationError) as exc:
        raise BadSubscription("The endpoint is not a web address.") from exc
    if parts.username or parts.password:
        raise BadSubscription("The endpoint must not hold a user name or password.")
    host = (parts.hostname or "").lower()
    if parts.scheme == "http" and host in LOOPBACK_HOSTS and loopback_allowed():
        return value
    if parts.scheme != "https":
        raise BadSubscription("The endpoint must be an https:// address.")
    # The server posts to this address: only to the browsers' push services, never to an
    # address someone signed in chose (an internal service, say).
    if not any(host == h or host.endswith("." + h) for h in settings.PUSH_SERVICE_HOSTS):
        raise BadSubscription("The endpoint is not a known browser push service.")
    return value


def loopback_allowed():
    """The loopback fakes (tests, the demo) only: a development machine, or said so."""
    return settings.DEBUG or settings.PUSH_ALLOW_LOOPBACK


def subscription_from(data):
    """(endpoint, p256dh, auth) from the JSON of the browser's `PushSubscription.toJSON()`;
    BadSubscription if any part is missing or malformed."""
    if not isinstance(data, dict):
        raise BadSubscription("Send the browser's push subscription: an endpoint and its keys.")
    endpoint = endpoint_from(data.get("endpoint"))
    found = data.get("keys")
    if not isinstance(found, dict):
        raise BadSubscription("The subscription has no keys.")
    p256dh, auth = found.get("p256dh"), found.get("auth")
    if not isinstance(p256dh, str) or not p256dh or len(p256dh) > MAX_P256DH:
        raise BadSubscription("The subscription's p256dh key is missing or too long.")
    if not isinstance(auth, str) or not auth or len(auth) > MAX_AUTH:
        raise BadSubscription("The subscription's auth secret is missing or too long.")
    try:
        keys.receiver_key(p256dh)
    except ValueError as exc:
        raise BadSubscription(
            "The subscription's p256dh key is not a P-256 public key in base64url."
        ) from exc
    try:
        keys.auth_secret(auth)
    except ValueError as exc:
        raise BadSubscription(
            "The subscription's auth secret is not 16 bytes in base64url."
        ) from exc
    return endpoint, p256dh, auth


@transaction.atomic
def push_subscribe(*, user, endpoint, p256dh, auth, user_agent, now):
    """Keep the browser at `endpoint` as `user`'s; returns (subscription, created).

    The same browser subscribing again (new keys, or the page making sure on load) updates its
    row. An endpoint another person held moves to `user`: a browser has one push subscription,
    and the person signed in on it now is the one it should tell.
    """
    values = {"p256dh": p256dh, "auth": auth, "user_agent": fit(user_agent, MAX_USER_AGENT)}
    subscription, created = PushSubscription.objects.select_for_update().get_or_create(
        endpoint=endpoint, defaults={"user": user, "created_at": now, **values}
    )
    if not created:
        fields = list(values)
        for name, value in values.items():
            setattr(subscription, name, value)
        if subscription.user_id != user.pk:
            log.info(
                "Push subscription %s moved from user %s to user %s",
                subscription.pk,
                subscription.user_id,
                user.pk,
            )
            subscription.user = user
            subscription.created_at = now
            subscription.last_success_at = None
            fields += ["user", "created_at", "last_success_at"]
        subscription.save(update_fields=fields)
    _forget_oldest(user)
    return subscription, created


def _forget_oldest(user):
    keep = list(
        PushSubscription.objects.filter(user=user)
        .order_by("-created_at", "-pk")
        .values_list("pk", flat=True)[:MAX_DEVICES]
    )
    PushSubscription.objects.filter(user=user).exclude(pk__in=keep).delete()


def push_unsubscribe(*, user, endpoint):
    """Forget `user`'s browser at `endpoint`; returns whether there was one. Another person's
    browser is left alone, as if it did not exist."""
    deleted, _ = PushSubscription.objects.filter(user=user, endpoint=endpoint).delete()
    return bool(deleted)
