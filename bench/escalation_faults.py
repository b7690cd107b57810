"""The overdue watch under faults: does every alert and message still go, once, and soon?

    .venv/bin/python bench/escalation_faults.py [--trials N] [--only NAME ...] [--no-postgres]

Builds its own PostgreSQL database (DATABASE_URL, default
postgres://postgres@127.0.0.1:5432/homevisits_faults_bench: dropped and created again, so its
name must contain "bench"), two schools whose offices are open all day, and visits on site.
Starts a Redis server of its own (port 6391, nothing kept on disk, so it can be killed and come
back empty), a fake GOV.UK Notify on loopback (texts go through the official client), and the
production processes: the watch's worker (-Q celery), the sender (-Q outbox) and beat.

Each fault runs against a wave of visits whose deadlines fall before, during and after it:

- sender killed mid-send: SIGKILL the sender the moment Notify has taken a text and before
  the answer reaches it; started again at once;
- worker killed: SIGKILL the watch's worker as the wave falls due; started again after 5 s;
- Redis restarted empty: SIGKILL Redis; a new, empty one after 10 s;
- PostgreSQL restarted: stopped (fast) for 10 s, then started (needs pg_ctlcluster; skipped with
  --no-postgres);
- stalled check-in: a check-in's lock on one visit held by a transaction that stops answering
  (PostgreSQL's idle-in-transaction timeout ends it);
- hung gateway: Notify is stuck for 15 s: requests are held unanswered, then dropped untaken;
- slow gateway: for 15 s Notify answers every request 4 s late, past the 2 s timeout, but still
  takes the texts (a send is posted again only 6 s, 3 timeouts, after the last).

Per fault it prints the alerts missed, doubled, early and late (more than two sweep periods
after the deadline, for a visit whose deadline fell neither in the fault nor in the sweep
period before it), texts doubled (the fake
counts texts per outbox key) and missing, and the worst delay after the fault ended: of an
alert (raised_at after max(deadline, fault's end)) and of a text (taken by the gateway after
max(alert, fault's end)). Targets: 0 missed, 0 doubled, worst delay <= 4 s.
"""

import argparse
import contextlib
import datetime
import os
import platform
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.escalation_latency import drop_database, recreate_database  # noqa: E402
from tests.celery_procs import CeleryStack, wait_until, worker_env  # noqa: E402

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/homevisits_faults_bench"
REDIS_PORT = 6391
SWEEP = 2
SEND_TIMEOUT = 2
TARGET_AFTER_FAULT = 4.0
WAVE = 24  # visits a fault, half at each school
TEMPLATE_ID = "9a4c2e1b-5f3d-4b8a-9c7e-1d2f3a4b5c6d"
FAULTS = (
    "sender killed mid-send",
    "worker killed",
    "Redis restarted empty",
    "PostgreSQL restarted",
    "stalled check-in",
    "hung gateway",
    "slow gateway",
)


def say(message):
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--trials", type=int, default=1, help="runs of each fault")
    parser.add_argument("--only", nargs="*", help="faults to run (words of their names)")
    parser.add_argument("--no-postgres", action="store_true", help="skip restarting PostgreSQL")
    parser.add_argument("--keep-db", action="store_true")
    return parser.parse_args()


# --- Redis of our own --------------------------------------------------------------------------


class Redis:
    def __init__(self, port, workdir):
        self.port, self.workdir, self.proc = port, workdir, None

    def start(self):
        self.proc = subprocess.Popen(
            [
                shutil.which("redis-server") or "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.workdir),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_until(self.answers, timeout=10, what="Redis to answer")

    def kill(self):
        self.proc.kill()
        self.proc.wait()

    def answers(self):
        import redis

        try:
            return redis.Redis(port=self.port, socket_timeout=0.5).ping()
        except redis.RedisError:
            return False

    @property
    def url(self):
        return f"redis://127.0.0.1:{self.port}/0"


def pg_ctl(action):
    version = sorted(os.listdir("/etc/postgresql"))[-1]
    subprocess.run(
        ["pg_ctlcluster", "--skip-systemctl-redirect", version, "main", action]
        + (["-m", "fast"] if action == "stop" else []),
        check=True,
        capture_output=True,
    )


def pg_ready():
    return subprocess.run(["pg_isready", "-q", "-h", "127.0.0.1"], check=False).returncode == 0


# --- Data ----------------------------------------------------------------------------------------


def build(visits_per_school=150):
    """Two schools, offices open all day (two office staff each, texted), visits on site whose
    deadlines are a day away."""
    from django.contrib.auth import get_user_model
    from django.utils import timezone

    from schools.models import Membership, Pupil, Role, School, StaffProfile
    from visits.models import DeadlineKind, Status, Visit, VisitStaff, VisitType

    User = get_user_model()
    schools, ids = [], {}
    now = timezone.now()
    for s, slug in enumerate(("north", "south")):
        school = School.objects.create(
            name=f"{slug.title()} Bench School",
            slug=slug,
            office_opens_at=datetime.time(0, 0),
            office_closes_at=datetime.time(23, 59, 59),
        )
        schools.append(school)
        for i in range(2):
            user = User.objects.create_user(username=f"{slug}-office{i}", first_name="Office")
            StaffProfile.objects.create(user=user, mobile=f"07700 9{s}0{i:03d}")
            Membership.objects.create(user=user, school=school, role=Role.OFFICE)
        staff = User.objects.create_user(username=f"{slug}-staff", first_name="Staff")
        StaffProfile.objects.create(user=staff, mobile=f"07700 9{s}9999")
        Membership.objects.create(user=staff, school=school, role=Role.VISITING_STAFF)
        pupils = Pupil.objects.bulk_create(
            Pupil(
                school=school,
                upn=f"{slug}{i:08d}",
                first_name=f"P{i}",
                last_name="Bench",
                date_of_birth=datetime.date(2016, 5, 1),
                address=f"{i} Bench Road",
            )
            for i in range(visits_per_school)
        )
        deadline = now + datetime.timedelta(days=1)
        end = deadline - datetime.timedelta(minutes=school.grace_minutes)
        visits = Visit.objects.bulk_create(
            Visit(
                school=school,
                pupil=pupil,
                status=Status.ON_SITE,
                purpose="welfare_check",
                purpose_detail="Bench.",
                parent_could_come_to_school=False,
                planned_start=end - datetime.timedelta(hours=1),
                expected_end=end,
                reporting_arrangements="Phone the office.",
                address=pupil.address,
                visit_type=VisitType.DOORSTOP,
                announced=True,
                created_by=staff,
                authorised_at=now,
                arrived_at=now,
                next_deadline=deadline,
                deadline_kind=DeadlineKind.RETURN,
            )
            for pupil in pupils
        )
        VisitStaff.objects.bulk_create(
            VisitStaff(visit=v, user=staff, mobile=staff.staff_profile.mobile) for v in visits
        )
        ids[school.pk] = [v.pk for v in visits]
    return schools, ids


def set_deadlines(deadlines):
    from visits.models import DeadlineKind, Visit

    for pk, deadline in deadlines.items():
        end = deadline - datetime.timedelta(minutes=15)
        Visit.objects.filter(pk=pk).update(
            next_deadline=deadline,
            deadline_kind=DeadlineKind.RETURN,
            expected_end=end,
            planned_start=end - datetime.timedelta(hours=1),
        )


def db_retry(fn, timeout=60):
    """Run a query, riding out a database restart (the bench's own connection breaks too)."""
    from django.db import InterfaceError, OperationalError, connection

    ends = time.monotonic() + timeout
    while True:
        try:
            return fn()
        except (OperationalError, InterfaceError):
            connection.close()
            if time.monotonic() > ends:
                raise
            time.sleep(0.5)


# --- One fault -----------------------------------------------------------------------------------


class Trial:
    def __init__(self, name, *, env, stack_dir, notify, redis, pools):
        self.name, self.env, self.notify, self.redis = name, env, notify, redis
        self.stack = CeleryStack(env=env, workdir=stack_dir)
        self.pools = pools
        self.fault_start = self.fault_end = None
        self.stalled_visit = None

    def start_stack(self):
        self.watch = self.stack.start_worker(queues="celery", name="watch")
        self.sender = self._start_sender()
        self.beat = self.stack.start_beat()
        for proc in (self.watch, self.sender):
            proc.wait_for_log(" ready.", timeout=60)

    def _start_sender(self):
        # One node name across restarts, as in production (-n sender@%h).
        return self.stack.start_worker(queues="outbox", name="sender", node="sender@bench")

    def restart_sender(self):
        self.sender = self._start_sender()
        self.sender.wait_for_log(" ready.", timeout=60)

    def inject(self, seconds_from_now):
        from django.utils import timezone

        time.sleep(seconds_from_now)
        self.fault_start = timezone.now()
        getattr(self, "_" + self.name.split()[0].lower().replace("postgresql", "postgres"))()

    def _now(self):
        from django.utils import timezone

        return timezone.now()

    # The faults: each returns when the fault has ended, and sets fault_end.

    def _sender(self):
        killed = threading.Event()

        def kill(message):
            if not killed.is_set():
                killed.set()
                self.sender.signal_group(signal.SIGKILL)

        self.notify.behaviour.on_accept = kill
        killed.wait(60)
        self.notify.behaviour.on_accept = None
        self.sender.popen.wait(10)
        self.fault_start = self._now()
        self.restart_sender()
        self.fault_end = self._now()

    def _worker(self):
        self.watch.kill()
        time.sleep(5)
        self.watch = self.stack.start_worker(queues="celery", name="watch")
        self.watch.wait_for_log(" ready.", timeout=60)
        self.fault_end = self._now()

    def _redis(self):
        self.redis.kill()
        time.sleep(10)
        self.redis.start()
        self.fault_end = self._now()

    def _postgres(self):
        from django.db import connections

        connections.close_all()
        pg_ctl("stop")
        time.sleep(10)
        pg_ctl("start")
        wait_until(pg_ready, timeout=60, what="PostgreSQL")
        self.fault_end = self._now()

    def _stalled(self):
        import psycopg2
        from django.db import connection

        conn = psycopg2.connect(**connection.get_connection_params())
        cur = conn.cursor()
        # What a check-in holds (visits.services.planning._locked), in a transaction whose
        # request then stops answering.
        cur.execute(
            "SELECT id FROM visits_visit WHERE id = %s FOR NO KEY UPDATE", [self.stalled_visit]
        )
        time.sleep(20)  # PostgreSQL ends it first (idle_in_transaction_session_timeout)
        try:
            conn.rollback()
            self.fault_end = self._now()
        except psycopg2.Error:
            self.fault_end = self.fault_start + datetime.timedelta(
                milliseconds=int(self.env.get("DB_IDLE_IN_TRANSACTION_TIMEOUT_MS", 10_000))
            )
        finally:
            conn.close()

    def _hung(self):
        self.notify.behaviour.hang.set()
        time.sleep(15)
        self.notify.behaviour.hang.clear()
        self.fault_end = self._now()

    def _slow(self):
        self.notify.behaviour.delay = 4.0
        time.sleep(15)
        self.notify.behaviour.delay = 0.0
        self.fault_end = self._now()


def run_trial(trial, *, schools, ids, lead=6.0, fault_span=15.0):
    from django.db.models import Count

    from escalation.models import Escalation
    from notifications.models import Delivery, Notification

    now = trial._now()
    wave = []
    for school in schools:
        wave += ids[school.pk][: WAVE // 2]
        ids[school.pk] = ids[school.pk][WAVE // 2 :]
    start = now + datetime.timedelta(seconds=lead - 4)
    step = (fault_span + 10) / len(wave)
    deadlines = {pk: start + datetime.timedelta(seconds=i * step) for i, pk in enumerate(wave)}
    trial.stalled_visit = wave[len(wave) // 2]
    set_deadlines(deadlines)
    injector = threading.Thread(target=trial.inject, args=(lead,))
    injector.start()
    injector.join(180)

    last_due = max(deadlines.values())

    def settled():
        if trial._now() < last_due:
            return False
        alerted = set(
            Escalation.objects.filter(visit_id__in=wave).values_list("visit_id", flat=True)
        )
        pending = Notification.objects.filter(state=Delivery.PENDING).exists()
        return alerted >= set(wave) and not pending

    with contextlib.suppress(TimeoutError):
        wait_until(lambda: db_retry(settled), timeout=150, interval=0.5, what="the wave")
    time.sleep(3 * SWEEP)

    escalations = list(
        db_retry(
            lambda: list(
                Escalation.objects.filter(visit_id__in=wave).values_list(
                    "pk", "visit_id", "deadline", "raised_at"
                )
            )
        )
    )
    counts = dict(
        Escalation.objects.filter(visit_id__in=wave)
        .values_list("visit_id")
        .annotate(n=Count("pk"))
        .values_list("visit_id", "n")
    )
    fault_start, fault_end = trial.fault_start, trial.fault_end
    alerted = {visit for _, visit, _, _ in escalations}
    result = {
        "alerts": len(escalations),
        "missed": len(set(wave) - alerted),
        "doubled": sum(1 for n in counts.values() if n > 1),
        "early": sum(1 for _, _, deadline, raised in escalations if raised < deadline),
        "late": 0,
        "worst_alert": 0.0,
        "stalled_own": None,
    }
    raised_at = {}
    for pk, visit, deadline, raised in escalations:
        raised_at[pk] = raised
        after = (raised - max(deadline, fault_end)).total_seconds()
        if visit == trial.stalled_visit and trial.name == "stalled check-in":
            result["stalled_own"] = after
            continue
        result["worst_alert"] = max(result["worst_alert"], after)
        # Due inside the fault, or within a sweep before it began (not yet swept when it hit).
        window_start = fault_start - datetime.timedelta(seconds=SWEEP + 1)
        outside = not (window_start <= deadline <= fault_end)
        if outside and (raised - deadline).total_seconds() > 2 * SWEEP + 1:
            result["late"] += 1
    rows = list(
        Notification.objects.filter(
            about_type__model="escalation", about_id__in=raised_at
        ).values_list("key", "about_id", "state")
    )
    taken = {}
    for message in trial.notify.messages:
        taken.setdefault(message["reference"], []).append(message["received_at"])
    result["messages"] = len(rows)
    result["messages_doubled"] = sum(1 for key, _, _ in rows if len(taken.get(key, [])) > 1)
    result["messages_missing"] = sum(1 for key, _, _ in rows if key not in taken)
    worst = 0.0
    for key, about, _ in rows:
        if key in taken:
            base = max(raised_at[about], fault_end).timestamp()
            worst = max(worst, min(taken[key]) - base)
    result["worst_message"] = worst
    return result


def line(name, r):
    own = (
        f"; the stalled visit itself alerted {r['stalled_own']:.1f} s after its lock ended"
        if r.get("stalled_own") is not None
        else ""
    )
    return (
        f"{name:<24} alerts {r['alerts']:>3}: missed {r['missed']}, doubled {r['doubled']}, "
        f"early {r['early']}, late {r['late']}; worst after the fault {r['worst_alert']:.1f} s | "
        f"texts {r['messages']:>3}: doubled {r['messages_doubled']}, missing "
        f"{r['messages_missing']}; worst after the fault {r['worst_message']:.1f} s{own}"
    )


def main():
    args = parse_args()
    database_url = os.environ.get("DATABASE_URL") or DEFAULT_DATABASE_URL
    faults = [f for f in FAULTS if not args.only or any(w.lower() in f.lower() for w in args.only)]
    if args.no_postgres:
        faults = [f for f in faults if "PostgreSQL" not in f]
    workdir = Path(tempfile.mkdtemp(prefix="escalation-faults-"))
    redis = Redis(REDIS_PORT, workdir)
    redis.start()
    os.environ.update(
        DATABASE_URL=database_url,
        REDIS_URL=redis.url,
        DJANGO_SETTINGS_MODULE="homevisits.settings",
        CONN_MAX_AGE="0",
    )
    os.environ.setdefault("SECRET_KEY", "faults-bench-only-secret")
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    db_name, maintenance, pg_version = recreate_database(database_url)

    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connections

    from notifications.notify.fakes import API_KEY, FakeNotify

    call_command("migrate", verbosity=0)
    schools, ids = build()
    connections.close_all()
    say(f"database {db_name} (PostgreSQL {pg_version}); Redis on {REDIS_PORT}; logs in {workdir}")

    results = []
    try:
        with FakeNotify() as notify:
            env = worker_env(
                database_url=database_url,
                redis_url=redis.url,
                sweep_seconds=SWEEP,
                HEARTBEAT_SECONDS=2,
                SMS_PROVIDER="notify",
                NOTIFY_API_KEY=API_KEY,
                NOTIFY_BASE_URL=notify.url,
                NOTIFY_SMS_TEMPLATE_ID=TEMPLATE_ID,
                OUTBOX_SEND_TIMEOUT=SEND_TIMEOUT,
                CONN_MAX_AGE=0,
            )
            for trial_no in range(args.trials):
                for name in faults:
                    trial = Trial(
                        name,
                        env=env,
                        stack_dir=workdir / f"{trial_no}-{name.split()[0].lower()}",
                        notify=notify,
                        redis=redis,
                        pools=None,
                    )
                    trial.start_stack()
                    say(f"{name}: stack up; injecting")
                    try:
                        result = run_trial(trial, schools=schools, ids=ids)
                    finally:
                        trial.stack.stop_all()
                        if not redis.answers():
                            redis.start()
                    results.append((name, result))
                    say(line(name, result))
    finally:
        connections.close_all()
        redis.kill()
        if not args.keep_db:
            drop_database(db_name, maintenance)

    failures = [
        name
        for name, r in results
        if r["missed"]
        or r["doubled"]
        or r["early"]
        or r["messages_doubled"]
        or r["messages_missing"]
        or r["worst_alert"] > TARGET_AFTER_FAULT
        or r["worst_message"] > TARGET_AFTER_FAULT
    ]
    print(
        "\n== Escalation under faults ==\n"
        f"when: {time.strftime('%Y-%m-%d %H:%M %Z')} on {platform.node()} ({os.cpu_count()} CPUs), "
        f"PostgreSQL {pg_version}; sweep every {SWEEP} s; sends time out after {SEND_TIMEOUT} s; "
        f"{WAVE} visits a fault across two schools, 2 texts an alert\n"
        + "\n".join(line(name, r) for name, r in results)
        + "\ntargets: 0 missed, 0 doubled (alerts and texts), worst delay <= "
        f"{TARGET_AFTER_FAULT:.0f} s after the fault ends: "
        + ("met" if not failures else "MISSED in " + ", ".join(failures)),
        flush=True,
    )
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
