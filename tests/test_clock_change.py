"""Times are instants in UTC, judged in Europe/London: summer time and the clock changes."""

import datetime
import zoneinfo

import pytest
import time_machine
from django.urls import reverse

from visits import services
from visits.rules import RuleBroken

from .conftest import make_visit

LONDON = zoneinfo.ZoneInfo("Europe/London")


def _at(*args):
    return datetime.datetime(*args, tzinfo=LONDON)


@pytest.fixture
def in_june():
    # 1 June 2027, 08:00 BST (07:00 UTC): everything below is planned from here.
    with time_machine.travel(_at(2027, 6, 1, 8, 0), tick=False):
        yield


def _lone_visit(pupil, office, visitor, start, end):
    return make_visit(
        pupil=pupil,
        by=office,
        staff=[visitor],
        details={"planned_start": start, "expected_end": end},
    )


def test_p15_evening_is_judged_in_british_summer_time(in_june, pupil, office, visitor):
    # 16:30-17:15 BST is 15:30-16:15 UTC: judged in UTC it would wrongly end "before 17:00".
    visit = _lone_visit(pupil, office, visitor, _at(2027, 6, 1, 16, 30), _at(2027, 6, 1, 17, 15))
    with pytest.raises(RuleBroken, match=r"\(P15\)"):
        services.visit_submit(visit=visit, by=office)


def test_p15_lone_visit_ending_before_a_summer_evening_passes(in_june, pupil, office, visitor):
    visit = _lone_visit(pupil, office, visitor, _at(2027, 6, 1, 16, 0), _at(2027, 6, 1, 16, 55))
    assert services.visit_submit(visit=visit, by=office).status == "submitted"


def test_p11_schedule_on_the_spring_clock_change_day_holds_the_whole_local_day(
    client, pupil, office, visitor, partner
):
    # 28 March 2027: clocks go forward at 01:00 GMT; the local day is 23 hours long.
    with time_machine.travel(_at(2027, 3, 26, 9, 0), tick=False):
        early = make_visit(
            pupil=pupil,
            by=office,
            staff=[visitor, partner],
            details={
                "planned_start": _at(2027, 3, 28, 0, 30),
                "expected_end": _at(2027, 3, 28, 0, 50),
            },
            submit=True,
        )
        late = make_visit(
            pupil=pupil,
            by=office,
            staff=[visitor, partner],
            details={
                "planned_start": _at(2027, 3, 28, 23, 30),
                "expected_end": _at(2027, 3, 28, 23, 50),
                "address": "Late Lane",
            },
            submit=True,
        )
        next_day = make_visit(
            pupil=pupil,
            by=office,
            staff=[visitor, partner],
            details={
                "planned_start": _at(2027, 3, 29, 0, 10),
                "expected_end": _at(2027, 3, 29, 0, 40),
                "address": "Tomorrow Terrace",
            },
            submit=True,
        )
        client.force_login(office)
        response = client.get(reverse("schedule") + "?day=2027-03-28")

    days = response.context["days"]
    assert list(days[0][1]) == [early, late]
    assert list(days[1][1]) == [next_day]
    assert "00:30–00:50" in response.content.decode()
    assert "23:30–23:50" in response.content.decode()


def test_p7_a_visit_across_the_autumn_clock_change_keeps_its_real_length(
    pupil, office, visitor, partner
):
    # 31 October 2027: 01:00-02:00 happens twice. 00:30 BST to 01:30 GMT is two real hours.
    with time_machine.travel(_at(2027, 10, 29, 9, 0), tick=False):
        start = datetime.datetime(2027, 10, 30, 23, 30, tzinfo=datetime.UTC)  # 00:30 BST
        end = datetime.datetime(2027, 10, 31, 1, 30, tzinfo=datetime.UTC)  # 01:30 GMT
        visit = make_visit(
            pupil=pupil,
            by=office,
            staff=[visitor, partner],
            details={"planned_start": start, "expected_end": end},
            submit=True,
        )
    visit.refresh_from_db()
    assert visit.expected_end - visit.planned_start == datetime.timedelta(hours=2)
    assert visit.planned_start.astimezone(LONDON).strftime("%H:%M %Z") == "00:30 BST"
    assert visit.expected_end.astimezone(LONDON).strftime("%H:%M %Z") == "01:30 GMT"
