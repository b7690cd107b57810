"""Thin Celery tasks for the record after a visit: call a service, return what it did."""

import logging
import time

from celery import shared_task
from django.utils import timezone

from schools.models import School

from .services import reminders, retention, transfer

log = logging.getLogger(__name__)

# The nightly retention run stops starting schools after this long; the rest go the next night.
RETENTION_SECONDS = 20 * 60


@shared_task(acks_late=True, ignore_result=True)
def records_remind():
    """A7: chase late minutes, overdue actions and missing debriefs. Beat runs it every few
    minutes; a second run the same day sends nothing (the outbox keys name the day)."""
    return reminders.reminders_send()


@shared_task(acks_late=True, ignore_result=True)
def records_retention(now=None):
    """The retention schedule, once a day (settings' "records-retention"): for each school,
    remove what a report listed long enough ago and report what has newly fallen due
    (safeguarding/services/retention.py). Each school in its own transaction, so one school's
    failure leaves the others' done; safe to run twice. Returns {"reports": n, "removals": n}."""
    now = now or timezone.now()
    started = time.monotonic()
    done = {"reports": 0, "removals": 0, "failed": 0}
    transfer.transfers_expire(now=now)
    for school in School.objects.order_by("pk"):
        if time.monotonic() - started > RETENTION_SECONDS:
            log.warning("records_retention: out of time; the other schools go next run")
            break
        try:
            result = retention.retention_cycle(school, now)
        except Exception:
            log.exception("records_retention: school %s failed", school.pk)
            done["failed"] += 1
            continue
        done["reports"] += result.report is not None
        done["removals"] += result.removal is not None
    return done
