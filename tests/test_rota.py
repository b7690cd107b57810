"""The on-call rota (E1): who answers an alert when the office is closed, the check that someone
is on call for a span, the page where the headteacher and the office keep the rota, and the
admin. Times are relative to now(), on a day chosen clear of weekends and bank holidays where
office hours matter.
"""

import datetime
import io

import pytest
from django.contrib.auth.models import Permission
from django.core.management import call_command
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from schools.calendar import LONDON, bank_holidays, local
from schools.models import (
    CalendarChange,
    ClosureDay,
    Membership,
    Nation,
    OnCallShift,
    Role,
    School,
    ShiftKind,
    Term,
)
from schools.selectors import next_on_call_gap, on_call_at, on_call_gaps

from .factories import OnCallShiftFactory, UserFactory, enrol_totp

HOUR = datetime.timedelta(hours=1)


def _school_day(days_ahead=7):
    """A weekday at least `days_ahead` days from today that is not an English bank holiday."""
    day = timezone.localdate() + datetime.timedelta(days=days_ahead)
    while day.weekday() >= 4 or day in bank_holidays(Nation.ENGLAND, day.year):
        day += datetime.timedelta(days=1)
    return day


def at(day, hour, minute=0):
    return datetime.datetime.combine(day, datetime.time(hour, minute), tzinfo=LONDON)


def shift(school, user, start, end, kind=ShiftKind.ROTA):
    return OnCallShiftFactory(school=school, user=user, starts_at=start, ends_at=end, kind=kind)


@pytest.fixture
def evening():
    """(the day, its evening from 17:00 to 08:00 the next morning)."""
    day = _school_day()
    return day, (at(day, 17), at(day + datetime.timedelta(days=1), 8))


# --- Who is on call -------------------------------------------------------------------------


def test_e1_cover_comes_before_the_rota_then_each_by_start(school, head, dsl, slt, deputy, evening):
    day, (start, end) = evening
    shift(school, head, start, end)
    shift(school, slt, start - HOUR, end)  # also on the rota, from earlier
    shift(school, dsl, at(day, 18), at(day, 23), ShiftKind.OVERRIDE)
    shift(school, deputy, at(day, 17), at(day, 21), ShiftKind.OVERRIDE)

    assert on_call_at(school, at(day, 19)) == [deputy, dsl, slt, head]
    assert on_call_at(school, at(day, 22)) == [dsl, slt, head]
    people = on_call_at(school, at(day, 22))
    assert people[0].on_call_shift.kind == ShiftKind.OVERRIDE
    assert people[-1].on_call_shift.kind == ShiftKind.ROTA


def test_e1_a_shift_covers_from_its_start_up_to_but_not_including_its_end(school, head, evening):
    _, (start, end) = evening
    shift(school, head, start, end)
    assert on_call_at(school, start - datetime.timedelta(seconds=1)) == []
    assert on_call_at(school, start) == [head]
    assert on_call_at(school, end - datetime.timedelta(seconds=1)) == [head]
    assert on_call_at(school, end) == []


def test_e1_someone_on_the_rota_and_covering_is_listed_once(school, head, evening):
    day, (start, end) = evening
    shift(school, head, start, end)
    shift(school, head, at(day, 18), at(day, 20), ShiftKind.OVERRIDE)
    [person] = on_call_at(school, at(day, 19))
    assert person == head and person.on_call_shift.kind == ShiftKind.OVERRIDE


def test_e1_someone_who_left_or_was_deactivated_is_not_called(school, head, dsl, evening):
    day, (start, end) = evening
    shift(school, head, start, end)
    shift(school, dsl, start, end)
    Membership.objects.filter(user=dsl).delete()
    assert on_call_at(school, at(day, 19)) == [head]
    head.is_active = False
    head.save()
    assert on_call_at(school, at(day, 19)) == []
    assert next_on_call_gap(school, start, end) == (start, end)


def test_e1_the_rota_page_marks_a_shift_whose_person_has_left(client, school, head, dsl, evening):
    _, (start, end) = evening
    shift(school, dsl, start, end)
    Membership.objects.filter(user=dsl).delete()
    client.force_login(head)
    response = client.get(reverse("rota", args=[school.slug]))
    [left] = [s for _, shifts in response.context["days"] for s in shifts]
    assert left.user == dsl and not left.is_called
    assert "not called" in response.content.decode()


def test_e1_a_naive_time_is_refused_by_the_gap_check(school, evening):
    _, (start, end) = evening
    with pytest.raises(ValueError, match="aware"):
        next_on_call_gap(school, start.replace(tzinfo=None), end)


def test_e1_another_schools_rota_is_not_this_schools(school, other_school, outsider, evening):
    day, (start, end) = evening
    shift(other_school, outsider, start, end)
    assert on_call_at(school, at(day, 19)) == []
    assert on_call_at(other_school, at(day, 19)) == [outsider]


def test_e1_on_call_at_is_one_query_however_many_are_on_call(
    school, head, dsl, slt, deputy, evening, django_assert_num_queries
):
    day, (start, end) = evening
    for person in (head, dsl, slt, deputy):
        shift(school, person, start, end)
    with django_assert_num_queries(1):
        people = on_call_at(school, at(day, 19))
        assert [p.staff_profile.mobile for p in people]


def test_e1_the_database_refuses_a_shift_that_ends_before_it_starts(school, head, evening):
    _, (start, _) = evening
    with pytest.raises(IntegrityError), transaction.atomic():
        OnCallShift.objects.create(school=school, user=head, starts_at=start, ends_at=start)


# --- Is anyone on call for a span ------------------------------------------------------------


def test_e1_nobody_on_call_is_a_gap_and_a_covered_span_is_none(school, head, dsl, evening):
    day, (start, end) = evening
    assert next_on_call_gap(school, start, end) == (start, end)
    shift(school, head, start, at(day, 21))
    shift(school, dsl, at(day, 22), end, ShiftKind.OVERRIDE)
    assert next_on_call_gap(school, start, end) == (at(day, 21), at(day, 22))
    assert on_call_gaps(school, start, end) == [(at(day, 21), at(day, 22))]
    shift(school, head, at(day, 20), at(day, 23), ShiftKind.OVERRIDE)
    assert next_on_call_gap(school, start, end) is None
    assert next_on_call_gap(school, at(day, 18), at(day, 19)) is None


def test_e1_the_gap_check_can_ask_about_office_closed_times_only(school, head):
    """A visit from 15:00 to 19:00 on a school day needs someone on call from 17:00 only."""
    day = _school_day()
    visit_start, visit_end = at(day, 15), at(day, 19)
    assert next_on_call_gap(school, visit_start, visit_end) == (visit_start, visit_end)
    assert next_on_call_gap(school, visit_start, visit_end, office_closed_only=True) == (
        at(day, 17),
        visit_end,
    )
    shift(school, head, at(day, 17), at(day, 20))
    assert next_on_call_gap(school, visit_start, visit_end, office_closed_only=True) is None
    assert next_on_call_gap(school, visit_start, visit_end) == (visit_start, at(day, 17))


def test_e1_the_gap_check_counts_a_saturday_as_closed_all_day(school, head):
    saturday = _school_day() + datetime.timedelta(days=(5 - _school_day().weekday()) % 7)
    assert saturday.weekday() == 5
    gap = next_on_call_gap(school, at(saturday, 10), at(saturday, 12), office_closed_only=True)
    assert gap == (at(saturday, 10), at(saturday, 12))


# --- The rota page ---------------------------------------------------------------------------

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
def on_rota(school, head, dsl, evening):
    _, (start, end) = evening
    return shift(school, head, start, end)


def _local(when):
    return timezone.localtime(when).strftime("%Y-%m-%dT%H:%M")


def _shift_data(user, start, end, kind="rota", note=""):
    return {
        "user": user.pk,
        "starts_at": _local(start),
        "ends_at": _local(end),
        "kind": kind,
        "note": note,
    }


def _urls(school, on_rota, dsl):
    later = on_rota.starts_at + datetime.timedelta(days=1)
    slug = school.slug
    return [
        ("get", reverse("rota-home"), None),
        ("get", reverse("rota", args=[slug]), None),
        ("get", reverse("shift-add", args=[slug]), None),
        ("get", reverse("shift-edit", args=[slug, on_rota.pk]), None),
        (
            "post",
            reverse("shift-add", args=[slug]),
            _shift_data(dsl, later, later + 2 * HOUR, "override", "Swap with Hazel"),
        ),
        (
            "post",
            reverse("shift-edit", args=[slug, on_rota.pk]),
            _shift_data(on_rota.user, on_rota.starts_at, on_rota.ends_at + HOUR),
        ),
        ("post", reverse("shift-delete", args=[slug, on_rota.pk]), {}),
    ]


def _state(school):
    return list(OnCallShift.objects.filter(school=school).values()), CalendarChange.objects.count()


@pytest.mark.parametrize("who", KEEPERS)
def test_e1_the_head_and_the_office_keep_the_rota(client, request, school, on_rota, dsl, who):
    client.force_login(request.getfixturevalue(who))
    wrong = []
    for method, url, data in _urls(school, on_rota, dsl):
        before = _state(school)
        response = client.get(url) if method == "get" else client.post(url, data)
        expected = 302 if method == "post" or url == reverse("rota-home") else 200
        if response.status_code != expected:
            wrong.append(f"{method} {url}: {response.status_code}, not {expected}")
        if method == "post" and _state(school) == before:
            wrong.append(f"{method} {url}: changed nothing")
    assert wrong == []
    [left] = OnCallShift.objects.filter(school=school)
    assert (left.user, left.kind, left.note) == (dsl, ShiftKind.OVERRIDE, "Swap with Hazel")


@pytest.mark.parametrize("who", [*NOT_KEEPERS, "outsider"])
def test_a8_everyone_else_gets_404_on_every_rota_url_and_changes_nothing(
    client, request, school, on_rota, dsl, who
):
    """The outsider is the head and the office of another school."""
    client.force_login(request.getfixturevalue(who))
    before = _state(school)
    wrong = []
    for method, url, data in _urls(school, on_rota, dsl):
        if who == "outsider" and url == reverse("rota-home"):
            continue  # their own school's rota
        response = client.get(url) if method == "get" else client.post(url, data)
        if response.status_code != 404:
            wrong.append(f"{method} {url}: {response.status_code}, not 404")
        if "Hazel" in response.content.decode():
            wrong.append(f"{method} {url}: shows who is on call")
    assert wrong == []
    assert _state(school) == before


def test_a8_anonymous_visitor_is_sent_to_sign_in_on_every_rota_url(client, school, on_rota, dsl):
    before = _state(school)
    for method, url, data in _urls(school, on_rota, dsl):
        response = client.get(url) if method == "get" else client.post(url, data)
        assert response.status_code == 302, url
        assert response["Location"].startswith(reverse("account_login") + "?next="), url
    assert _state(school) == before


def test_a8_another_schools_shift_is_404_through_ones_own_school(
    client, school, other_school, outsider, head, evening
):
    _, (start, end) = evening
    theirs = shift(other_school, outsider, start, end)
    client.force_login(head)
    for url in (
        reverse("shift-edit", args=[school.slug, theirs.pk]),
        reverse("shift-edit", args=[other_school.slug, theirs.pk]),
        reverse("shift-delete", args=[school.slug, theirs.pk]),
    ):
        assert client.post(url, _shift_data(head, start, end)).status_code == 404
    assert OnCallShift.objects.get(pk=theirs.pk).user == outsider


def test_e1_deleting_a_shift_is_post_only(client, school, on_rota, head):
    client.force_login(head)
    url = reverse("shift-delete", args=[school.slug, on_rota.pk])
    assert client.get(url).status_code == 405
    assert OnCallShift.objects.filter(pk=on_rota.pk).exists()


def test_e1_the_rota_page_shows_the_next_four_weeks_and_who_is_on_call_now(
    client, school, head, dsl, office
):
    now = timezone.now()
    shift(school, head, now - HOUR, now + HOUR)
    shift(school, dsl, now - HOUR, now + HOUR, ShiftKind.OVERRIDE)
    shift(
        school, dsl, now + datetime.timedelta(days=20), now + datetime.timedelta(days=20, hours=2)
    )
    shift(
        school, dsl, now + datetime.timedelta(days=40), now + datetime.timedelta(days=40, hours=2)
    )
    client.force_login(office)
    response = client.get(reverse("rota", args=[school.slug]))
    assert [p.username for p in response.context["on_call_now"]] == ["dsl", "head"]
    shown = [s for _, shifts in response.context["days"] for s in shifts]
    assert len(shown) == 3
    page = response.content.decode()
    assert "Dee Lead" in page and "Hazel Head" in page and "cover or swap" in page


def test_e1_the_rota_page_warns_of_closed_times_with_nobody_on_call(client, school, head):
    client.force_login(head)
    response = client.get(reverse("rota", args=[school.slug]))
    assert response.context["gaps"]
    assert 'data-testid="gaps"' in response.content.decode()


def test_e1_changes_record_who_and_when(client, school, head, office, dsl, evening):
    day, (start, end) = evening
    client.force_login(head)
    client.post(reverse("shift-add", args=[school.slug]), _shift_data(dsl, start, end))
    added = OnCallShift.objects.get(school=school)
    assert added.created_by == head == added.updated_by
    assert timezone.now() - added.created_at < datetime.timedelta(minutes=1)

    client.force_login(office)
    client.post(
        reverse("shift-edit", args=[school.slug, added.pk]),
        _shift_data(dsl, start, end - HOUR, note="Leaves early"),
    )
    added.refresh_from_db()
    assert (added.created_by, added.updated_by, added.note) == (head, office, "Leaves early")

    client.post(reverse("shift-delete", args=[school.slug, added.pk]))
    assert not OnCallShift.objects.exists()
    changes = CalendarChange.objects.filter(school=school).order_by("at", "pk")
    assert [(c.action, c.by) for c in changes] == [
        ("added", head),
        ("changed", office),
        ("deleted", office),
    ]
    assert "Dee Lead" in changes.last().what
    page = client.get(reverse("rota", args=[school.slug])).content.decode()
    assert "Olive Office · Deleted" in page


def _refused(client, school, data):
    response = client.post(reverse("shift-add", args=[school.slug]), data)
    assert response.status_code == 200
    assert not OnCallShift.objects.filter(school=school, note="refused").exists()
    return response.context["form"]


def test_e1_a_shift_must_end_after_it_starts(client, school, head, evening):
    _, (start, _) = evening
    client.force_login(head)
    form = _refused(client, school, _shift_data(head, start, start, note="refused"))
    assert form.errors["ends_at"] == ["The end must be after the start."]
    form = _refused(client, school, _shift_data(head, start, start - HOUR, note="refused"))
    assert form.errors["ends_at"] == ["The end must be after the start."]


def test_e1_someone_with_no_role_at_the_school_cannot_be_on_call(
    client, school, head, outsider, no_role, evening
):
    _, (start, end) = evening
    client.force_login(head)
    for person in (outsider, no_role):
        form = _refused(client, school, _shift_data(person, start, end, note="refused"))
        assert "role at the school" in form.errors["user"][0] and "(E1)" in form.errors["user"][0]


def test_e1_a_persons_rota_shifts_may_not_overlap_but_cover_may_overlap_the_rota(
    client, school, head, dsl, on_rota
):
    start, end = on_rota.starts_at, on_rota.ends_at
    client.force_login(head)
    form = _refused(client, school, _shift_data(head, end - HOUR, end + HOUR, note="refused"))
    [error] = form.non_field_errors()
    assert "Hazel Head is already on the rota" in error and "(E1)" in error
    # Someone else on the rota at the same time, cover by the same person, and a shift that
    # starts as the other ends are all fine.
    for data in (
        _shift_data(dsl, start, end),
        _shift_data(head, start, start + HOUR, "override"),
        _shift_data(head, end, end + HOUR),
    ):
        assert client.post(reverse("shift-add", args=[school.slug]), data).status_code == 302
    assert OnCallShift.objects.filter(school=school).count() == 4


def test_e1_editing_a_shift_does_not_clash_with_itself(client, school, head, on_rota):
    client.force_login(head)
    data = _shift_data(head, on_rota.starts_at + HOUR, on_rota.ends_at)
    starts = on_rota.starts_at
    response = client.post(reverse("shift-edit", args=[school.slug, on_rota.pk]), data)
    assert response.status_code == 302
    on_rota.refresh_from_db()
    assert on_rota.starts_at == starts + HOUR


@pytest.mark.parametrize(
    "starts, ends, field, words",
    [
        ("2030-03-31T01:30", "2030-03-31T08:00", "starts_at", "clocks change"),  # no 01:30
        ("2030-10-27T01:30", "2030-10-27T08:00", "starts_at", "clocks change"),  # 01:30 twice
        ("2030-13-01T17:00", "2030-13-02T08:00", "starts_at", "valid date/time"),
        ("0001-01-01T17:00", "2030-01-02T08:00", "starts_at", "1900"),
        ("2030-01-01T17:00", "2030-03-01T08:00", "ends_at", "31 days"),
        ("2020-01-01T17:00", "2020-01-02T08:00", "ends_at", "over"),
    ],
    ids=["no-such-time", "ambiguous-time", "no-such-month", "year-1", "too-long", "past"],
)
def test_e1_bad_times_are_a_form_error_not_a_500(client, school, head, starts, ends, field, words):
    client.force_login(head)
    data = {"user": head.pk, "starts_at": starts, "ends_at": ends, "kind": "rota", "note": ""}
    form = _refused(client, school, data)
    assert words in " ".join(form.errors[field]), form.errors


def test_e1_a_shift_that_is_over_stays_on_record(client, school, head):
    now = timezone.now()
    past = shift(school, head, now - 3 * HOUR, now - HOUR)
    client.force_login(head)
    edit = reverse("shift-edit", args=[school.slug, past.pk])
    assert "stays on record" in client.get(edit).content.decode()
    response = client.post(edit, _shift_data(head, now + HOUR, now + 2 * HOUR))
    assert response.status_code == 200
    assert "stays on record" in " ".join(response.context["form"].non_field_errors())
    client.post(reverse("shift-delete", args=[school.slug, past.pk]))
    past.refresh_from_db()
    assert past.ends_at == now - HOUR


def test_e1_the_add_form_starts_at_the_next_closing_time(client, school, head):
    client.force_login(head)
    form = client.get(reverse("shift-add", args=[school.slug])).context["form"]
    starts, ends = form.initial["starts_at"], form.initial["ends_at"]
    assert starts > timezone.now()
    assert local(starts).time() == school.office_closes_at
    assert local(ends).time() == school.office_opens_at and ends - starts < 24 * HOUR


def test_e1_someone_at_two_schools_chooses_the_school(client, school, other_school, office):
    client.force_login(office)
    assert client.get(reverse("rota-home")).url == reverse("rota", args=[school.slug])
    Membership.objects.create(user=office, school=other_school, role=Role.HEADTEACHER)
    enrol_totp(office)  # a headteacher signs in with a second factor
    page = client.get(reverse("rota-home"))
    assert page.status_code == 200
    assert reverse("rota", args=[other_school.slug]) in page.content.decode()


# --- The menu --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "who, shown",
    [("head", True), ("office", True), ("dsl", False), ("slt", False), ("visitor", False)],
)
def test_e1_the_menu_links_the_rota_for_the_head_and_the_office(client, request, who, shown):
    client.force_login(request.getfixturevalue(who))
    page = client.get(reverse("my-profile")).content.decode()
    assert ('data-testid="nav-rota"' in page) is shown


# --- The admin -------------------------------------------------------------------------------

CALENDAR_MODELS = ["oncallshift", "term", "closureday", "calendarchange"]


@pytest.fixture
def school_admin_client(client, school_admin):
    """A school admin given the calendar's permissions (schools/services.py grants them)."""
    school_admin.is_staff = True
    school_admin.save()
    school_admin.user_permissions.add(
        *Permission.objects.filter(
            content_type__app_label="schools",
            content_type__model__in=CALENDAR_MODELS,
        )
    )
    client.force_login(school_admin)
    return client


def test_e1_a7_the_admin_shows_the_calendar_and_rota_to_a_superuser(
    admin_client, school, on_rota, head
):
    Term.objects.create(
        school=school, name="Autumn 1", starts_on="2030-09-02", ends_on="2030-10-18"
    )
    ClosureDay.objects.create(school=school, date="2030-09-05", reason="inset")
    on_rota.save_by(by=head, now=timezone.now())
    for model in CALENDAR_MODELS:
        listed = admin_client.get(reverse(f"admin:schools_{model}_changelist"))
        assert listed.status_code == 200, model
        assert listed.context["cl"].result_count >= 1, model
    change = admin_client.get(reverse("admin:schools_oncallshift_change", args=[on_rota.pk]))
    assert "E1:" in change.content.decode()
    term = admin_client.get(reverse("admin:schools_term_add")).content.decode()
    assert "A7, E1:" in term


def test_e1_a_school_admin_sees_only_their_schools_shifts_and_people(
    school_admin_client, school, other_school, outsider, on_rota, evening
):
    _, (start, end) = evening
    theirs = shift(other_school, outsider, start, end)
    listed = school_admin_client.get(reverse("admin:schools_oncallshift_changelist"))
    assert set(listed.context["cl"].result_list) == {on_rota}
    page = school_admin_client.get(reverse("admin:schools_oncallshift_change", args=[theirs.pk]))
    assert page.status_code == 302
    add = school_admin_client.get(reverse("admin:schools_oncallshift_add"))
    form = add.context["adminform"].form
    assert set(form.fields["school"].queryset) == {school}
    assert outsider not in set(form.fields["user"].queryset)


def test_e1_the_admin_records_who_changed_the_rota_and_refuses_overlaps(
    admin_client, admin_user, school, head, on_rota
):
    url = reverse("admin:schools_oncallshift_add")
    day = timezone.localtime(on_rota.starts_at)
    data = {
        "school": school.pk,
        "user": head.pk,
        "starts_at_0": day.strftime("%Y-%m-%d"),
        "starts_at_1": "20:00",
        "ends_at_0": day.strftime("%Y-%m-%d"),
        "ends_at_1": "22:00",
        "kind": "rota",
        "note": "",
    }
    refused = admin_client.post(url, data)
    assert refused.status_code == 200
    assert "already on the rota" in refused.content.decode()

    data["kind"] = "override"
    assert admin_client.post(url, data).status_code == 302
    added = OnCallShift.objects.get(kind=ShiftKind.OVERRIDE)
    assert added.created_by == admin_user
    assert CalendarChange.objects.get(action="added").by == admin_user

    delete = reverse("admin:schools_oncallshift_delete", args=[added.pk])
    assert admin_client.post(delete, {"post": "yes"}).status_code == 302
    assert CalendarChange.objects.filter(action="deleted", by=admin_user).exists()


# --- The demo --------------------------------------------------------------------------------


def test_e1_the_demo_has_a_term_and_a_rota_with_the_dsl_covering_one_evening(db, settings):
    settings.DEBUG = True
    call_command("load_demo", stdout=io.StringIO())
    hai = School.objects.get(slug="hai")
    assert Term.objects.filter(school=hai).exists()
    assert Term.objects.filter(school__slug="sls").exists()
    cover = OnCallShift.objects.get(school=hai, kind=ShiftKind.OVERRIDE)
    assert cover.user.username == "dsl"
    during = cover.starts_at + HOUR
    assert [p.username for p in on_call_at(hai, during)] == ["dsl", "head"]
    # The head is on call whenever the office is closed for the next two weeks.
    now = timezone.now()
    assert on_call_gaps(hai, now, now + datetime.timedelta(days=13), office_closed_only=True) == []
    rota = OnCallShift.objects.filter(school=hai, kind=ShiftKind.ROTA)
    assert {s.user.username for s in rota} == {"head"}
    assert all(s.created_by.username == "head" for s in rota)
