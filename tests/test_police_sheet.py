"""The police sheet (E2): everything the person calling 999 reads out or needs beside them,
on one printed page: the staff, where they were last, the carers' and the headteacher's
numbers, the times of each step, and each known risk once."""

import datetime
import re

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from escalation import responses
from escalation.models import CallOutcome, Escalation
from escalation.services import sweep
from schools.models import StaffProfile
from visits import services

from .conftest import make_visit
from .factories import CarerFactory

MINUTE = datetime.timedelta(minutes=1)


def _sheet(client, user, esc, *, at=None):
    url = reverse("escalation-police", args=[esc.pk])
    with time_machine.travel(at or timezone.now(), tick=False):
        client.force_login(user)
        return client.get(url)


def _text(html):
    """The page as words, for what is read out (tags dropped, spaces folded)."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def _risky_visit(pupil, *, office, head, visitor, partner):
    """A visit whose risks are said twice over: in the pupil's record and its assessment."""
    pupil.has_animals = True
    pupil.previous_aggression = True
    pupil.known_risks = "Large dog."
    pupil.save()
    visit = make_visit(
        pupil=pupil,
        by=office,
        staff=[visitor, partner],
        risk={
            "animals": True,
            "animals_details": "Large dog: ask for it to be shut away (D4).",
            "previous_aggression": True,
            "previous_aggression_details": "Father shouted at staff in May.",
        },
        submit=True,
    )
    services.visit_authorise(visit=visit, by=head, expected_version=visit.version, confirmed=True)
    visit.refresh_from_db()
    services.visit_arrive(visit=visit, by=visitor, now=visit.planned_start)
    visit.refresh_from_db()
    sweep(now=visit.next_deadline)
    return Escalation.objects.get(visit=visit)


def test_e2_sheet_gives_the_headteachers_mobile_to_ring(client, office, head, overdue):
    StaffProfile.objects.filter(user=head).update(mobile="+447700900555")

    html = _sheet(client, office, overdue).content.decode()

    assert "Hazel Head" in html
    assert "07700 900555" in html
    assert 'href="tel:+447700900555"' in html


def test_e2_sheet_gives_the_school_office_when_the_head_has_no_mobile(
    client, office, head, overdue
):
    StaffProfile.objects.filter(user=head).update(mobile="")

    html = _sheet(client, office, overdue).content.decode()
    [tell] = re.findall(r'data-testid="tell-head">(.*?)</p>', html, re.S)

    assert "0161 496 0000" in tell
    assert 'href="tel:+441614960000"' in tell
    assert "school office" in tell


def test_e2_sheet_gives_each_carers_phone_number(client, office, pupil, overdue):
    CarerFactory(pupil=pupil, name="Mary Pupil", relationship="Mother", phone="07700 900111")
    CarerFactory(pupil=pupil, name="Tom Pupil", relationship="Father", phone="07700 900222")

    html = _sheet(client, office, overdue).content.decode()

    for name, number, e164 in (
        ("Mary Pupil (Mother)", "07700 900111", "+447700900111"),
        ("Tom Pupil (Father)", "07700 900222", "+447700900222"),
    ):
        assert name in html
        assert number in html
        assert f'href="tel:{e164}"' in html


def test_e2_sheet_gives_the_time_of_each_step(client, office, head, overdue):
    visit = overdue.visit
    called = overdue.raised_at + 4 * MINUTE
    stepped = overdue.raised_at + 9 * MINUTE
    responses.escalation_record_call(
        escalation=overdue, by=office, outcome=CallOutcome.NO_ANSWER, note="Voicemail", now=called
    )
    responses.escalation_raise_police_step(
        escalation=overdue, by=head, reason="Neighbour rang: shouting", now=stepped
    )

    html = _sheet(client, office, overdue, at=stepped + MINUTE).content.decode()
    [times] = re.findall(r'data-testid="times">(.*?)</table>', html, re.S)
    rows = [_text(row).strip() for row in re.findall(r"<tr>(.*?)</tr>", times, re.S)]

    def at(moment):
        return f"{timezone.localtime(moment):%H:%M}"

    assert rows[0] == f"{at(visit.expected_back())} Expected back"
    assert rows[1].startswith(f"{at(overdue.raised_at)} Alert raised")
    assert rows[2].startswith(f"{at(called)} Call to the staff recorded by Olive Office")
    assert "No answer" in rows[2]
    assert rows[3] == f"{at(stepped)} Police step raised"


def test_e2_sheet_links_the_last_position_for_a_map_app_and_writes_it_out(
    client, office, on_site_visit, visitor
):
    services.visit_need_help(
        visit=on_site_visit,
        by=visitor,
        position={"lat": 53.3006, "lng": -1.4712, "accuracy": 20},
        now=on_site_visit.planned_start + 10 * MINUTE,
    )
    esc = Escalation.objects.get(visit=on_site_visit)

    html = _sheet(client, office, esc).content.decode()

    assert 'href="geo:53.300600,-1.471200"' in html
    [where] = re.findall(r'data-testid="last-position">(.*?)</dd>', html, re.S)
    assert "latitude 53.30060, longitude -1.47120 (within 20 m)" in _text(where)
    # Nothing fetched: no map tiles or images from outside on a page that is printed (CSP).
    assert "<img" not in html and "<iframe" not in html
    assert "https://" not in html.split("<main", 1)[-1]


def test_e2_sheet_lists_each_known_risk_once_without_rule_ids(
    client, office, head, visitor, partner, pupil
):
    esc = _risky_visit(pupil, office=office, head=head, visitor=visitor, partner=partner)

    html = _sheet(client, office, esc).content.decode()
    risks = [_text(r).strip() for r in re.findall(r'data-testid="known-risk">(.*?)</dd>', html)]

    assert risks == [
        "Previous anger or aggression: Father shouted at staff in May",
        "Animals at the home: Large dog: ask for it to be shut away",
    ]
    assert _text(html).count("Large dog") == 1
    # D4 means nothing to the police, and two full stops are never read out together.
    assert "(D4)" not in html
    assert ".." not in _text(html).replace("...", "")


@pytest.mark.parametrize(
    "who, status",
    [("office", 200), ("head", 200), ("visitor", 404), ("colleague", 404), ("outsider", 404)],
)
def test_a8_sheet_is_for_the_office_and_seniors_only(client, overdue, who, status, request):
    response = _sheet(client, request.getfixturevalue(who), overdue)

    assert response.status_code == status
