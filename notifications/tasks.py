"""The sender: a thin task on a queue of its own ("outbox", settings.CELERY_TASK_ROUTES), so the
overdue sweep never waits behind a send and a slow or hung gateway never holds the watch. Its
time limits are in settings (CELERY_TASK_ANNOTATIONS)."""

import logging

from celery import shared_task
from celery.signals import worker_ready
from django.conf import settings

from . import delivery

logger = logging.getLogger(__name__)


@shared_task(bind=True, acks_late=True, ignore_result=True)
def notifications_deliver(self):
    # Claims for one sweep period; sends in flight then finish within OUTBOX_SEND_TIMEOUT.
    return delivery.deliver_due(
        budget_seconds=settings.ESCALATION_SWEEP_SECONDS, sender=self.request.hostname or ""
    )


@worker_ready.connect
def _release_claims_of_a_dead_self(sender, **kwargs):
    """A sender that starts again sends at once what it held when it died (after asking the
    gateway whether it already has it), instead of waiting for the lease to lapse."""
    queues = sender.app.amqp.queues.consume_from or sender.app.amqp.queues
    if "outbox" in queues:
        released = delivery.release_claims_of(sender.hostname)
        if released:
            logger.warning("Took back %s messages this sender held when it stopped", released)
