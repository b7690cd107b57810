"""Sending the outbox: each notification at least once, each channel on its own.

A sender claims rows by moving `next_attempt_at` forward (a lease) in a short transaction, sends
outside it, then marks the row sent. A crash between the two leaves the lease to lapse and the
row is sent again: that is the only way a message can go twice, and `key` is passed to the
gateway as the idempotency key for it. A failing channel never holds up another: rows are
independent, and a failure backs off and retries up to MAX_ATTEMPTS, each failure on the
timeline.
"""

import datetime
import logging

from django.db import transaction
from django.utils import timezone

from visits.models import EventKind, VisitEvent

from .models import Delivery, Notification
from .notifiers import notifier_for

log = logging.getLogger(__name__)

LEASE = datetime.timedelta(seconds=60)
MAX_ATTEMPTS = 6


def _backoff(attempts):
    return datetime.timedelta(seconds=min(15 * 2 ** (attempts - 1), 600))


def _claim(*, now, limit):
    with transaction.atomic():
        rows = list(
            Notification.objects.filter(state=Delivery.PENDING, next_attempt_at__lte=now)
            .order_by("next_attempt_at", "pk")
            .select_for_update(skip_locked=True)[:limit]
        )
        for row in rows:
            row.attempts += 1
            row.next_attempt_at = now + LEASE
        Notification.objects.bulk_update(rows, ["attempts", "next_attempt_at"])
    return rows


def _timeline(row, *, kind, now, message):
    if row.visit_id is None and row.escalation_id is None:
        return
    VisitEvent.objects.create(
        visit_id=row.visit_id,
        escalation_id=row.escalation_id,
        kind=kind,
        at=now,
        message=message,
        data={"notification": row.pk, "channel": row.channel},
    )


def deliver_one(row, *, now):
    """Send one claimed row; returns whether it was sent."""
    label = f"{row.get_channel_display()} to {row.recipient_label} ({row.address})"
    try:
        notifier_for(row.channel).send(row)
    except Exception as exc:
        error = f"{type(exc).__name__}: {exc}"[:1000]
        final = row.attempts >= MAX_ATTEMPTS
        update = {"last_error": error}
        if final:
            update["state"] = Delivery.FAILED
        else:
            update["next_attempt_at"] = now + _backoff(row.attempts)
        with transaction.atomic():
            Notification.objects.filter(pk=row.pk, state=Delivery.PENDING).update(**update)
            then = "gave up" if final else "will retry"
            _timeline(
                row,
                kind=EventKind.NOTIFICATION_FAILED,
                now=now,
                message=f"{label} failed (attempt {row.attempts}, {then}): {error}",
            )
        log.warning("Notification %s failed: %s", row.pk, error)
        return False
    with transaction.atomic():
        sent = Notification.objects.filter(pk=row.pk, state=Delivery.PENDING).update(
            state=Delivery.SENT, sent_at=now, last_error=""
        )
        if sent:
            _timeline(row, kind=EventKind.NOTIFICATION_SENT, now=now, message=f"{label} sent.")
    return bool(sent)


def deliver_batch(*, now=None, limit=100):
    """Claim and send up to `limit` due notifications; returns how many were claimed."""
    now = now or timezone.now()
    rows = _claim(now=now, limit=limit)
    for row in rows:
        deliver_one(row, now=now)
    return len(rows)
