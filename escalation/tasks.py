"""Thin Celery tasks: call a service, return what it did.

Both are safe to run twice or at once (SKIP LOCKED claims, unique keys), and beat runs them
every few seconds, so a task lost to a killed worker or a Redis restart costs one period. Each
run is bounded in time, so neither holds the worker's processes for long: a storm of alerts or
of messages is worked through by successive runs.
"""

import time

from celery import shared_task
from django.conf import settings

from . import delivery, services


@shared_task(acks_late=True, ignore_result=True)
def escalation_sweep():
    result = services.sweep()
    # Proof that sweeps complete, not just that the worker is alive (/healthz, the board).
    services.heartbeat_write("sweep")
    if result["raised"] or result["police"]:
        notifications_deliver.delay()
    return result


@shared_task(acks_late=True, ignore_result=True)
def notifications_deliver():
    # One sweep period at most: beat queues the next run as often as the sweep, so a storm of
    # messages is sent run after run without ever holding both of the worker's processes long
    # enough to keep a sweep waiting. Runs never queue more runs: a chain that did filled the
    # queue and starved the sweep for 70 s in bench/escalation_latency.py.
    ends = time.monotonic() + settings.ESCALATION_SWEEP_SECONDS
    sent = 0
    while True:
        claimed = delivery.deliver_batch()
        sent += claimed
        if not claimed or time.monotonic() >= ends:
            return sent
