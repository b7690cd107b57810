"""Nothing a person does holds up another visit's alert (E1): locks on PostgreSQL.

A check-in locks its visit's row, and only that row: a check-in whose transaction stalls (a
slow phone connection, a stuck web process) must not hold the sweep's alerts for other visits,
of its school or another, nor another check-in of its school. Once the check-in locked the
school's row too, and the sweep's commit waited on it: alerts came up to 18 s late.

The stalled check-in runs in a thread of its own (its own connection), paused inside its
transaction; the sweep runs here meanwhile. These need PostgreSQL's row locks: SQLite takes one
writer at a time, whatever the code does.
"""

import datetime
import threading

import pytest
from django.conf import settings
from django.db import connection

from escalation.models import Escalation
from escalation.services import sweep
from schools.models import Role
from visits import services
from visits.services import checkins

from .conftest import make_visit
from .factories import PupilFactory, member

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        not settings.DATABASES["default"]["ENGINE"].endswith("postgresql"),
        reason="row locks across connections need PostgreSQL (SQLite has one writer at a time)",
    ),
]

MINUTE = datetime.timedelta(minutes=1)
HOLD_SECONDS = 20


def _authorised(*, school, by, staff, authoriser, day_offset=1, hour=10):
    pupil = PupilFactory(school=school)
    visit = make_visit(pupil=pupil, by=by, staff=staff, submit=True)
    visit = services.visit_authorise(
        visit=visit, by=authoriser, expected_version=visit.version, confirmed=True
    )
    return visit


def _on_site(visit, by):
    services.visit_arrive(visit=visit, by=by, now=visit.planned_start + 5 * MINUTE)
    visit.refresh_from_db()
    return visit


class StalledCheckIn:
    """visit_arrive in a thread, paused inside its transaction (after its visit is locked and
    moved) until released, as a request whose client stopped answering would be."""

    def __init__(self, monkeypatch, *, visit, by):
        self.inside = threading.Event()
        self.release = threading.Event()
        self.error = None
        real = checkins._answer_alert

        def pause(visit, **kwargs):
            self.inside.set()
            self.release.wait(HOLD_SECONDS)
            return real(visit, **kwargs)

        monkeypatch.setattr(checkins, "_answer_alert", pause)

        def run():
            try:
                services.visit_arrive(visit=visit, by=by, now=visit.planned_start)
            except Exception as exc:  # reported by the test, not lost in the thread
                self.error = exc
            finally:
                connection.close()

        self.thread = threading.Thread(target=run)

    def __enter__(self):
        self.thread.start()
        assert self.inside.wait(10), "the check-in never reached its transaction"
        return self

    def __exit__(self, *exc):
        self.release.set()
        self.thread.join(HOLD_SECONDS + 5)
        assert self.error is None, self.error

    def still_held(self):
        return self.thread.is_alive() and not self.release.is_set()


@pytest.fixture
def other_staff(other_school):
    return (
        member(other_school, Role.VISITING_STAFF, username="o-visitor", mobile="07700 900301"),
        member(other_school, Role.VISITING_STAFF, username="o-partner", mobile="07700 900302"),
        member(other_school, Role.HEADTEACHER, Role.OFFICE, username="o-head"),
    )


def test_e1_a_stalled_check_in_holds_up_no_alert_of_its_school_or_another(
    monkeypatch, school, other_school, office, head, visitor, partner, other_staff
):
    o_visitor, o_partner, o_head = other_staff
    stalled = _authorised(school=school, by=office, staff=[visitor, partner], authoriser=head)
    same_school = _on_site(
        _authorised(school=school, by=office, staff=[visitor, partner], authoriser=head),
        visitor,
    )
    other = _on_site(
        _authorised(
            school=other_school, by=o_head, staff=[o_visitor, o_partner], authoriser=o_head
        ),
        o_visitor,
    )
    due = max(same_school.next_deadline, other.next_deadline)

    with StalledCheckIn(monkeypatch, visit=stalled, by=visitor) as check_in:
        result = sweep(now=due)
        # The sweep committed both alerts while the check-in still held its transaction.
        assert check_in.still_held()
        assert result["raised"] == 2
        assert set(Escalation.objects.values_list("visit_id", flat=True)) == {
            same_school.pk,
            other.pk,
        }


def test_d1_a_stalled_check_in_does_not_hold_another_check_in_of_its_school(
    monkeypatch, school, office, head, visitor, partner
):
    stalled = _authorised(school=school, by=office, staff=[visitor, partner], authoriser=head)
    another = _authorised(school=school, by=office, staff=[visitor, partner], authoriser=head)

    with StalledCheckIn(monkeypatch, visit=stalled, by=visitor) as check_in:
        monkeypatch.undo()  # this check-in runs through
        services.visit_arrive(visit=another, by=partner, now=another.planned_start)
        assert check_in.still_held()
    another.refresh_from_db()
    assert another.arrived_at is not None


def test_the_databases_waits_are_bounded_for_every_connection(db):
    """A lock waited for, a statement and a transaction left idle are all cut off (settings)."""
    with connection.cursor() as cursor:
        values = {}
        for name in ("lock_timeout", "statement_timeout", "idle_in_transaction_session_timeout"):
            cursor.execute(f"SHOW {name}")
            values[name] = cursor.fetchone()[0]
    assert values == {
        "lock_timeout": "5s",
        "statement_timeout": "30s",
        "idle_in_transaction_session_timeout": "10s",
    }
