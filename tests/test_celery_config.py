"""How the workers are set up: bounded tasks, the sender's own queue, a quick return to Redis."""

import logging

import pytest
from kombu import Connection

from homevisits.celery import Consumer, app, heartbeat_names

OUR_APPS = ("escalation.", "notifications.", "safeguarding.", "visits.", "schools.")


def _limits(name):
    annotations = app.conf.task_annotations or {}
    own = annotations.get(name, {})
    soft = own.get("soft_time_limit", app.conf.task_soft_time_limit)
    hard = own.get("time_limit", app.conf.task_time_limit)
    return soft, hard


def test_every_task_has_a_soft_and_a_hard_time_limit():
    app.loader.import_default_modules()
    tasks = [name for name in app.tasks if name.startswith(OUR_APPS)]
    assert "escalation.tasks.escalation_sweep" in tasks
    for name in tasks:
        soft, hard = _limits(name)
        assert soft and hard and soft < hard, name


def test_the_sweep_and_the_sender_are_bounded_to_seconds():
    from homevisits import settings as configured  # as the workers read it at start

    period = configured.ESCALATION_SWEEP_SECONDS
    assert _limits("escalation.tasks.escalation_sweep")[1] <= 2 * period + 20
    assert _limits("notifications.tasks.notifications_deliver")[1] <= (
        period + 2 * configured.OUTBOX_SEND_TIMEOUT + 20
    )


def test_messages_go_on_a_queue_of_their_own_and_the_watch_on_the_default():
    route = app.amqp.router.route({}, "notifications.tasks.notifications_deliver")
    assert route["queue"].name == "outbox"
    route = app.amqp.router.route({}, "escalation.tasks.escalation_sweep")
    assert route["queue"].name == "celery"


def test_a_worker_started_without_queues_takes_both_so_no_message_is_left_unsent():
    assert set(app.amqp.queues) == {"celery", "outbox"}


class _Worker:
    def __init__(self, consume_from):
        self.app = app
        self._consume_from = consume_from


@pytest.mark.parametrize(
    ("queues", "names"),
    [
        (["celery"], ["worker"]),
        (["outbox"], ["sender"]),
        (["celery", "outbox"], ["worker", "sender"]),
    ],
)
def test_a_workers_heartbeat_vouches_for_what_its_queues_do(monkeypatch, queues, names):
    monkeypatch.setattr(
        app.amqp.queues, "_consume_from", {q: app.amqp.queues[q] for q in queues}, raising=False
    )
    assert heartbeat_names(_Worker(queues)) == names


@pytest.fixture
def two_retries():
    before = app.conf.broker_connection_max_retries
    app.conf.broker_connection_max_retries = 2
    yield
    app.conf.broker_connection_max_retries = before


def test_the_worker_tries_a_lost_broker_again_every_second(caplog, two_retries):
    """Celery's own back-off (2, 4, ... 30 s) kept the watch down 12 s after Redis came back
    from a 45 s outage; the watch must resume within a sweep period."""
    consumer = Consumer.__new__(Consumer)
    consumer.app = app
    consumer.first_connection_attempt = False
    consumer.broker_connection_retry_attempt = 0
    conn = Connection("redis://127.0.0.1:1/0", connect_timeout=0.2)  # nothing listens there

    with caplog.at_level(logging.ERROR), pytest.raises(Exception):  # noqa: B017 (kombu's own)
        consumer.ensure_connected(conn)

    waits = [line for line in caplog.messages if "Trying again in" in line]
    assert len(waits) == 2
    assert all("Trying again in 1.00 second" in line for line in waits), waits
