"""Thin Celery tasks: call a service, return what it did.

The sweep is safe to run twice or at once (SKIP LOCKED claims, unique keys), and beat runs it
every few seconds, so a task lost to a killed worker or a Redis restart costs one period. Each
run is bounded in time (and by the time limits in settings.CELERY_TASK_ANNOTATIONS), so a storm
of alerts is worked through by successive runs. Messages are sent by notifications.tasks on a
queue of its own: the sweep never waits behind a gateway.
"""

from celery import shared_task

from notifications.tasks import notifications_deliver

from . import services


@shared_task(acks_late=True, ignore_result=True)
def escalation_sweep():
    result = services.sweep()
    # Proof that sweeps complete, not just that the worker is alive (/healthz, the board).
    services.heartbeat_write("sweep")
    if result["raised"] or result["police"] or result["requeued"]:
        notifications_deliver.delay()
    return result
