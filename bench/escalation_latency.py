"""How long after a missed deadline the office is alerted, with a real Celery worker and beat.

    .venv/bin/python bench/escalation_latency.py [--visits N] [--overdue M]

Builds its own PostgreSQL database (DATABASE_URL, default
postgres://postgres@127.0.0.1:5432/homevisits_bench: dropped and created again, so its name
must contain "bench"), runs the migrations and bulk-creates one school, its office, pupils and
N visits in progress (on site, return deadline set as Visit.compute_deadline gives it). Then it
starts a real worker (prefork, concurrency 2) and beat, on Redis database 14, and:

1. Moves the deadlines of M of the visits to one minute starting 20 s later, and measures for
   each alert `raised_at - deadline` (what the escalation records) and when the alert could be
   seen (polled from the database); checks that all M are alerted and none twice; and how long
   until the notifications are sent.
2. Times the sweep: the worker's escalation_sweep tasks (from its log), and services.sweep
   in-process, idle and on a fresh batch of M.
3. The worst case: all N visits overdue at once (one UPDATE); the time until the last is
   alerted (target: under 60 s) and until every notification is sent; and how long one more
   visit, due 10 s into that storm, waits for its alert.

Prints a summary block for the README. Worker and beat are stopped at the end whatever happens;
their logs are kept (the path is printed). Exit status 1 if a check fails.
"""

import argparse
import contextlib
import datetime
import math
import os
import platform
import random
import re
import signal
import statistics
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.celery_procs import (  # noqa: E402  (needs ROOT on the path)
    CeleryStack,
    redis_url_with_db,
    wait_until,
    worker_env,
)

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/homevisits_bench"
# The fake GOV.UK Notify the texts go to (started in main): 200 ms a request, 5 % transient
# failures, a delivery receipt a moment after each text is taken.
GATEWAY = None
GATEWAY_DELAY, GATEWAY_FAILURES = 0.2, 0.05
CALLBACK_TOKEN = "escalation-bench-callback-token"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"
REDIS_DB = 14
WORST_CASE_TARGET = 60.0
# In the worst case, one more visit falls due this long after the storm starts.
CANARY_AFTER = 10.0
POLL = 0.2

SWEEP_LINE = re.compile(
    r"\[(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}): [^\]]+\] "
    r"Task escalation\.tasks\.escalation_sweep\[[^\]]+\] succeeded in ([0-9.e-]+)s: "
    r"\{'claimed': (\d+), 'raised': (\d+)"
)
EXPIRED_SWEEP = "Discarding revoked task: escalation.tasks.escalation_sweep"


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--visits", type=int, default=10_000, help="active visits (N)")
    parser.add_argument(
        "--overdue", type=int, default=1_000, help="visits passing their deadline in one minute"
    )
    parser.add_argument("--spread", type=float, default=60.0, help="seconds the M deadlines span")
    parser.add_argument(
        "--lead", type=float, default=20.0, help="seconds from ready to the first deadline"
    )
    parser.add_argument("--sweep-seconds", type=int, default=2, help="ESCALATION_SWEEP_SECONDS")
    parser.add_argument("--concurrency", type=int, default=2, help="worker prefork processes")
    parser.add_argument("--no-worst-case", action="store_true", help="skip the all-overdue run")
    parser.add_argument("--keep-db", action="store_true", help="keep the database afterwards")
    args = parser.parse_args()
    if not 0 < args.overdue <= args.visits:
        parser.error("--overdue must be between 1 and --visits")
    return args


# --- Figures ---------------------------------------------------------------------------------


def percentile(values, pct):
    """Nearest-rank percentile (p99 of 1,000 values is the 990th smallest); NaN if none."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[max(0, math.ceil(pct / 100 * len(ordered)) - 1)]


def spread_line(label, values):
    if not values:
        return f"{label}: no values"
    return (
        f"{label}: p50 {percentile(values, 50):.2f} s, p99 {percentile(values, 99):.2f} s, "
        f"max {max(values):.2f} s (min {min(values):.2f} s, n={len(values)})"
    )


def say(message):
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


# --- The database ----------------------------------------------------------------------------


def recreate_database(url):
    import psycopg2
    from psycopg2 import sql

    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    if "bench" not in name:
        sys.exit(
            f"Refusing to drop database {name!r}: the benchmark drops and recreates its "
            "database, so its name must contain 'bench' (e.g. .../homevisits_bench)."
        )
    maintenance = urlunsplit((parts.scheme, parts.netloc, "/postgres", parts.query, ""))
    conn = psycopg2.connect(maintenance)
    conn.autocommit = True
    try:
        with conn.cursor() as cursor:
            cursor.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )
            cursor.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
            cursor.execute("SHOW server_version")
            version = cursor.fetchone()[0]
    finally:
        conn.close()
    return name, maintenance, version


def drop_database(name, maintenance):
    import psycopg2
    from psycopg2 import sql

    conn = psycopg2.connect(maintenance)
    conn.autocommit = True
    try:
        with conn.cursor() as cursor:
            cursor.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )
    finally:
        conn.close()


def serve_the_app():
    """The app in a thread of this process, for the gateway's delivery receipts; its URL."""
    import threading

    from django.conf import settings
    from django.core.servers.basehttp import ThreadedWSGIServer, WSGIRequestHandler
    from django.core.wsgi import get_wsgi_application

    class Quiet(WSGIRequestHandler):
        def log_message(self, *args):
            pass

    settings.NOTIFY_CALLBACK_TOKEN = CALLBACK_TOKEN
    settings.ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
    server = ThreadedWSGIServer(("127.0.0.1", 0), Quiet)
    server.set_app(get_wsgi_application())
    threading.Thread(target=server.serve_forever, daemon=True).start()
    host, port = server.server_address[:2]
    return f"http://{host}:{port}"


def build(*, visits, office_count=2, staff_count=40):
    """One school open all day (so step 1 goes to the office on a weekday), and N visits on
    site whose return deadlines are a day away. Returns (school, visit ids)."""
    from django.contrib.auth import get_user_model
    from django.utils import timezone

    from schools.models import Membership, Pupil, Role, School, StaffProfile
    from visits.models import DeadlineKind, Status, Visit, VisitStaff, VisitType

    User = get_user_model()
    school = School.objects.create(
        name="Bench Primary School",
        slug="bench",
        office_phone="0161 496 0000",
        office_opens_at=datetime.time(0, 0),
        office_closes_at=datetime.time(23, 59, 59),
    )

    def person(username, role, mobile):
        user = User.objects.create_user(
            username=username,
            email=f"{username}@bench.example.org",
            first_name=username.capitalize(),
            last_name="Bench",
        )
        StaffProfile.objects.create(user=user, mobile=mobile)
        Membership.objects.create(user=user, school=school, role=role)
        return user

    office = [person(f"office{i}", Role.OFFICE, f"07700 900{i:03d}") for i in range(office_count)]
    person("head", Role.HEADTEACHER, "07700 900500")
    staff = [
        person(f"staff{i}", Role.VISITING_STAFF, f"07700 901{i:03d}") for i in range(staff_count)
    ]

    pupils = Pupil.objects.bulk_create(
        [
            Pupil(
                school=school,
                upn=f"B{i:012d}",
                first_name=f"Pupil{i}",
                last_name="Bench",
                date_of_birth=datetime.date(2016, 5, 1),
                year_group="Year 4",
                address=f"{i} Bench Street\nManchester",
                postcode="M1 1AA",
            )
            for i in range(visits)
        ],
        batch_size=2000,
    )
    now = timezone.now()
    grace = datetime.timedelta(minutes=school.grace_minutes)
    deadline = now + datetime.timedelta(days=1)
    expected_end = deadline - grace
    rows = [
        Visit(
            school=school,
            pupil=pupil,
            status=Status.ON_SITE,
            purpose="welfare_check",
            purpose_detail="Benchmark visit.",
            parent_could_come_to_school=False,
            planned_start=expected_end - datetime.timedelta(hours=1),
            expected_end=expected_end,
            reporting_arrangements="Phone the office on arrival and on leaving.",
            address=pupil.address,
            visit_type=VisitType.DOORSTOP,
            announced=True,
            created_by=office[0],
            authorised_at=now,
            set_off_at=now,
            arrived_at=now,
            last_seen_at=now,
            next_deadline=deadline,
            deadline_kind=DeadlineKind.RETURN,
        )
        for pupil in pupils
    ]
    created = Visit.objects.bulk_create(rows, batch_size=2000)
    VisitStaff.objects.bulk_create(
        [
            VisitStaff(
                visit=visit,
                user=staff[i % len(staff)],
                mobile=staff[i % len(staff)].staff_profile.mobile,
            )
            for i, visit in enumerate(created)
        ],
        batch_size=5000,
    )
    sample = Visit.objects.select_related("school").get(pk=created[0].pk)
    assert (sample.next_deadline, sample.deadline_kind) == sample.compute_deadline()
    return school, [visit.pk for visit in created]


def set_deadlines(school, deadlines):
    """Give visits {pk: deadline} those return deadlines, with the plan that yields them."""
    from django.db import transaction

    from visits.models import DeadlineKind, Visit

    grace = datetime.timedelta(minutes=school.grace_minutes)
    rows = []
    for pk, deadline in deadlines.items():
        end = deadline - grace
        rows.append(
            Visit(
                pk=pk,
                next_deadline=deadline,
                deadline_kind=DeadlineKind.RETURN,
                expected_end=end,
                planned_start=end - datetime.timedelta(hours=1),
                extended_until=None,
            )
        )
    with transaction.atomic():
        Visit.objects.bulk_update(
            rows,
            ["next_deadline", "deadline_kind", "expected_end", "planned_start", "extended_until"],
            batch_size=500,
        )


def set_all_deadlines(school, visit_ids, deadline):
    """One UPDATE: every visit in `visit_ids` has the same return deadline, all at once."""
    from visits.models import DeadlineKind, Visit

    end = deadline - datetime.timedelta(minutes=school.grace_minutes)
    return Visit.objects.filter(pk__in=visit_ids).update(
        next_deadline=deadline,
        deadline_kind=DeadlineKind.RETURN,
        expected_end=end,
        planned_start=end - datetime.timedelta(hours=1),
        extended_until=None,
    )


def clear_alerts():
    """Forget every alert, its messages and timeline entries (between the runs)."""
    from django.db import connection

    from escalation.models import Escalation
    from notifications.models import Notification
    from visits.models import VisitEvent

    tables = [model._meta.db_table for model in (Notification, VisitEvent, Escalation)]
    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE " + ", ".join(f'"{table}"' for table in tables))


def duplicates():
    from django.db.models import Count

    from escalation.models import Escalation

    return Escalation.objects.values("visit_id").annotate(n=Count("pk")).filter(n__gt=1).count()


def wait_for_delivery(*, timeout):
    """Wait until no notification is pending; returns (seconds waited, pending left)."""
    from notifications.models import Delivery, Notification

    started = time.monotonic()
    pending = Notification.objects.filter(state=Delivery.PENDING)
    with contextlib.suppress(TimeoutError):
        wait_until(lambda: not pending.exists(), timeout=timeout, interval=0.5)
    return time.monotonic() - started, pending.count()


def sweep_times(log_text):
    """(idle durations, durations with alerts, start times) of the worker's sweep runs."""
    idle, busy, starts = [], [], []
    for stamp, seconds, claimed, _raised in SWEEP_LINE.findall(log_text):
        ended = datetime.datetime.strptime(stamp, "%Y-%m-%d %H:%M:%S,%f").timestamp()
        starts.append(ended - float(seconds))
        (busy if int(claimed) else idle).append(float(seconds))
    return idle, busy, sorted(starts)


def sweep_summary(label, log_text):
    idle, busy, starts = sweep_times(log_text)
    parts = [f"{label}:"]
    if idle:
        parts.append(
            f"idle median {statistics.median(idle) * 1000:.0f} ms, "
            f"max {max(idle) * 1000:.0f} ms (n={len(idle)});"
        )
    if busy:
        parts.append(
            f"with alerts median {statistics.median(busy):.2f} s, "
            f"max {max(busy):.2f} s (n={len(busy)});"
        )
    if len(starts) > 1:
        gap = max(later - earlier for earlier, later in zip(starts, starts[1:], strict=False))
        parts.append(f"longest gap between sweep starts {gap:.1f} s;")
    parts.append(f"expired unrun {log_text.count(EXPIRED_SWEEP)}")
    return " ".join(parts)


# --- The runs --------------------------------------------------------------------------------


def latency_run(*, school, visit_ids, args, ready_at, failures):
    from django.utils import timezone

    from escalation.models import Escalation
    from notifications.models import Notification

    overdue = random.Random(14).sample(visit_ids, args.overdue)
    base = ready_at + datetime.timedelta(seconds=args.lead)
    step = args.spread / args.overdue
    deadlines = {
        pk: base + datetime.timedelta(seconds=i * step) for i, pk in enumerate(sorted(overdue))
    }
    set_deadlines(school, deadlines)
    last_deadline = max(deadlines.values())
    say(
        f"{args.overdue} deadlines from {timezone.localtime(base):%H:%M:%S} "
        f"to {timezone.localtime(last_deadline):%H:%M:%S}; watching"
    )

    seen = {}  # escalation pk -> (visit id, deadline, raised_at, first seen)
    give_up = last_deadline + datetime.timedelta(seconds=90)
    while timezone.now() < give_up:
        now = timezone.now()
        for pk, visit_id, deadline, raised_at in Escalation.objects.values_list(
            "pk", "visit_id", "deadline", "raised_at"
        ):
            if pk not in seen:
                seen[pk] = (visit_id, deadline, raised_at, now)
        if len({row[0] for row in seen.values()}) >= args.overdue and now > last_deadline:
            break
        time.sleep(POLL)
    say(f"{len(seen)} alerts seen; waiting {3 * args.sweep_seconds} s for any duplicate")
    time.sleep(3 * args.sweep_seconds)

    rows = list(Escalation.objects.values_list("visit_id", "deadline", "raised_at"))
    alerted = {visit_id for visit_id, _, _ in rows}
    missing = set(deadlines) - alerted
    unexpected = alerted - set(deadlines)
    twice = duplicates()
    wrong_deadline = sum(1 for visit_id, deadline, _ in rows if deadlines.get(visit_id) != deadline)
    raised = [(raised_at - deadline).total_seconds() for _, deadline, raised_at in rows]
    visible = [(first - deadline).total_seconds() for _, deadline, _, first in seen.values()]

    delivery_wait, pending = wait_for_delivery(timeout=120)
    # Delivery receipts come a moment after each text is taken: wait for them too.
    with contextlib.suppress(TimeoutError):
        wait_until(
            lambda: not Notification.objects.filter(channel="sms", state="sent").exists(),
            timeout=60,
            interval=0.5,
        )
    sent = []
    deadline_of = dict(Escalation.objects.values_list("pk", "deadline"))
    for about_id, sent_at in Notification.objects.filter(
        about_type__model="escalation", sent_at__isnull=False
    ).values_list("about_id", "sent_at"):
        sent.append((sent_at - deadline_of[about_id]).total_seconds())
    notifications = Notification.objects.count()
    texts = texts_at_the_gateway(deadline_of)
    if texts["twice"]:
        failures.append(f"{texts['twice']} texts reached the gateway more than once")
    if texts["missing"]:
        failures.append(f"{texts['missing']} texts never reached the gateway")

    if missing:
        failures.append(f"{len(missing)} of {args.overdue} overdue visits never alerted")
    if twice:
        failures.append(f"{twice} visits alerted more than once")
    if unexpected:
        failures.append(f"{len(unexpected)} visits alerted before their deadline")
    if wrong_deadline:
        failures.append(f"{wrong_deadline} alerts name the wrong deadline")
    if pending:
        failures.append(f"{pending} notifications still pending after 120 s")
    return {
        "alerted": len(alerted & set(deadlines)),
        "missing": len(missing),
        "twice": twice,
        "unexpected": len(unexpected),
        "raised": raised,
        "visible": visible,
        "sent": sent,
        "notifications": notifications,
        "pending": pending,
        "delivery_wait": delivery_wait,
        "texts": texts,
    }


def texts_at_the_gateway(deadline_of):
    """What the fake Notify took: deadline to "accepted by the gateway" (its own clock) and to
    "delivered" (the receipt's time in the outbox), and texts taken twice or never."""
    from notifications.models import Notification

    taken = {}
    for message in GATEWAY.messages:
        taken.setdefault(message["reference"], []).append(message["received_at"])
    accepted, delivered, missing = [], [], 0
    rows = Notification.objects.filter(about_type__model="escalation", channel="sms")
    for key, about_id, delivered_at in rows.values_list("key", "about_id", "delivered_at"):
        deadline = deadline_of[about_id]
        if key not in taken:
            missing += 1
            continue
        accepted.append(min(taken[key]) - deadline.timestamp())
        if delivered_at is not None:
            delivered.append((delivered_at - deadline).total_seconds())
    twice = sum(1 for times in taken.values() if len(times) > 1)
    return {
        "accepted": accepted,
        "delivered": delivered,
        "missing": missing,
        "twice": twice,
        "requests": len(GATEWAY.requests),
    }


def worst_case_run(*, school, visit_ids, canary, args, failures):
    """All N overdue at once; and one more visit (the canary) due CANARY_AFTER s later, to see
    how long a deadline passing during the storm waits for its alert."""
    from django.db.models import Max
    from django.utils import timezone

    from escalation.models import Escalation
    from escalation.services import watchers_down
    from notifications.models import Notification

    clear_alerts()
    now = timezone.now()
    set_all_deadlines(school, visit_ids, now)
    canary_due = now + datetime.timedelta(seconds=CANARY_AFTER)
    set_all_deadlines(school, [canary], canary_due)
    say(f"all {len(visit_ids)} visits overdue at {timezone.localtime(now):%H:%M:%S}; watching")
    storm = Escalation.objects.exclude(visit_id=canary)
    first = last = canary_seen = None
    down_seen = set()  # what /healthz would have called down while the storm was handled
    give_up = time.monotonic() + 300
    while time.monotonic() < give_up:
        count = storm.count()
        at = timezone.now()
        elapsed = (at - now).total_seconds()
        if count and first is None:
            first = elapsed
        if count >= len(visit_ids) and last is None:
            last = elapsed
        if canary_seen is None and Escalation.objects.filter(visit_id=canary).exists():
            canary_seen = (at - canary_due).total_seconds()
        if last is not None and canary_seen is not None:
            break
        down_seen.update(watchers_down(now=at))
        time.sleep(POLL)
    alerted = storm.count()
    raised_max = storm.aggregate(m=Max("raised_at"))["m"]
    say(f"{alerted} alerted; waiting for their notifications")
    delivery_wait, pending = wait_for_delivery(timeout=600)
    sent_last = Notification.objects.aggregate(m=Max("sent_at"))["m"]
    twice = duplicates()
    if last is None:
        failures.append(f"worst case: only {alerted} of {len(visit_ids)} alerted after 300 s")
    elif last >= WORST_CASE_TARGET:
        failures.append(f"worst case: last alert after {last:.1f} s (target < 60 s)")
    if canary_seen is None:
        failures.append("worst case: the visit due during the storm was never alerted")
    if twice:
        failures.append(f"worst case: {twice} visits alerted more than once")
    if pending:
        failures.append(f"worst case: {pending} notifications still pending after 600 s")
    return {
        "first": first,
        "last": last,
        "alerted": alerted,
        "canary": canary_seen,
        "down_seen": sorted(down_seen),
        "raised_max": (raised_max - now).total_seconds() if raised_max else None,
        "sent_last": (sent_last - now).total_seconds() if sent_last else None,
        "notifications": Notification.objects.count(),
        "pending": pending,
        "twice": twice,
        "delivery_wait": delivery_wait,
    }


def in_process_sweeps(*, school, visit_ids, args):
    """services.sweep here, with the worker stopped: idle, then a fresh batch of M due."""
    from django.utils import timezone

    from escalation import services

    clear_alerts()
    later = timezone.now() + datetime.timedelta(days=1)
    set_all_deadlines(school, visit_ids, later)
    idle = []
    for _ in range(5):
        started = time.perf_counter()
        result = services.sweep(now=timezone.now())
        idle.append(time.perf_counter() - started)
        assert result["claimed"] == 0, result
    batch = random.Random(15).sample(visit_ids, args.overdue)
    now = timezone.now()
    set_all_deadlines(school, batch, now)
    started = time.perf_counter()
    # One unbounded run, to time the work itself (the task bounds each run to two periods).
    result = services.sweep(now=timezone.now(), budget_seconds=3600)
    fresh = time.perf_counter() - started
    return {"idle": statistics.median(idle), "fresh": fresh, "fresh_result": result}


def run_with_celery(stack, *, school, visit_ids, canary, args, failures):
    """Start the worker and beat, then the latency run and the worst case."""
    from django.utils import timezone

    from escalation.models import Heartbeat
    from escalation.services import watchers_down

    worker = stack.start_worker(concurrency=args.concurrency, queues="celery", name="watch")
    sender = stack.start_worker(concurrency=2, queues="outbox", name="sender")
    stack.start_beat()
    worker.wait_for_log(" ready.", timeout=60)
    sender.wait_for_log(" ready.", timeout=60)
    since = timezone.now() - datetime.timedelta(seconds=60)
    wait_until(
        lambda: Heartbeat.objects.filter(name="beat", at__gte=since).exists(),
        timeout=60,
        what="the beat heartbeat",
    )
    ready_at = timezone.now()
    say(f"worker (prefork, concurrency {args.concurrency}) and beat up; logs in {stack.workdir}")

    latency = latency_run(
        school=school, visit_ids=visit_ids, args=args, ready_at=ready_at, failures=failures
    )
    latency["sweep_log"] = sweep_summary("sweep task (worker log)", worker.log_text())
    offset = len(worker.log_text())
    worst = None
    if not args.no_worst_case:
        worst = worst_case_run(
            school=school, visit_ids=visit_ids, canary=canary, args=args, failures=failures
        )
        worst["sweep_log"] = sweep_summary(
            "sweep task, worst case (worker log)", worker.log_text()[offset:]
        )
    down = watchers_down(now=timezone.now())
    if down:
        failures.append(f"heartbeats stale at the end: {', '.join(down)}")
    return latency, worst, down


# --- Main ------------------------------------------------------------------------------------


def main():
    args = parse_args()
    database_url = os.environ.get("DATABASE_URL") or DEFAULT_DATABASE_URL
    if not database_url.startswith("postgres"):
        sys.exit("The benchmark needs PostgreSQL: DATABASE_URL=postgres://...")
    broker = redis_url_with_db(os.environ.get("REDIS_URL") or DEFAULT_REDIS_URL, REDIS_DB)
    os.environ.update(
        DATABASE_URL=database_url,
        REDIS_URL=broker,
        DJANGO_SETTINGS_MODULE="homevisits.settings",
        ESCALATION_SWEEP_SECONDS=str(args.sweep_seconds),
    )
    os.environ.setdefault("SECRET_KEY", "escalation-bench-only-secret")
    # A SIGTERM stops the benchmark like Ctrl-C does: through the finally below.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))

    import redis

    redis_client = redis.Redis.from_url(broker)
    redis_client.flushdb()
    redis_version = redis_client.info("server")["redis_version"]

    db_name, maintenance, pg_version = recreate_database(database_url)
    say(f"database {db_name} recreated (PostgreSQL {pg_version}); migrating")

    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connections

    call_command("migrate", verbosity=0)
    started = time.perf_counter()
    # One visit more than N: the canary of the worst case, due far ahead until then.
    school, ids = build(visits=args.visits + 1)
    visit_ids, canary = ids[:-1], ids[-1]
    say(f"{len(ids)} visits on site created in {time.perf_counter() - started:.1f} s")
    connections.close_all()

    logdir = Path(tempfile.mkdtemp(prefix="escalation-bench-"))
    site = serve_the_app()
    global GATEWAY
    from notifications.notify.fakes import API_KEY, FakeNotify

    GATEWAY = FakeNotify(
        callback_url=site + "/notifications/notify/status/",
        callback_token=CALLBACK_TOKEN,
        auto_report="delivered",
    ).start()
    GATEWAY.behaviour.delay = GATEWAY_DELAY
    GATEWAY.behaviour.failure_rate = GATEWAY_FAILURES
    # Task receipts are logged (settings quiet them by default): the sweep times come from them.
    env = worker_env(
        database_url=database_url,
        redis_url=broker,
        sweep_seconds=args.sweep_seconds,
        CELERY_TASK_LOG_LEVEL="INFO",
        SMS_PROVIDER="notify",
        NOTIFY_API_KEY=API_KEY,
        NOTIFY_BASE_URL=GATEWAY.url,
        NOTIFY_SMS_TEMPLATE_ID="9a4c2e1b-5f3d-4b8a-9c7e-1d2f3a4b5c6d",
        NOTIFY_CALLBACK_TOKEN=CALLBACK_TOKEN,
        SITE_URL=site,
    )
    stack = CeleryStack(env=env, workdir=logdir)
    failures = []
    worst = None
    try:
        try:
            latency, worst, heartbeats_down = run_with_celery(
                stack,
                school=school,
                visit_ids=visit_ids,
                canary=canary,
                args=args,
                failures=failures,
            )
        finally:
            say("stopping worker and beat")
            stack.stop_all()
            redis_client.flushdb()
        sweeps = in_process_sweeps(school=school, visit_ids=visit_ids, args=args)
        if sweeps["fresh_result"]["raised"] != args.overdue:
            failures.append(f"in-process sweep raised {sweeps['fresh_result']}")
    finally:
        connections.close_all()
        if not args.keep_db:
            drop_database(db_name, maintenance)

    lines = [
        "== Escalation latency benchmark ==",
        f"when: {time.strftime('%Y-%m-%d %H:%M %Z')} on {platform.node()} "
        f"({os.cpu_count()} CPUs), PostgreSQL {pg_version}, Redis {redis_version}",
        f"worker: prefork, concurrency {args.concurrency}; beat: sweep every "
        f"{settings.ESCALATION_SWEEP_SECONDS} s (50 alerts a commit, each run bounded to "
        f"{2 * settings.ESCALATION_SWEEP_SECONDS} s)",
        f"visits watched: {args.visits} (+1 for the worst case); overdue within "
        f"{args.spread:.0f} s: {args.overdue}",
        f"alerted: {latency['alerted']}/{args.overdue}; missing: {latency['missing']}; "
        f"alerted twice: {latency['twice']}; alerted before due: {latency['unexpected']}",
        spread_line("deadline-to-alert (raised_at - deadline)", latency["raised"]),
        f"p99 deadline-to-alert: {percentile(latency['raised'], 99):.2f} s",
        spread_line(
            f"deadline-to-visible (alert committed; polled every {POLL} s)", latency["visible"]
        ),
        spread_line("deadline-to-notification-sent", latency["sent"])
        + f"; {latency['notifications']} notifications, {latency['pending']} pending",
        f"texts through a fake GOV.UK Notify ({GATEWAY_DELAY * 1000:.0f} ms a request, "
        f"{GATEWAY_FAILURES:.0%} failing and retried): {len(latency['texts']['accepted'])} "
        f"taken, {latency['texts']['twice']} twice, {latency['texts']['missing']} never, "
        f"{latency['texts']['requests']} requests",
        spread_line("deadline-to-accepted-by-the-gateway", latency["texts"]["accepted"]),
        f"p99 deadline-to-sms: {percentile(latency['texts']['accepted'], 99):.2f} s "
        "(target under 10 s)",
        spread_line("deadline-to-delivered (receipt recorded)", latency["texts"]["delivered"]),
        latency["sweep_log"],
        f"sweep in-process: idle ({args.visits} watched, none due) "
        f"{sweeps['idle'] * 1000:.0f} ms; fresh batch of {args.overdue} due "
        f"{sweeps['fresh']:.2f} s ({sweeps['fresh'] / args.overdue * 1000:.1f} ms an alert)",
    ]
    if worst:
        last = f"{worst['last']:.1f} s" if worst["last"] is not None else "not reached"
        verdict = "met" if worst["last"] is not None and worst["last"] < 60 else "MISSED"
        lines += [
            f"worst case: all {args.visits} overdue at once: last alerted after {last} "
            f"(target < 60 s: {verdict}); first after {worst['first'] or 0:.1f} s; "
            f"alerted {worst['alerted']}, twice {worst['twice']}",
            "worst case: a visit due "
            f"{CANARY_AFTER:.0f} s into the storm was alerted "
            + (
                f"{worst['canary']:.1f} s after its deadline"
                if worst["canary"] is not None
                else "never (300 s)"
            ),
            f"worst case: latest raised_at {worst['raised_max'] or 0:.1f} s after the deadline; "
            f"all {worst['notifications']} notifications sent after "
            f"{worst['sent_last'] or 0:.1f} s ({worst['pending']} pending)",
            worst["sweep_log"],
            "worst case: heartbeats called down meanwhile: "
            + (", ".join(worst["down_seen"]) or "none (worker and beat fresh throughout)"),
        ]
    lines.append(
        "heartbeats: worker and beat fresh"
        if not heartbeats_down
        else f"heartbeats stale: {heartbeats_down}"
    )
    lines.append("checks: " + ("all passed" if not failures else "FAILED: " + "; ".join(failures)))
    print("\n" + "\n".join(lines), flush=True)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
