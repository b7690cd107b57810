"""Thin Celery tasks: read the clock once, call a service, return what it did.

Both are safe to run twice or at once (SKIP LOCKED claims, unique keys), and beat runs them
every few seconds, so a task lost to a killed worker or a Redis restart costs one period.
"""

from celery import shared_task
from django.utils import timezone

from . import delivery, services

# Bounds one run; the next beat tick carries on with whatever is left.
DELIVERY_ROUNDS = 20


@shared_task(acks_late=True, ignore_result=True)
def escalation_sweep():
    result = services.sweep(now=timezone.now())
    if result["raised"] or result["police"]:
        notifications_deliver.delay()
    return result


@shared_task(acks_late=True, ignore_result=True)
def notifications_deliver():
    sent = 0
    for _ in range(DELIVERY_ROUNDS):
        claimed = delivery.deliver_batch(now=timezone.now())
        sent += claimed
        if not claimed:
            break
    return sent
