"""Who watches the watcher: when the overdue watch itself stops, page a person.

The board shows a banner when the worker, the sender, beat or the sweep has been silent for
HEARTBEAT_STALE_SECONDS, but nobody may be looking at the board. The watchdog is a small
process of its own (`manage.py watchdog`), not a Celery task, since Celery may be what stopped:
it reads the heartbeats and, when something is silent, sends a text and makes a phone call
straight through the SMS and voice providers, not through the outbox (whose sender may be what
stopped), to the schools' and the trust's technical contacts. Once per outage, and once more
when the watch is back; the outage is a row, so a watchdog that restarts pages nobody twice.
"""

import logging

from django.db import IntegrityError, transaction
from django.utils import timezone

from notifications.models import Channel
from notifications.services import send_now
from schools.phones import e164

from .models import TechnicalContact, WatchdogOutage
from .services import WATCHER_NAMES, watchers_down

log = logging.getLogger(__name__)


def _contacts():
    return list(TechnicalContact.objects.filter(is_active=True).order_by("pk"))


def _page(contacts, *, subject, body, now):
    """Text and call each contact now, each on its own: one failing does not stop another.
    Returns how many got through to the gateway."""
    sent = 0
    for contact in contacts:
        for channel in (Channel.SMS, Channel.VOICE):
            _, error = send_now(
                key=f"watchdog:{now.isoformat()}:{channel}:{contact.pk}",
                school=contact.school,
                label=contact.name,
                channel=channel,
                address=e164(contact.mobile),
                subject=subject,
                body=body,
                now=now,
            )
            if error:
                log.error(
                    "Watchdog could not page contact %s by %s: %s", contact.pk, channel, error
                )
            else:
                sent += 1
    return sent


def check(*, now=None):
    """One look at the heartbeats; pages on the start and the end of an outage. Returns what
    it did: "down", "up" or ""."""
    now = now or timezone.now()
    down = watchers_down(now=now)
    open_outage = WatchdogOutage.objects.filter(open_marker="open").first()
    if down and open_outage is None:
        parts = ", ".join(WATCHER_NAMES[name] for name in down)
        try:
            with transaction.atomic():
                outage = WatchdogOutage.objects.create(started_at=now, parts=",".join(down))
        except IntegrityError:
            return ""  # another watchdog opened it a moment ago
        body = (
            f"homevisits: the overdue watch has stopped (not heard from: {parts}). Alerts for "
            "staff on home visits may not be raised. Restart it now; until then the office must "
            "watch the board's times and phone late staff themselves."
        )
        _page(_contacts(), subject="homevisits: overdue watch stopped", body=body, now=now)
        WatchdogOutage.objects.filter(pk=outage.pk).update(paged_at=now)
        log.error("Watchdog: the overdue watch is down (%s); technical contacts paged", parts)
        return "down"
    if not down and open_outage is not None:
        minutes = int((now - open_outage.started_at).total_seconds() // 60)
        WatchdogOutage.objects.filter(pk=open_outage.pk).update(
            ended_at=now, open_marker=None, recovery_paged_at=now
        )
        body = f"homevisits: the overdue watch is running again after {minutes} minutes."
        _page(_contacts(), subject="homevisits: overdue watch running again", body=body, now=now)
        log.warning("Watchdog: the overdue watch is running again")
        return "up"
    return ""
