"""How fast the pupil's file (A2) and the policy monitoring page (A9) render with ten years of
records for a 1,500-pupil school.

    .venv/bin/python bench/records_pages.py [--years 10] [--pupils 1500] [--visits-per-year 3000]

Builds its own database: PostgreSQL from DATABASE_URL, by default
postgres://postgres@127.0.0.1:5432/homevisits_records_bench (dropped and created again, so its
name must contain "bench"), or SQLite with DATABASE_URL=sqlite:///<file> (the file is replaced).
Runs the migrations and bulk-creates one school's visits over the years, with their staff,
authorisations, view permissions (A8), minutes, actions, addenda, copies sent, debriefs,
concerns and overdue alerts. Then renders each page through Django's test Client, logged in as
the DSL (who sees most), --runs times, and prints p50/p95/max render time and the queries each
request made. Target: p95 under 300 ms. The database is dropped at the end unless --keep-db.
"""

import argparse
import datetime
import os
import platform
import random
import signal
import sys
import time
import warnings
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.escalation_latency import (  # noqa: E402  (needs ROOT on the path)
    drop_database,
    percentile,
    recreate_database,
    say,
)

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/homevisits_records_bench"
TARGET_P95_MS = 300.0
BATCH = 5000


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--years", type=int, default=10)
    parser.add_argument("--pupils", type=int, default=1500)
    parser.add_argument("--visits-per-year", type=int, default=3000)
    parser.add_argument(
        "--busy-visits", type=int, default=300, help="visits of the busiest pupil over the years"
    )
    parser.add_argument("--runs", type=int, default=30, help="requests timed per page")
    parser.add_argument("--keep-db", action="store_true", help="keep the database afterwards")
    return parser.parse_args()


# --- The data --------------------------------------------------------------------------------


def people(school):
    from django.contrib.auth import get_user_model

    from schools.models import Membership, Role, StaffProfile

    User = get_user_model()

    def person(username, *roles):
        # No password: hashing 70 of them would take longer than the rest of the build.
        user = User.objects.create_user(
            username=username, first_name=username.capitalize(), last_name="Bench"
        )
        StaffProfile.objects.create(user=user, mobile="07700 900000")
        for role in roles:
            Membership.objects.create(user=user, school=school, role=role)
        return user

    return {
        "office": [person(f"office{i}", Role.OFFICE) for i in range(3)],
        "head": person("head", Role.HEADTEACHER),
        "dsl": person("dsl", Role.DSL, Role.VISITING_STAFF),
        "deputy": person("deputy", Role.DEPUTY_DSL, Role.VISITING_STAFF),
        "slt": [person(f"slt{i}", Role.SLT) for i in range(2)],
        "staff": [person(f"staff{i}", Role.VISITING_STAFF) for i in range(60)],
    }


def build(args):
    """Ten years (by default) of one school's records; returns (school, people, busy pupil,
    typical pupils, counts)."""
    from django.contrib.auth.models import Permission
    from django.contrib.contenttypes.models import ContentType
    from django.utils import timezone
    from guardian.models import GroupObjectPermission, UserObjectPermission

    from escalation.models import Escalation, Kind, Step
    from safeguarding.models import (
        Action,
        ActionStatus,
        Addendum,
        Concern,
        ConcernStatus,
        CopySent,
        Debrief,
        Minutes,
    )
    from schools.models import Pupil, School
    from schools.services import school_oversight_group
    from visits.models import Authorisation, DoorReason, Purpose, Status, Visit, VisitStaff

    rng = random.Random(4)
    school = School.objects.create(name="Bench Academy", slug="bench-records")
    who = people(school)
    staff = who["staff"] + [who["dsl"], who["deputy"]]
    pupils = Pupil.objects.bulk_create(
        [
            Pupil(
                school=school,
                upn=f"R{i:012d}",
                first_name=f"Pupil{i}",
                last_name="Bench",
                date_of_birth=datetime.date(2012, 1, 1) + datetime.timedelta(days=i % 2000),
                address=f"{i} Bench Street\nManchester",
                postcode="M1 1AA",
            )
            for i in range(args.pupils)
        ],
        batch_size=BATCH,
    )
    busy = pupils[0]

    now = timezone.now()
    today = timezone.localdate(now)
    first_day = today - datetime.timedelta(days=365 * args.years)
    total = args.years * args.visits_per_year
    purposes = list(Purpose.values)
    tz = timezone.get_current_timezone()

    def moment(day, hour):
        return datetime.datetime.combine(day, datetime.time(hour, rng.choice((0, 15, 30))), tz)

    plans = []  # (visit, staff list, lone, fate)
    for index in range(total):
        # The busy pupil is visited every fortnight or so; the rest spread evenly.
        pupil = busy if index < args.busy_visits else pupils[1 + index % (len(pupils) - 1)]
        day = first_day + datetime.timedelta(days=rng.randrange(365 * args.years + 14))
        while day.weekday() >= 5:
            day -= datetime.timedelta(days=1)
        start = moment(day, rng.randint(9, 15))
        lone = rng.random() < 0.1
        team = rng.sample(staff, 1 if lone else 2)
        future = start > now
        roll = rng.random()
        if future:
            fate = "submitted" if roll < 0.4 else "authorised"
        elif roll < 0.03:
            fate = "refused"
        elif roll < 0.07:
            fate = "cancelled"
        elif roll < 0.10:
            fate = "door"
        elif roll < 0.12 or start > now - datetime.timedelta(days=10):
            fate = "completed"  # minutes or debrief still to come
        else:
            fate = "closed"
        status = {
            "submitted": Status.SUBMITTED,
            "authorised": Status.AUTHORISED,
            "refused": Status.REFUSED,
            "cancelled": Status.CANCELLED,
            "door": Status.CANCELLED,
            "completed": Status.COMPLETED,
            "closed": Status.CLOSED,
        }[fate]
        carried_out = fate in ("door", "completed", "closed")
        door_reason = ""
        if fate == "door":
            door_reason = rng.choice(list(DoorReason.values))
        visit = Visit(
            school=school,
            pupil=pupil,
            status=status,
            purpose=rng.choice(purposes),
            purpose_detail="Benchmark visit: attendance has dropped this half term.",
            parent_could_come_to_school=False,
            planned_start=start,
            expected_end=start + datetime.timedelta(hours=1),
            reporting_arrangements="Phone the office on arrival and on leaving.",
            address=pupil.address,
            visit_type="doorstop",
            announced=True,
            created_by=who["office"][index % 3],
            created_at=start - datetime.timedelta(days=3),
            submitted_at=start - datetime.timedelta(days=3),
            authorised_at=start - datetime.timedelta(days=2) if fate != "refused" else None,
            refused_at=start - datetime.timedelta(days=2) if fate == "refused" else None,
            arrived_at=start + datetime.timedelta(minutes=5) if carried_out else None,
            left_at=start + datetime.timedelta(minutes=50) if carried_out else None,
            completed_at=start + datetime.timedelta(minutes=50) if carried_out else None,
            closed_at=start + datetime.timedelta(days=2) if fate == "closed" else None,
            cancelled_at=start if fate in ("cancelled", "door") else None,
            cancel_reason="Family moved the meeting into school." if fate == "cancelled" else "",
            door_reason=door_reason,
        )
        plans.append((visit, team, lone, fate))
    plans.sort(key=lambda plan: plan[0].planned_start)
    visits = Visit.objects.bulk_create([plan[0] for plan in plans], batch_size=BATCH)
    say(f"{len(visits)} visits")

    VisitStaff.objects.bulk_create(
        [
            VisitStaff(visit=visit, user=user, mobile="07700 900000", position=position)
            for visit, team, _, _ in plans
            for position, user in enumerate(team, start=1)
        ],
        batch_size=BATCH,
    )
    # A8: what visits.permissions.visit_sync_permissions grants, row for row.
    view = Permission.objects.get(codename="view_visit", content_type__app_label="visits")
    visit_type = ContentType.objects.get_for_model(Visit)
    group = school_oversight_group(school=school)
    GroupObjectPermission.objects.bulk_create(
        [
            GroupObjectPermission(
                permission=view, content_type=visit_type, object_pk=str(v.pk), group=group
            )
            for v in visits
        ],
        batch_size=BATCH,
    )
    UserObjectPermission.objects.bulk_create(
        [
            UserObjectPermission(
                permission=view, content_type=visit_type, object_pk=str(visit.pk), user=user
            )
            for visit, team, _, _ in plans
            for user in {*team, visit.created_by}
        ],
        batch_size=BATCH,
    )
    approver = [who["head"], who["dsl"], who["deputy"]]
    Authorisation.objects.bulk_create(
        [
            Authorisation(
                visit=visit,
                decision="refused" if fate == "refused" else "approved",
                decided_by=approver[visit.pk % 3],
                decided_as="headteacher",
                decided_at=visit.authorised_at or visit.refused_at,
                lone_visit_reason="Partner off sick; doorstop only." if lone else "",
                visit_version=1,
                snapshot={},
            )
            for visit, team, lone, fate in plans
            if fate != "submitted"
        ],
        batch_size=BATCH,
    )
    say("staff, permissions and authorisations")

    written = [
        (visit, team)
        for visit, team, _, fate in plans
        if fate == "closed" or (fate == "completed" and visit.pk % 2)
    ]
    minutes = Minutes.objects.bulk_create(
        [
            Minutes(
                visit=visit,
                status="submitted",
                revision=12,
                present=[
                    {"name": "Mother", "relationship": "Mother", "parental_responsibility": True}
                ],
                child_seen=visit.pk % 7 != 0,
                child_spoken_to=visit.pk % 7 != 0,
                child_voice="Said school is fine but mornings are hard.",
                discussed="Attendance since half term, the morning routine, and the bus pass. " * 4,
                follow_up="Phone mother on Friday.",
                started_by=team[0],
                started_at=visit.left_at,
                updated_by=team[0],
                updated_at=visit.left_at + datetime.timedelta(hours=1),
                submitted_by=team[0],
                submitted_at=visit.left_at + datetime.timedelta(hours=1),
            )
            for visit, team in written
        ],
        batch_size=BATCH,
    )
    teams = dict(written)
    actions = []
    for m in minutes:
        visit = m.visit
        due = timezone.localdate(m.submitted_at) + datetime.timedelta(days=14)
        still_open = due >= today or rng.random() < 0.01  # a few left overdue
        actions.append(
            Action(
                school=school,
                pupil_id=visit.pupil_id,
                minutes=m,
                description="Check attendance for the next two weeks and phone home.",
                owner=teams[visit][0],
                due_on=due,
                status=ActionStatus.OPEN if still_open else ActionStatus.DONE,
                created_by=teams[visit][0],
                created_at=m.submitted_at,
                done_by=None if still_open else teams[visit][0],
                done_at=None if still_open else m.submitted_at + datetime.timedelta(days=10),
                outcome="" if still_open else "Attendance back above 95%.",
            )
        )
    Addendum.objects.bulk_create(
        [
            Addendum(
                minutes=m,
                text="Mother rang: the bus pass arrived.",
                by=m.submitted_by,
                at=m.submitted_at + datetime.timedelta(days=1),
            )
            for m in minutes
            if m.pk % 20 == 0
        ],
        batch_size=BATCH,
    )
    CopySent.objects.bulk_create(
        [
            CopySent(
                minutes=m,
                version="redacted",
                recipient="parent",
                recipient_name="Mother",
                method="email",
                sent_at=m.submitted_at + datetime.timedelta(hours=2),
                recorded_by=m.submitted_by,
            )
            for m in minutes
            if m.pk % 3 == 0
        ],
        batch_size=BATCH,
    )
    Debrief.objects.bulk_create(
        [
            Debrief(
                visit=visit,
                led_by=who["dsl"],
                led_as="dsl",
                held_at=visit.left_at + datetime.timedelta(days=1),
                agreed="Keep visiting fortnightly.",
                recorded_by=who["dsl"],
            )
            for visit, _, _, fate in plans
            if fate == "closed"
        ],
        batch_size=BATCH,
    )
    carried = [(visit, team) for visit, team, _, fate in plans if visit.arrived_at]
    concerns = Concern.objects.bulk_create(
        [
            Concern(
                school=school,
                pupil_id=visit.pupil_id,
                visit=visit,
                account="Bruise on the forearm; said it happened at football.",
                status=ConcernStatus.CLOSED,
                raised_by=team[0],
                raised_at=visit.left_at + datetime.timedelta(minutes=30),
                category="physical",
                referral="none",
                triaged_by=who["dsl"],
                triaged_at=visit.left_at + datetime.timedelta(hours=2),
                outcome="Explained; no further action.",
                closed_by=who["dsl"],
                closed_at=visit.left_at + datetime.timedelta(days=3),
            )
            for visit, team in carried
            if visit.pk % 30 == 0 or (visit.pupil_id == busy.pk and visit.pk % 4 == 0)
        ],
        batch_size=BATCH,
    )
    for concern in concerns:
        due = timezone.localdate(concern.raised_at) + datetime.timedelta(days=7)
        actions.append(
            Action(
                school=school,
                pupil_id=concern.pupil_id,
                concern=concern,
                description="Speak to the class teacher.",
                owner=who["deputy"],
                due_on=due,
                status=ActionStatus.DONE if due < today else ActionStatus.OPEN,
                created_by=who["dsl"],
                created_at=concern.triaged_at,
            )
        )
    Action.objects.bulk_create(actions, batch_size=BATCH)
    escalations = []
    for visit, _ in carried:
        if visit.pk % 100 and not (visit.pupil_id == busy.pk and visit.pk % 10 == 0):
            continue
        deadline = visit.expected_end + datetime.timedelta(minutes=15)
        response = datetime.timedelta(seconds=rng.randint(20, 600))
        police = rng.random() < 0.1
        escalations.append(
            Escalation(
                school=school,
                visit=visit,
                kind=Kind.RETURN,
                deadline=deadline,
                step=Step.POLICE if police else Step.OFFICE,
                raised_at=deadline,
                acknowledged_at=deadline + response,
                acknowledged_by=who["office"][0],
                police_step_at=deadline + datetime.timedelta(minutes=15) if police else None,
                resolved_at=deadline + response + datetime.timedelta(minutes=5),
                resolved_by=who["office"][0],
                resolution="Staff reached: safe.",
            )
        )
    Escalation.objects.bulk_create(escalations, batch_size=BATCH)
    counts = {
        "visits": len(visits),
        "minutes": len(minutes),
        "actions": len(actions),
        "concerns": len(concerns),
        "alerts": len(escalations),
        "busy pupil's visits": sum(1 for v in visits if v.pupil_id == busy.pk),
    }
    typical = pupils[1:6]
    return school, who, busy, typical, counts


# --- Timing ----------------------------------------------------------------------------------


def timed(client, url, runs):
    """(render times in ms, queries per request) of `runs` GETs of `url`, after one warm-up."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    response = client.get(url)
    assert response.status_code == 200, (url, response.status_code)
    times, queries = [], set()
    for _ in range(runs):
        with CaptureQueriesContext(connection) as captured:
            started = time.perf_counter()
            response = client.get(url)
            if response.streaming:
                b"".join(response.streaming_content)
            elapsed = time.perf_counter() - started
        assert response.status_code == 200, (url, response.status_code)
        times.append(elapsed * 1000)
        queries.add(len(captured))
    return times, queries


def line(label, times, queries):
    p95 = percentile(times, 95)
    verdict = "ok" if p95 < TARGET_P95_MS else "OVER TARGET"
    count = "/".join(str(q) for q in sorted(queries))
    return (
        f"{label:<52} p50 {percentile(times, 50):6.1f} ms  p95 {p95:6.1f} ms  "
        f"max {max(times):6.1f} ms  queries {count:>5}  {verdict}"
    )


def main():
    args = parse_args()
    database_url = os.environ.get("DATABASE_URL") or DEFAULT_DATABASE_URL
    os.environ.update(
        DATABASE_URL=database_url, DJANGO_SETTINGS_MODULE="homevisits.settings", CONN_MAX_AGE="0"
    )
    os.environ.setdefault("SECRET_KEY", "records-bench-only-secret")
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    # Static files are served by the storage below; WhiteNoise's missing STATIC_ROOT is noise.
    warnings.filterwarnings("ignore", message="No directory at", module="django.core.handlers")
    postgres = database_url.startswith("postgres")
    if postgres:
        db_name, maintenance, engine = recreate_database(database_url)
        engine = f"PostgreSQL {engine}"
    else:
        path = Path(urlsplit(database_url).path)
        if "bench" not in path.name:
            sys.exit(f"Refusing to replace {path}: its name must contain 'bench'.")
        path.unlink(missing_ok=True)
        engine = "SQLite"

    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection, connections
    from django.test import Client
    from django.urls import reverse
    from django.utils import timezone

    from safeguarding.selectors import term_of

    # The test Client's host, and static files without collectstatic (as tests/conftest.py).
    # No setup_test_environment(): it instruments every template render to record contexts
    # for tests, which costs more than the rendering itself on a page of 50 entries.
    settings.ALLOWED_HOSTS = ["testserver"]
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    try:
        say(f"database ready ({engine}); migrating")
        call_command("migrate", verbosity=0)
        started = time.perf_counter()
        school, who, busy, typical, counts = build(args)
        if postgres:
            with connection.cursor() as cursor:
                cursor.execute("ANALYZE")
        built = time.perf_counter() - started
        say(f"built in {built:.0f} s: " + ", ".join(f"{v} {k}" for k, v in counts.items()))

        client = Client()
        client.force_login(who["dsl"])
        today = timezone.localdate()
        term = term_of(today)
        last_term = term_of(term.start - datetime.timedelta(days=1))
        first = today - datetime.timedelta(days=365 * args.years + 30)
        file_url = lambda pupil: reverse("pupil-file", args=[pupil.pk])  # noqa: E731
        pages = [
            ("pupil file, busiest pupil (DSL)", [file_url(busy)]),
            ("pupil file, busiest pupil, page 4 (DSL)", [file_url(busy) + "?page=4"]),
            (
                "pupil file, busiest pupil, minutes of last year (DSL)",
                [
                    file_url(busy)
                    + f"?kind=minutes&date_from={today - datetime.timedelta(days=365)}"
                ],
            ),
            (
                "pupil file, busiest pupil, open actions (DSL)",
                [file_url(busy) + "?open_actions=on"],
            ),
            ("pupil file, 5 typical pupils (DSL)", [file_url(p) for p in typical]),
            ("monitoring, this term", [reverse("monitoring")]),
            ("monitoring, last term", [reverse("monitoring") + f"?term={last_term.key}"]),
            (
                f"monitoring, all {args.years} years",
                [reverse("monitoring") + f"?date_from={first}&date_to={today}"],
            ),
            (
                f"monitoring CSV, all {args.years} years",
                [reverse("monitoring-export") + f"?date_from={first}&date_to={today}"],
            ),
        ]
        results = []
        for label, urls in pages:
            times, queries = [], set()
            for url in urls:
                more, seen = timed(client, url, max(1, args.runs // len(urls)))
                times += more
                queries |= seen
            results.append(line(label, times, queries))
            say(results[-1])
        office = Client()
        office.force_login(who["office"][0])
        times, queries = timed(office, file_url(busy), args.runs)
        results.append(line("pupil file, busiest pupil (office)", times, queries))
        staff = Client()
        staff.force_login(who["staff"][0])
        times, queries = timed(staff, file_url(busy), args.runs)
        results.append(line("pupil file, busiest pupil (visiting staff)", times, queries))
    finally:
        connections.close_all()
        if postgres and not args.keep_db:
            drop_database(db_name, maintenance)

    print(
        "\n".join(
            [
                "",
                "== Records pages benchmark ==",
                f"when: {time.strftime('%Y-%m-%d %H:%M %Z')} on {platform.node()} "
                f"({os.cpu_count()} CPUs), {engine}",
                f"data: {args.pupils} pupils, {args.years} years, "
                + ", ".join(f"{v} {k}" for k, v in counts.items())
                + f" (built in {built:.0f} s)",
                f"each page: {args.runs} requests through Django's test Client, after a warm-up; "
                f"target p95 < {TARGET_P95_MS:.0f} ms",
                *results,
            ]
        ),
        flush=True,
    )
    return 1 if any("OVER TARGET" in r for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
