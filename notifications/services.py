"""Writing to the outbox: who can be reached where, and the rows that reach them.

Rows are written in the caller's transaction, so an event and its messages commit together,
and under unique keys, so writing the same messages again writes nothing.
"""

from django.contrib.auth import get_user_model
from django.contrib.contenttypes.models import ContentType
from django.db import transaction

from schools.phones import e164
from schools.selectors import display_name

from .models import Channel, Delivery, Notification, fit_key
from .signals import message_answered, message_status

KEY_CHUNK = 500


def people_with(school, roles):
    """Active people holding one of `roles` at `school`, with their staff profile (mobile)."""
    return (
        get_user_model()
        .objects.filter(
            is_active=True, memberships__school=school, memberships__role__in=list(roles)
        )
        .select_related("staff_profile")
        .distinct()
        .order_by("pk")
    )


def addresses_of(user):
    """(channel, address) pairs a person can be reached on: email, and their mobile (P13)."""
    pairs = []
    if user.email:
        pairs.append((Channel.EMAIL, user.email))
    profile = getattr(user, "staff_profile", None)
    mobile = e164(profile.mobile) if profile is not None else ""
    if mobile:
        pairs.append((Channel.SMS, mobile))
    return pairs


def recipients_of(people):
    """(person, name, (channel, address)) for every way each person can be reached."""
    return [(user, display_name(user), pair) for user in people for pair in addresses_of(user)]


def rows_for(*, key, school, about, recipients, subject, body, now, is_drill=False):
    """Unsaved outbox rows, one per recipient's address, keyed `<key>:<channel>:<address>`."""
    return [
        Notification.build(
            key=f"{key}:{channel}:{address}",
            school=school,
            about=about,
            recipient=user,
            label=label,
            channel=channel,
            address=address,
            subject=subject,
            body=body,
            now=now,
            is_drill=is_drill,
        )
        for user, label, (channel, address) in recipients
    ]


def queue(rows):
    """Write outbox rows; a row already written under the same key is kept as it was."""
    Notification.objects.bulk_create(rows, ignore_conflicts=True)
    return rows


def message_people(*, school, key, people, subject, body, now, about=None):
    """Email and SMS to `people` (e.g. a safeguarding concern, A5, or a reminder, A7); `key`
    makes the rows unique, so a repeat sends nothing."""
    return queue(
        rows_for(
            key=key,
            school=school,
            about=about,
            recipients=recipients_of(people),
            subject=subject,
            body=body,
            now=now,
        )
    )


def messages_about(obj):
    """The outbox rows about `obj` (an alert, a visit, a concern)."""
    return Notification.objects.filter(
        about_type=ContentType.objects.get_for_model(obj), about_id=obj.pk
    )


def message_keys(key, people):
    """The keys message_people(key=key, people=people) writes."""
    return {
        fit_key(f"{key}:{channel}:{address}")
        for p in people
        for channel, address in addresses_of(p)
    }


def keys_written(keys):
    """Which of `keys` already have a row (asked in chunks, so a long list stays one query
    of a bounded size each)."""
    keys, found = sorted(keys), set()
    for start in range(0, len(keys), KEY_CHUNK):
        chunk = keys[start : start + KEY_CHUNK]
        found.update(Notification.objects.filter(key__in=chunk).values_list("key", flat=True))
    return found


STATUSES = {"delivered": Delivery.DELIVERED, "failed": Delivery.FAILED}


@transaction.atomic
def record_status(*, notification, status, detail, now):
    """A provider's delivery report: `status` "delivered" or "failed", `detail` its own words.

    Reports may come twice or out of order: the first final one wins, later ones change
    nothing. One may come before the sender marked the row sent (the provider was quick): it
    still counts. Returns whether it changed anything.
    """
    state = STATUSES[status]
    done = (
        Notification.objects.filter(pk=notification.pk)
        .exclude(state__in=Delivery.final())
        .update(
            state=state,
            provider_status=detail[:60],
            status_at=now,
            delivered_at=now if state == Delivery.DELIVERED else None,
            sending_since=None,
            claimed_by="",
        )
    )
    if done:
        notification.refresh_from_db()
        label = f"{notification.get_channel_display()} to {notification.recipient_label}"
        text = (
            f"{label} delivered ({detail})."
            if state == Delivery.DELIVERED
            else f"{label} not delivered: {detail}."
        )
        message_status.send(
            Notification,
            notification=notification,
            status=status,
            detail=detail,
            now=now,
            text=text,
        )
    return bool(done)


@transaction.atomic
def record_answer(*, notification, how, now):
    """Someone answered through this message (its link, a key press): once. Returns True the
    first time; the receivers (escalation) acknowledge what it was about."""
    done = Notification.objects.filter(pk=notification.pk, answered_at__isnull=True).update(
        answered_at=now, answered_how=how[:40]
    )
    if done:
        notification.refresh_from_db()
        message_answered.send(Notification, notification=notification, how=how, now=now)
    return bool(done)


def push_addresses(user):
    """(channel, address) of each browser `user` subscribed for push notifications: the
    address names the subscription (`push:<pk>`), its endpoint being too long for the column."""
    pks = user.push_subscriptions.order_by("pk").values_list("pk", flat=True)
    return [(Channel.PUSH, f"push:{pk}") for pk in pks]


def send_now(*, key, school, label, channel, address, subject, body, now):
    """Send one message straight through its transport, not through the sender, for when the
    sender may be what has stopped (the watchdog) or to prove a set-up (send_test_alert). It is
    kept in the outbox as sent or failed, so its provider's reports and a call's words find it.
    Returns (the row, the error or None)."""
    from .transports import transport_for

    row = Notification.objects.create(
        key=fit_key(key),
        school=school,
        recipient_label=label[:300],
        channel=channel,
        address=address,
        subject=subject[:200],
        body=body,
        created_at=now,
        next_attempt_at=now,
        # Not pending: the outbox's sender must not send it a second time.
        state=Delivery.SENT,
        attempts=1,
    )
    try:
        ref = transport_for(channel).send(row)
    except Exception as exc:
        error = f"{type(exc).__name__}: {exc}"[:1000]
        Notification.objects.filter(pk=row.pk).update(state=Delivery.FAILED, last_error=error)
        return row, error
    Notification.objects.filter(pk=row.pk).update(sent_at=now, provider_ref=ref or "")
    return row, None
