"""Sending the outbox: one message at a time per sender, each channel on its own.

A sender claims one due row in a short transaction, moving `next_attempt_at` forward by a
short lease (`lease()`, a little more than the longest a send may take) and writing its name in
`claimed_by`, sends it outside the transaction, then records the outcome. A sender cut off
mid-send therefore holds up only the message it had in hand: until its lease lapses, or less,
since a sender that starts again gives back at once what its dead self had claimed
(`release_claims_of`).

Sent at most once where the gateway can be asked: the outbox key goes to the gateway as its
reference, and a row claimed again while `sending_since` is still set (its sender died, or
timed out, after handing the message over) is first looked up at the gateway; found, it is
marked sent, not sent again. Not found, it is sent again only once the gateway has had
`resend_after()` to take the earlier one (asked again meanwhile): a gateway that is slow, not
stuck, still takes what it was handed. A gateway that cannot be asked gets it again at once:
at least once.

Senders run in threads, a few per channel with messages due, so a slow or hung gateway holds
up only its own channel. Every send is bounded by OUTBOX_SEND_TIMEOUT. A failure is retried
soon (1, 2, 4, then every 8 s) until OUTBOX_GIVE_UP_SECONDS after the message was written; the
first message a gateway takes again brings every other one waiting on it forward. A message the
gateway refuses outright (a 4xx) is given up after MAX_REFUSALS. Each failure is on the timeline
(signals.message_failed).
"""

import datetime
import logging
import time
from concurrent.futures import ThreadPoolExecutor

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Count
from django.utils import timezone

from .models import Delivery, Notification
from .signals import message_failed, message_sent
from .transports import transport_for

log = logging.getLogger(__name__)

MAX_REFUSALS = 3
BACKOFF_CAP_SECONDS = 8


def lease():
    """How long a claimed row is left to its sender: a look-up and a send, each bounded by the
    timeout, and a margin. Shorter would let a slow but live send be repeated."""
    return datetime.timedelta(seconds=2 * settings.OUTBOX_SEND_TIMEOUT + 5)


def _backoff(attempts):
    return datetime.timedelta(seconds=min(2 ** (attempts - 1), BACKOFF_CAP_SECONDS))


def claim_next(*, channel, now, sender=""):
    """Claim the next due row of `channel` for `sender`, or None if there is none.

    The row comes back with `outcome_unknown` set when an earlier attempt was cut off after it
    may have reached the gateway.
    """
    with transaction.atomic():
        row = (
            Notification.objects.filter(
                state=Delivery.PENDING, channel=channel, next_attempt_at__lte=now
            )
            .order_by("next_attempt_at", "pk")
            .select_for_update(skip_locked=True)
            .first()
        )
        if row is None:
            return None
        row.outcome_unknown = row.sending_since is not None
        row.attempts += 1
        row.next_attempt_at = now + lease()
        # When the message was last handed over; kept while its outcome is unknown.
        row.sending_since = row.sending_since or now
        row.claimed_by = sender[:100]
        row.save(update_fields=["attempts", "next_attempt_at", "sending_since", "claimed_by"])
    return row


def release_claims_of(sender, *, now=None):
    """A sender starting again gives back what it held when it died: those messages are sent
    (after asking the gateway) now, not when their lease lapses. Returns how many."""
    if not sender:
        return 0
    now = now or timezone.now()
    return Notification.objects.filter(
        state=Delivery.PENDING, claimed_by=sender[:100], next_attempt_at__gt=now
    ).update(next_attempt_at=now, claimed_by="")


def _label(row):
    return f"{row.get_channel_display()} to {row.recipient_label} ({row.address})"


def _mark_sent(row, *, ref, now, how="sent"):
    with transaction.atomic():
        done = Notification.objects.filter(pk=row.pk, state=Delivery.PENDING).update(
            state=Delivery.SENT,
            sent_at=now,
            provider_ref=ref or "",
            last_error="",
            sending_since=None,
            claimed_by="",
        )
        if done:
            message_sent.send(Notification, notification=row, now=now, text=f"{_label(row)} {how}.")
    if done and row.attempts > 1:
        _wake_waiting(row.channel, now=now)
    return bool(done)


def _wake_waiting(channel, *, now):
    """The gateway takes messages again: the others that failed on it go now, not at the end of
    their back-off."""
    Notification.objects.filter(
        state=Delivery.PENDING, channel=channel, claimed_by="", next_attempt_at__gt=now
    ).exclude(last_error="").update(next_attempt_at=now)


def _mark_failed(row, *, error, rejected, answered, now, gone=False):
    refusals = row.refusals + 1 if rejected else row.refusals
    give_up_at = row.created_at + datetime.timedelta(seconds=settings.OUTBOX_GIVE_UP_SECONDS)
    final = gone or refusals >= MAX_REFUSALS or now + _backoff(row.attempts) > give_up_at
    update = {"last_error": error, "refusals": refusals, "claimed_by": ""}
    if final:
        update["state"] = Delivery.FAILED
    else:
        update["next_attempt_at"] = now + _backoff(row.attempts)
    if answered or final:
        # The gateway said it did not take it (or we stop trying): nothing is in flight.
        update["sending_since"] = None
    with transaction.atomic():
        if Notification.objects.filter(pk=row.pk, state=Delivery.PENDING).update(**update):
            then = "gave up" if final else "will retry"
            message_failed.send(
                Notification,
                notification=row,
                now=now,
                final=final,
                text=f"{_label(row)} failed (attempt {row.attempts}, {then}): {error}",
            )
    # The error stays on the row and the timeline; the log gets its kind only (a gateway's
    # words can quote the number).
    log.warning("Notification %s failed: %s", row.pk, error.split(":", 1)[0])


def resend_after():
    """After a send whose outcome is unknown, how long the gateway is given to take it (asked
    meanwhile) before it is sent again: a gateway slower than the timeout still takes what it
    was handed, and sending again sooner would give the phone two texts."""
    return datetime.timedelta(seconds=3 * settings.OUTBOX_SEND_TIMEOUT)


def _wait_for_gateway(row, *, now):
    """Not found at the gateway yet, but an earlier send may still land: ask again soon."""
    until = row.sending_since + resend_after()
    Notification.objects.filter(pk=row.pk, state=Delivery.PENDING).update(
        next_attempt_at=min(now + _backoff(row.attempts), until), claimed_by=""
    )
    return False


def send_one(row, transport, *, now):
    """Send one claimed row through `transport`; returns whether it is now sent."""
    try:
        if row.outcome_unknown and transport.supports_look_up:
            ref = transport.look_up(row)
            if ref:
                return _mark_sent(
                    row,
                    ref=ref,
                    now=now,
                    how="sent (found at the gateway after an interrupted send)",
                )
            if now < row.sending_since + resend_after():
                return _wait_for_gateway(row, now=now)
        if row.outcome_unknown:
            # Handed over again now: the wait before any further resend counts from here.
            row.sending_since = now
            Notification.objects.filter(pk=row.pk).update(sending_since=now)
        ref = transport.send(row)
    except Exception as exc:
        error = f"{type(exc).__name__}: {exc}"[:1000]
        _mark_failed(
            row,
            error=error,
            rejected=getattr(exc, "rejected", False),
            answered=getattr(exc, "answered", False),
            gone=getattr(exc, "final", False),
            now=now,
        )
        return False
    return _mark_sent(row, ref=ref, now=now)


def drain(channel, *, ends, now=None, sender=""):
    """Send due rows of `channel`, one at a time, until none is due or time is up (one at
    least, so every run makes progress)."""
    transport = transport_for(channel)
    sent = 0
    while True:
        at = now or timezone.now()
        row = claim_next(channel=channel, now=at, sender=sender)
        if row is None:
            return sent
        sent += send_one(row, transport, now=at)
        if time.monotonic() >= ends:
            return sent


def _drain_in_thread(channel, ends, sender):
    try:
        return drain(channel, ends=ends, sender=sender)
    except Exception:
        log.exception("A sender of %s stopped", channel)
        return 0
    finally:
        # Each thread has its own database connection: close it, or they pile up.
        connection.close()


def due_by_channel(now):
    return dict(
        Notification.objects.filter(state=Delivery.PENDING, next_attempt_at__lte=now)
        .order_by()
        .values_list("channel")
        .annotate(n=Count("pk"))
        .values_list("channel", "n")
    )


def deliver_due(*, budget_seconds, now=None, threads=None, sender=""):
    """Send what is due, for at most `budget_seconds` of claiming (each send in flight then
    finishes, bounded by its timeout). Returns how many were sent.

    `threads` senders per channel with messages due (OUTBOX_THREADS_PER_CHANNEL); 0 sends
    everything from this thread, channel after channel (the tests, with `now` fixed). `sender`
    names the worker, so that it can give back its claims if it dies and starts again.
    """
    threads = settings.OUTBOX_THREADS_PER_CHANNEL if threads is None else threads
    ends = time.monotonic() + budget_seconds
    due = due_by_channel(now or timezone.now())
    if not threads:
        return sum(drain(channel, ends=ends, now=now, sender=sender) for channel in sorted(due))
    jobs = [(channel, min(threads, n)) for channel, n in sorted(due.items())]
    workers = sum(n for _, n in jobs)
    if not workers:
        return 0
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="outbox") as pool:
        futures = [
            pool.submit(_drain_in_thread, channel, ends, sender)
            for channel, n in jobs
            for _ in range(n)
        ]
        return sum(f.result() for f in futures)
