"""Does `make run`'s embedded stack stay up? Hours of check-ins, alerts and minutes against it.

    .venv/bin/python bench/dev_stack_soak.py [--minutes 120] [--every 5]

Starts `bin/run-dev` (the web server, the watch's worker, the sender, beat, the watchdog and
the demo's fake gateways) exactly as `make run` does, with its defaults: SQLite and the
filesystem broker, no server of any kind, in a fresh VAR_DIR of its own (so a developer's
var/ is untouched; the demo gateways' ports 8025-8027 must be free, so stop `make run` first).

Then, every `--every` seconds until `--minutes` have passed, as a school's day would:
- one visit on site runs late: its return deadline moves to 10-40 s ahead, so the watch must
  raise an alert, and the sender text the office through the fake Twilio;
- every visit alerted for a few seconds checks in on leaving (the alert is answered by it),
  starts its minutes and saves a draft of them twice, as the tablet does;
- the board (signed in as the office) and /healthz are fetched over HTTP.

At the end it stops the stack as Ctrl-C does and prints: processes that stopped and were
restarted, "database is locked" and broker errors and tracebacks in the stack's output, alerts
raised late or never, the deadline-to-alert spread, HTTP failures, and how long the stop took.
Targets: 0 crashes, 0 restarts, 0 lock errors, 0 missed alerts. Exit status 1 if one is missed.
"""

import argparse
import datetime
import os
import random
import re
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
PYTHON = str(ROOT / ".venv" / "bin" / "python")

# A visit due this long ago and not alerted counts as missed (the sweep runs every 2 s).
MISSED_AFTER = 30
PATTERNS = {
    "processes stopped and restarted": r"homevisits: the \w+ stopped \(exit code",
    "'database is locked'": r"database is locked",
    "broker errors (half-read message)": r"JSONDecodeError|Unrecoverable error|ChannelError",
    "tracebacks": r"Traceback \(most recent call last\)",
    "processes that ignored SIGTERM": r"ignored SIGTERM",
}


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--minutes", type=float, default=120, help="how long to run (120)")
    parser.add_argument("--every", type=float, default=5, help="seconds between late visits (5)")
    parser.add_argument("--port", type=int, default=8765, help="the web server's port (8765)")
    return parser.parse_args()


def say(text):
    print(f"[{time.strftime('%H:%M:%S')}] {text}", flush=True)


def percentile(values, pct):
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(pct / 100 * (len(ordered) - 1)))]


def fetch(url, cookie=None):
    request = urllib.request.Request(url, headers={"Cookie": cookie} if cookie else {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 (loopback)
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code
    except (urllib.error.URLError, OSError):
        return None


def board_cookie(user):
    """A signed-in session for the office, as the browser on the office PC holds."""
    from django.conf import settings
    from django.test import Client

    client = Client()
    client.force_login(user)
    return f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"


def leave_and_minute(visit, staff, now):
    """The staff check in on leaving, start the minutes and save a draft twice."""
    from safeguarding.models import Minutes
    from safeguarding.services import minutes as minutes_services
    from visits.services import checkins

    checkins.visit_leave(visit=visit, by=staff, now=now)
    minutes_services.minutes_start(visit=visit, by=staff, now=now)
    record = Minutes.objects.get(visit=visit)
    text = "Spoke with mum at the door; attendance plan agreed."
    minutes_services.minutes_save_draft(
        minutes=record, by=staff, changes={"discussed": {"base": "", "value": text[:20]}}
    )
    minutes_services.minutes_save_draft(
        minutes=record, by=staff, changes={"discussed": {"base": text[:20], "value": text}}
    )


def main():
    args = parse_args()
    var_dir = Path(tempfile.mkdtemp(prefix="homevisits-soak-"))
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    env.update(
        VAR_DIR=str(var_dir),
        DEBUG="true",
        HOST="127.0.0.1",
        PORT=str(args.port),
        SITE_URL=f"http://127.0.0.1:{args.port}",
    )
    os.environ.clear()
    os.environ.update(env)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "homevisits.settings")
    say(f"fresh stack in {var_dir}; migrating")
    subprocess.run([PYTHON, "manage.py", "migrate", "--no-input", "-v0"], cwd=ROOT, check=True)

    import django

    django.setup()
    from django.utils import timezone
    from escalation_latency import build, set_deadlines

    from escalation.models import Escalation
    from visits.models import Visit

    ticks = int(args.minutes * 60 / args.every) + 10
    school, visit_ids = build(visits=ticks, office_count=2, staff_count=20)
    from django.contrib.auth import get_user_model

    office = get_user_model().objects.get(username="office0")
    cookie = board_cookie(office)
    say(f"{len(visit_ids)} visits on site; starting bin/run-dev on port {args.port}")

    log_path = var_dir / "run-dev.log"
    log = open(log_path, "w")  # noqa: SIM115 (closed at the end, after the stack)
    stack = subprocess.Popen(  # noqa: S603
        [PYTHON, "bin/run-dev"], cwd=ROOT, stdout=log, stderr=subprocess.STDOUT
    )
    base = f"http://127.0.0.1:{args.port}"
    for _ in range(120):
        if fetch(base + "/healthz") == 200:
            break
        time.sleep(1)
    else:
        say("the stack never answered /healthz with 200 within 2 minutes")
    say(f"stack up; running for {args.minutes:g} minutes (output in {log_path})")

    started = time.monotonic()
    end = started + args.minutes * 60
    pending = list(visit_ids)
    due = {}  # visit id -> deadline
    alerted = {}  # visit id -> seconds from deadline to alert
    done = set()
    http = {"board": [0, 0], "healthz": [0, 0]}
    bench_errors = []
    next_late = time.monotonic()
    last_report = time.monotonic()
    while time.monotonic() < end:
        now = timezone.now()
        if time.monotonic() >= next_late and pending:
            pk = pending.pop(0)
            deadline = now + datetime.timedelta(seconds=random.uniform(10, 40))
            set_deadlines(school, {pk: deadline})
            due[pk] = deadline
            next_late += args.every
        waiting = [pk for pk in due if pk not in alerted]
        for esc in Escalation.objects.filter(visit_id__in=waiting).values("visit_id", "raised_at"):
            alerted[esc["visit_id"]] = (esc["raised_at"] - due[esc["visit_id"]]).total_seconds()
        # The staff answer a few seconds after the alert: they check in on leaving.
        for pk, lag in list(alerted.items()):
            if pk in done or (now - due[pk]).total_seconds() < lag + 5:
                continue
            visit = Visit.objects.select_related("school").get(pk=pk)
            staff = visit.assignments.first().user
            try:
                leave_and_minute(visit, staff, timezone.now())
            except Exception as exc:  # noqa: BLE001 (counted and shown, the soak goes on)
                bench_errors.append(f"visit {pk}: {type(exc).__name__}: {exc}")
            done.add(pk)
        for name, path, extra in (
            ("board", "/board/", cookie),
            ("healthz", "/healthz", None),
        ):
            status = fetch(base + path, extra)
            http[name][0] += 1
            http[name][1] += status != 200
        if time.monotonic() - last_report >= 300:
            last_report = time.monotonic()
            say(f"{len(due)} visits late so far, {len(alerted)} alerted, {len(done)} minuted")
        time.sleep(1)

    # Let the last ones be alerted before counting.
    time.sleep(MISSED_AFTER)
    now = timezone.now()
    for esc in Escalation.objects.filter(visit_id__in=list(due)).values("visit_id", "raised_at"):
        alerted.setdefault(
            esc["visit_id"], (esc["raised_at"] - due[esc["visit_id"]]).total_seconds()
        )
    missed = [pk for pk, d in due.items() if pk not in alerted and (now - d).total_seconds() > 0]
    twice = (
        Escalation.objects.filter(visit_id__in=list(due))
        .values("visit_id")
        .annotate(n=django.db.models.Count("id"))
        .filter(n__gt=1)
        .count()
    )

    say("stopping the stack as Ctrl-C does")
    stop_started = time.monotonic()
    stack.send_signal(signal.SIGINT)
    try:
        stack.wait(timeout=60)
    except subprocess.TimeoutExpired:
        stack.kill()
        stack.wait()
    stop_took = time.monotonic() - stop_started
    log.close()
    output = log_path.read_text(errors="replace")
    counts = {label: len(re.findall(pattern, output)) for label, pattern in PATTERNS.items()}
    lags = list(alerted.values())

    print()
    print("== make run soak ==")
    print(
        f"when: {time.strftime('%Y-%m-%d %H:%M %Z')}; {args.minutes:g} minutes; SQLite and the "
        "filesystem broker (make run's defaults); one visit running late every "
        f"{args.every:g} s"
    )
    for label, count in counts.items():
        print(f"{label}: {count}")
    print(
        f"visits late: {len(due)}; alerted: {len(alerted)}; missed: {len(missed)}; "
        f"alerted twice: {twice}; checked in, minuted: {len(done)}"
    )
    print(
        f"deadline-to-alert: p50 {percentile(lags, 50):.2f} s, p99 {percentile(lags, 99):.2f} s, "
        f"max {max(lags, default=float('nan')):.2f} s"
    )
    for name, (total, failed) in http.items():
        print(f"GET {name}: {total} requests, {failed} not 200")
    print(f"soak's own errors (check-in, minutes): {len(bench_errors)}")
    for line in bench_errors[:5]:
        print(f"  {line}")
    print(f"stack stopped in {stop_took:.1f} s (exit code {stack.returncode})")
    print(f"output of the stack: {log_path}")
    bad = (
        counts["processes stopped and restarted"]
        + counts["'database is locked'"]
        + counts["broker errors (half-read message)"]
        + len(missed)
        + twice
    )
    verdict = "met" if not bad else "MISSED"
    print(f"targets: 0 crashes, 0 lock errors, 0 broker errors, 0 missed: {verdict}")
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
