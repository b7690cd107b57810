import os
import threading

from celery import Celery, bootsteps
from celery.beat import PersistentScheduler
from celery.worker.consumer import Consumer as CeleryConsumer

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "homevisits.settings")

app = Celery("homevisits")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


def _heartbeat(name):
    """Write a heartbeat; a database that is down must not kill the process that writes it."""
    from django.db import connection

    from escalation.services import heartbeat_write

    try:
        heartbeat_write(name)
    except Exception:
        # The next beat tries again; meanwhile /healthz shows the silence.
        import logging

        logging.getLogger(__name__).exception("Could not write the %s heartbeat", name)
    finally:
        # No connection is left open for the prefork pool to inherit across a fork.
        connection.close()


class Consumer(CeleryConsumer):
    """Celery's consumer, reconnecting to a lost broker every second.

    Celery retries on kombu's defaults, sleeping 2, 4, 6 ... up to 30 s between attempts, so
    after a 45 s Redis outage the watch came back 12 s after Redis did; the overdue watch must
    resume within a sweep period.
    """

    RETRY_SECONDS = 1.0

    def ensure_connected(self, conn):
        ensure = conn.ensure_connection

        def every_second(errback=None, max_retries=None, **kwargs):
            kwargs.update(
                interval_start=self.RETRY_SECONDS, interval_step=0, interval_max=self.RETRY_SECONDS
            )
            return ensure(errback, max_retries, **kwargs)

        conn.ensure_connection = every_second
        return super().ensure_connected(conn)


def heartbeat_names(worker):
    """What a worker's heartbeat vouches for, by the queues it takes: the watch ("worker", the
    default queue) and the sender ("sender", the outbox queue)."""
    queues = set(worker.app.amqp.queues.consume_from or worker.app.amqp.queues)
    names = []
    if worker.app.conf.task_default_queue in queues:
        names.append("worker")
    if "outbox" in queues:
        names.append("sender")
    return names


class WorkerHeartbeat(bootsteps.StartStopStep):
    """The worker says it is alive every HEARTBEAT_SECONDS, from a thread of its own.

    A thread, not a task: a worker whose pool is stuck still beats, but one that is killed or
    cut off from the database does not, which is what /healthz must see.
    """

    def __init__(self, worker, **kwargs):
        super().__init__(worker, **kwargs)
        self._stop = threading.Event()
        self._thread = None

    def start(self, worker):
        from django.conf import settings

        names = heartbeat_names(worker)

        def run():
            while not self._stop.is_set():
                for name in names:
                    _heartbeat(name)
                self._stop.wait(settings.HEARTBEAT_SECONDS)

        self._thread = threading.Thread(target=run, name="homevisits-heartbeat", daemon=True)
        self._thread.start()

    def stop(self, worker):
        self._stop.set()


app.steps["worker"].add(WorkerHeartbeat)


class HeartbeatScheduler(PersistentScheduler):
    """Celery beat's scheduler, writing the beat heartbeat as it ticks."""

    _last_beat = 0.0

    def tick(self, *args, **kwargs):
        import time

        from django.conf import settings

        if time.monotonic() - self._last_beat >= settings.HEARTBEAT_SECONDS:
            _heartbeat("beat")
            self._last_beat = time.monotonic()
        # Wake at least this often, so the heartbeat is written between due tasks.
        return min(super().tick(*args, **kwargs), settings.HEARTBEAT_SECONDS)
