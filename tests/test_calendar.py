"""The school calendar (A7, E1): school days, office hours, and the page where the headteacher
and the office keep the terms and closure days.

Bank holidays are fixed dates, so the calendar's own rules are tried on fixed days of 2026
(Europe/London): the clocks go forward on Sun 29 March and back on Sun 25 October; Good Friday
is 3 April and Easter Monday 6 April; St Andrew's Day, Mon 30 November, is a bank holiday in
Scotland only. The pages are tried relative to now().
"""

import datetime
import zoneinfo

import pytest
from django.urls import reverse
from django.utils import timezone

from schools import calendar
from schools.calendar import (
    calendar_prefetch,
    is_school_day,
    office_closed_periods,
    school_days_after,
)
from schools.models import CalendarChange, ClosureDay, ClosureReason, Nation, School, Term

from .factories import ClosureDayFactory, TermFactory, UserFactory, member

LONDON = zoneinfo.ZoneInfo("Europe/London")
UTC = datetime.UTC
HOUR = datetime.timedelta(hours=1)
D = datetime.date


def london(year, month, day, hour=0, minute=0):
    return datetime.datetime(year, month, day, hour, minute, tzinfo=LONDON)


def utc(year, month, day, hour=0, minute=0):
    return datetime.datetime(year, month, day, hour, minute, tzinfo=UTC)


def fresh(school):
    """The school as the next request or sweep reads it (its calendar is kept per instance)."""
    return School.objects.get(pk=school.pk)


@pytest.fixture
def autumn(school):
    """Autumn 2026 in two half terms, half term 26-30 October, and an INSET day."""
    TermFactory(school=school, name="Autumn 1", starts_on=D(2026, 9, 2), ends_on=D(2026, 10, 23))
    TermFactory(school=school, name="Autumn 2", starts_on=D(2026, 11, 2), ends_on=D(2026, 12, 18))
    ClosureDayFactory(school=school, date=D(2026, 11, 17), reason=ClosureReason.INSET)
    return fresh(school)


# --- School days ------------------------------------------------------------------------------


def test_a7_a_school_with_no_terms_counts_every_weekday_but_bank_holidays(school):
    assert is_school_day(school, D(2026, 8, 14))  # a Friday in the summer holidays
    assert not is_school_day(school, D(2026, 8, 15))  # Saturday
    assert not is_school_day(school, D(2026, 8, 31))  # Late Summer Bank Holiday


def test_a7_school_days_are_weekdays_in_term_but_not_closure_days(autumn):
    assert is_school_day(autumn, D(2026, 9, 2))  # first day of term
    assert is_school_day(autumn, D(2026, 10, 23))  # last day of the half term
    assert not is_school_day(autumn, D(2026, 9, 1))  # before the term
    assert not is_school_day(autumn, D(2026, 10, 27))  # half term
    assert not is_school_day(autumn, D(2026, 11, 17))  # INSET day
    assert is_school_day(autumn, D(2026, 11, 18))
    assert not is_school_day(autumn, D(2026, 12, 21))  # after the last recorded term


@pytest.mark.parametrize(
    "nation, day, school_day",
    [
        (Nation.SCOTLAND, D(2026, 11, 30), False),  # St Andrew's Day
        (Nation.ENGLAND, D(2026, 11, 30), True),
        (Nation.NORTHERN_IRELAND, D(2026, 3, 17), False),  # St Patrick's Day
        (Nation.WALES, D(2026, 3, 17), True),
        (Nation.SCOTLAND, D(2026, 1, 2), False),  # 2 January
        (Nation.ENGLAND, D(2026, 1, 2), True),
    ],
)
def test_a7_e1_bank_holidays_are_those_of_the_schools_nation(school, nation, day, school_day):
    school.nation = nation
    school.save()
    assert is_school_day(fresh(school), day) is school_day


def test_a7_bank_holidays_are_worked_out_once_per_nation_and_year():
    calendar._bank_holidays.cache_clear()
    for _ in range(3):
        assert D(2027, 12, 27) in calendar.bank_holidays(Nation.ENGLAND, 2027)  # Christmas obs.
    info = calendar._bank_holidays.cache_info()
    assert (info.misses, info.hits) == (1, 2)


# --- Office hours (E1) -------------------------------------------------------------------------


def test_e1_office_is_open_on_a_school_day_between_its_hours(school):
    assert school.office_is_open(london(2026, 11, 18, 8))
    assert school.office_is_open(london(2026, 11, 18, 16, 59))
    assert not school.office_is_open(london(2026, 11, 18, 7, 59))
    assert not school.office_is_open(london(2026, 11, 18, 17))


def test_e1_office_is_closed_on_a_bank_holiday(school):
    assert not school.office_is_open(london(2026, 4, 6, 10))  # Easter Monday
    assert school.office_is_open(london(2026, 4, 7, 10))


def test_e1_office_is_closed_in_the_school_holidays_and_on_an_inset_day(autumn):
    assert not autumn.office_is_open(london(2026, 10, 28, 10))  # half term
    assert not autumn.office_is_open(london(2026, 11, 17, 10))  # INSET day
    assert autumn.office_is_open(london(2026, 11, 18, 10))


def test_e1_office_hours_are_london_hours_on_both_sides_of_both_clock_changes(school):
    # Before the spring change, 08:30 in London is 08:30 UTC; after it, 07:30 UTC.
    assert school.office_is_open(utc(2026, 3, 27, 8, 30))
    assert not school.office_is_open(utc(2026, 3, 27, 7, 30))
    assert school.office_is_open(utc(2026, 3, 30, 7, 30))
    assert not school.office_is_open(utc(2026, 3, 30, 16, 30))  # 17:30 BST
    # Before the autumn change, 16:30 UTC is 17:30 BST (closed); after it, 16:30 GMT (open).
    assert not school.office_is_open(utc(2026, 10, 23, 16, 30))
    assert school.office_is_open(utc(2026, 10, 26, 16, 30))


def test_e1_office_closed_periods_cross_both_clock_changes_bank_holidays_and_weekends(school):
    """Spans are real hours: a weekend over a clock change is an hour shorter or longer."""
    spring = office_closed_periods(school, london(2026, 3, 27, 12), london(2026, 4, 8, 12))
    assert spring[0] == (london(2026, 3, 27, 17), london(2026, 3, 30, 8))
    assert spring[0][1] - spring[0][0] == 62 * HOUR  # Fri 17:00 GMT to Mon 08:00 BST
    # Good Friday, the weekend and Easter Monday: one closed span from Thursday evening.
    easter = (london(2026, 4, 2, 17), london(2026, 4, 7, 8))
    assert easter in spring
    assert easter[1] - easter[0] == 111 * HOUR
    assert all(start.tzinfo == UTC and end.tzinfo == UTC for start, end in spring)

    autumn = office_closed_periods(school, london(2026, 10, 23, 12), london(2026, 10, 26, 12))
    assert autumn == [(london(2026, 10, 23, 17), london(2026, 10, 26, 8))]
    assert autumn[0][1] - autumn[0][0] == 64 * HOUR  # Fri 17:00 BST to Mon 08:00 GMT


def test_e1_office_hours_cost_no_query_out_of_hours_and_one_per_school_in_hours(
    school, django_assert_num_queries
):
    school = fresh(school)
    with django_assert_num_queries(0):
        assert not school.office_is_open(london(2026, 11, 18, 20))
        assert not school.office_is_open(london(2026, 11, 21, 10))  # Saturday
        assert not school.office_is_open(london(2026, 12, 25, 10))  # Christmas Day
    with django_assert_num_queries(1):
        assert school.office_is_open(london(2026, 11, 18, 10))
        assert school.office_is_open(london(2026, 11, 19, 10))


def test_e1_a_prefetched_calendar_costs_no_query(autumn, django_assert_num_queries):
    from schools.models import Pupil

    from .factories import PupilFactory

    PupilFactory(school=autumn)
    [school] = School.objects.prefetch_related(*calendar_prefetch())
    [pupil] = Pupil.objects.select_related("school").prefetch_related(*calendar_prefetch("school"))
    with django_assert_num_queries(0):
        assert not school.office_is_open(london(2026, 11, 17, 10))  # INSET day
        assert pupil.school.office_is_open(london(2026, 11, 18, 10))


def test_e1_refreshing_a_school_reads_its_calendar_again(school):
    assert school.office_is_open(london(2026, 11, 17, 10))
    ClosureDayFactory(school=school, date=D(2026, 11, 17))
    school.refresh_from_db()
    assert not school.office_is_open(london(2026, 11, 17, 10))


def test_e1_a_naive_time_is_refused_rather_than_guessed(school):
    with pytest.raises(ValueError, match="aware"):
        school.office_is_open(datetime.datetime(2026, 11, 18, 10))


# --- Counting school days (A7) ---------------------------------------------------------------


def test_a7_school_days_after_cross_both_clock_changes_a_bank_holiday_and_a_weekend(school):
    # Friday before the spring change: the next school day is Monday, in summer time.
    end = school_days_after(school, london(2026, 3, 27, 15), 1)
    assert end == datetime.datetime(2026, 3, 30, 23, 59, 59, 999999, tzinfo=LONDON)
    assert end.utcoffset() == HOUR
    # Maundy Thursday: Good Friday, the weekend and Easter Monday are skipped.
    assert school_days_after(school, london(2026, 4, 2, 15), 1).date() == D(2026, 4, 7)
    assert school_days_after(school, london(2026, 4, 2, 15), 2).date() == D(2026, 4, 8)
    # Friday before the autumn change: Monday, in winter time.
    end = school_days_after(school, london(2026, 10, 23, 15), 1)
    assert end.date() == D(2026, 10, 26) and end.utcoffset() == datetime.timedelta(0)
    # The day of a moment is its London day: 23:30 UTC on Sunday 29 March is Monday in London.
    assert school_days_after(school, utc(2026, 3, 29, 23, 30), 0).date() == D(2026, 3, 30)


def test_a7_school_days_after_skip_holidays_and_inset_days(autumn):
    # Friday 23 October ends the half term: the next school day is Monday 2 November.
    assert school_days_after(autumn, london(2026, 10, 23, 15), 1).date() == D(2026, 11, 2)
    # Monday 16 November: Tuesday is an INSET day.
    assert school_days_after(autumn, london(2026, 11, 16, 15), 1).date() == D(2026, 11, 18)
    assert school_days_after(autumn, london(2026, 11, 16, 15), 0).date() == D(2026, 11, 16)


def test_a7_counting_past_the_last_recorded_term_still_ends(autumn):
    """No term is recorded after 18 December: a count runs on over weekdays rather than never
    ending (so a reminder is not lost), skipping bank holidays."""
    end = school_days_after(autumn, london(2026, 12, 18, 15), 3)
    assert end.date() == D(2026, 12, 23)
    assert school_days_after(autumn, london(2026, 12, 23, 15), 2).date() == D(2026, 12, 29)


def test_a7_school_days_between_counts_the_schools_days(autumn):
    assert calendar.school_days_between(autumn, D(2026, 11, 16), D(2026, 11, 18)) == 1
    assert calendar.school_days_between(autumn, D(2026, 10, 22), D(2026, 11, 3)) == 3
    assert calendar.school_days_between(autumn, D(2026, 9, 1), D(2026, 12, 1), at_most=2) == 2


# --- The calendar page -------------------------------------------------------------------------

KEEPERS = ["head", "office"]
NOT_KEEPERS = ["dsl", "deputy", "slt", "visitor", "school_admin", "no_role", "superuser"]


@pytest.fixture
def no_role(db):
    return UserFactory(username="norole")


@pytest.fixture
def superuser(db):
    """A Django superuser with no role at any school: no pass here either (A8)."""
    return UserFactory(username="root", is_superuser=True, is_staff=True)


@pytest.fixture
def entries(school):
    """A term and a closure day of this school."""
    today = timezone.localdate()
    term = TermFactory(
        school=school,
        name="This term",
        starts_on=today - datetime.timedelta(days=30),
        ends_on=today + datetime.timedelta(days=200),
    )
    closure = ClosureDay.objects.create(
        school=school, date=_next_weekday(today + datetime.timedelta(days=20)), reason="inset"
    )
    return term, closure


def _next_weekday(day):
    while day.weekday() >= 5 or day in calendar.bank_holidays(Nation.ENGLAND, day.year):
        day += datetime.timedelta(days=1)
    return day


def _urls(school, term, closure):
    """(method, url, data) of every calendar URL of `school`; POSTs that would change something."""
    day = _next_weekday(timezone.localdate() + datetime.timedelta(days=40))
    slug = school.slug
    return [
        ("get", reverse("calendar-home"), None),
        ("get", reverse("school-calendar", args=[slug]), None),
        ("get", reverse("term-add", args=[slug]), None),
        ("get", reverse("term-edit", args=[slug, term.pk]), None),
        ("get", reverse("closure-add", args=[slug]), None),
        ("get", reverse("closure-edit", args=[slug, closure.pk]), None),
        (
            "post",
            reverse("term-add", args=[slug]),
            {"name": "Next year", "starts_on": "2031-09-03", "ends_on": "2031-10-24"},
        ),
        (
            "post",
            reverse("term-edit", args=[slug, term.pk]),
            {"name": "Renamed", "starts_on": term.starts_on, "ends_on": term.ends_on},
        ),
        (
            "post",
            reverse("closure-add", args=[slug]),
            {"date": day.isoformat(), "reason": "other", "note": "Polling station"},
        ),
        (
            "post",
            reverse("closure-edit", args=[slug, closure.pk]),
            {"date": closure.date.isoformat(), "reason": "other", "note": "Changed"},
        ),
        ("post", reverse("closure-delete", args=[slug, closure.pk]), {}),
        ("post", reverse("term-delete", args=[slug, term.pk]), {}),
    ]


def _state(school):
    return (
        list(Term.objects.filter(school=school).values()),
        list(ClosureDay.objects.filter(school=school).values()),
        CalendarChange.objects.count(),
    )


@pytest.mark.parametrize("who", KEEPERS)
def test_e1_a7_the_head_and_the_office_keep_the_calendar(client, request, school, entries, who):
    client.force_login(request.getfixturevalue(who))
    wrong = []
    for method, url, data in _urls(school, *entries):
        before = _state(school)
        response = client.get(url) if method == "get" else client.post(url, data)
        expected = 302 if method == "post" or url == reverse("calendar-home") else 200
        if response.status_code != expected:
            wrong.append(f"{method} {url}: {response.status_code}, not {expected}")
        if method == "post" and _state(school) == before:
            wrong.append(f"{method} {url}: changed nothing")
    assert wrong == []
    assert not Term.objects.filter(school=school, name="This term").exists()
    assert Term.objects.filter(school=school, name="Next year").exists()


@pytest.mark.parametrize("who", [*NOT_KEEPERS, "outsider"])
def test_a8_everyone_else_gets_404_on_every_calendar_url_and_changes_nothing(
    client, request, school, entries, who
):
    """The outsider is the head and the office of another school."""
    client.force_login(request.getfixturevalue(who))
    before = _state(school)
    wrong = []
    for method, url, data in _urls(school, *entries):
        if who == "outsider" and url == reverse("calendar-home"):
            continue  # their own school's calendar
        response = client.get(url) if method == "get" else client.post(url, data)
        if response.status_code != 404:
            wrong.append(f"{method} {url}: {response.status_code}, not 404")
    assert wrong == []
    assert _state(school) == before


def test_a8_another_schools_entry_is_404_through_ones_own_school(
    client, school, other_school, outsider, head
):
    """The head may keep their own calendar, but not reach another school's term through it."""
    theirs = TermFactory(school=other_school)
    client.force_login(head)
    for url in (
        reverse("term-edit", args=[school.slug, theirs.pk]),
        reverse("term-edit", args=[other_school.slug, theirs.pk]),
    ):
        assert client.get(url).status_code == 404
        assert client.post(url, {"name": "x"}).status_code == 404
    assert client.post(reverse("term-delete", args=[school.slug, theirs.pk])).status_code == 404
    assert Term.objects.filter(pk=theirs.pk, name=theirs.name).exists()


def test_a8_anonymous_visitor_is_sent_to_sign_in_on_every_calendar_url(client, school, entries):
    before = _state(school)
    for method, url, data in _urls(school, *entries):
        response = client.get(url) if method == "get" else client.post(url, data)
        assert response.status_code == 302, url
        assert response["Location"].startswith(reverse("account_login") + "?next="), url
    assert _state(school) == before


def test_deleting_is_post_only(client, school, entries, head):
    term, closure = entries
    client.force_login(head)
    assert client.get(reverse("term-delete", args=[school.slug, term.pk])).status_code == 405
    assert client.get(reverse("closure-delete", args=[school.slug, closure.pk])).status_code == 405
    assert Term.objects.filter(pk=term.pk).exists()


def test_someone_at_two_schools_chooses_the_school(client, school, other_school, head):
    client.force_login(head)
    assert client.get(reverse("calendar-home")).url == reverse(
        "school-calendar", args=[school.slug]
    )
    from schools.models import Membership, Role

    Membership.objects.create(user=head, school=other_school, role=Role.OFFICE)
    page = client.get(reverse("calendar-home"))
    assert page.status_code == 200
    assert reverse("school-calendar", args=[other_school.slug]) in page.content.decode()


def test_a7_changes_record_who_and_when(client, school, head, office):
    client.force_login(head)
    client.post(
        reverse("term-add", args=[school.slug]),
        {"name": "Autumn 1", "starts_on": "2030-09-02", "ends_on": "2030-10-18"},
    )
    term = Term.objects.get(school=school)
    assert term.created_by == head == term.updated_by
    assert timezone.now() - term.created_at < datetime.timedelta(minutes=1)

    client.force_login(office)
    client.post(
        reverse("term-edit", args=[school.slug, term.pk]),
        {"name": "Autumn 1", "starts_on": "2030-09-02", "ends_on": "2030-10-25"},
    )
    term.refresh_from_db()
    assert (term.created_by, term.updated_by, term.ends_on) == (head, office, D(2030, 10, 25))

    client.post(reverse("term-delete", args=[school.slug, term.pk]))
    changes = list(CalendarChange.objects.filter(school=school).order_by("at", "pk"))
    assert [(c.action, c.by) for c in changes] == [
        ("added", head),
        ("changed", office),
        ("deleted", office),
    ]
    assert "Autumn 1" in changes[-1].what and "25 Oct 2030" in changes[-1].what


@pytest.mark.parametrize(
    "data, field, words",
    [
        ({"name": "T", "starts_on": "2030-10-01", "ends_on": "2030-09-01"}, "ends_on", "before"),
        ({"name": "T", "starts_on": "2030-09-01", "ends_on": "2032-09-01"}, "ends_on", "a year"),
        ({"name": "T", "starts_on": "2030-02-30", "ends_on": "2030-03-01"}, "starts_on", "valid"),
        ({"name": "T", "starts_on": "0001-01-01", "ends_on": "2030-03-01"}, "starts_on", "1900"),
        ({"name": "T", "starts_on": "99999-01-01", "ends_on": ""}, "starts_on", "valid"),
        ({"name": "", "starts_on": "2030-09-01", "ends_on": "2030-10-01"}, "name", "required"),
    ],
    ids=["end-before-start", "too-long", "no-such-date", "year-1", "year-99999", "no-name"],
)
def test_a7_a_bad_term_is_a_form_error_not_a_500(client, school, head, data, field, words):
    client.force_login(head)
    response = client.post(reverse("term-add", args=[school.slug]), data)
    assert response.status_code == 200
    assert words in " ".join(response.context["form"].errors[field])
    assert not Term.objects.exists()


def test_a7_terms_may_not_overlap(client, school, head):
    TermFactory(school=school, name="Autumn 1", starts_on=D(2030, 9, 2), ends_on=D(2030, 10, 18))
    client.force_login(head)
    response = client.post(
        reverse("term-add", args=[school.slug]),
        {"name": "Autumn 2", "starts_on": "2030-10-14", "ends_on": "2030-12-19"},
    )
    assert response.status_code == 200
    [error] = response.context["form"].non_field_errors()
    assert "overlap Autumn 1" in error and "(A7)" in error
    # The other school's terms are no obstacle.
    assert Term.objects.count() == 1


@pytest.mark.parametrize(
    "day, words",
    [
        ("2030-09-07", "weekend"),  # a Saturday
        ("2030-12-25", "bank holiday (Christmas Day)"),
        ("2030-09-05", "already a closure day"),
        ("2030-9-31", "valid date"),
    ],
)
def test_a7_a_bad_closure_day_is_a_form_error(client, school, head, day, words):
    ClosureDayFactory(school=school, date=D(2030, 9, 5))
    client.force_login(head)
    response = client.post(
        reverse("closure-add", args=[school.slug]), {"date": day, "reason": "inset"}
    )
    assert response.status_code == 200
    assert words in " ".join(response.context["form"].errors["date"])
    assert ClosureDay.objects.count() == 1


def test_a7_the_same_closure_day_at_another_school_is_fine(client, school, other_school, head):
    ClosureDayFactory(school=other_school, date=D(2030, 9, 5))
    client.force_login(head)
    response = client.post(
        reverse("closure-add", args=[school.slug]), {"date": "2030-09-05", "reason": "inset"}
    )
    assert response.status_code == 302
    assert ClosureDay.objects.filter(school=school, date=D(2030, 9, 5)).exists()


def test_a7_the_calendar_page_says_when_no_terms_are_recorded(client, school, head):
    client.force_login(head)
    page = client.get(reverse("school-calendar", args=[school.slug])).content.decode()
    assert 'data-testid="no-terms"' in page
    assert 'data-testid="terms-run-out"' not in page


def test_a7_e1_the_calendar_page_warns_when_the_recorded_terms_run_out(client, school, head):
    today = timezone.localdate()
    TermFactory(
        school=school,
        name="Ends soon",
        starts_on=today - datetime.timedelta(days=30),
        ends_on=today + datetime.timedelta(days=10),
    )
    client.force_login(head)
    page = client.get(reverse("school-calendar", args=[school.slug])).content.decode()
    assert 'data-testid="terms-run-out"' in page
    assert "Ends soon" in page


def test_a7_the_calendar_page_lists_the_nations_bank_holidays(client, school, head):
    school.nation = Nation.SCOTLAND
    school.save()
    client.force_login(head)
    page = client.get(reverse("school-calendar", args=[school.slug])).content.decode()
    assert "Saint Andrew" in page and "Scotland" in page


def test_a7_e1_a_new_person_with_the_office_role_keeps_the_calendar(client, school):
    clerk = member(school, "office", username="clerk")
    client.force_login(clerk)
    assert client.get(reverse("school-calendar", args=[school.slug])).status_code == 200
