"""Shared tablets and office PCs (issue 11): a session left alone for SESSION_IDLE_MINUTES is
signed out, and the sign-in page says why; the office's live board, while open, keeps the office
signed in so an alert is never missed; no other polling keeps anyone in."""

import datetime
import json

import pytest
import time_machine
from django.contrib.messages import get_messages
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.idle import BACKGROUND_HEADER, PING_PATH
from visits.models import Status

pytestmark = pytest.mark.django_db

MINUTE = datetime.timedelta(minutes=1)
SIGNED_OUT = "You were signed out after 30 minutes without activity."


@pytest.fixture(autouse=True)
def _thirty_minutes(settings):
    settings.SESSION_IDLE_MINUTES = 30


@pytest.fixture
def clock():
    """Time that moves only when the test says (the session keeps epoch seconds)."""
    with time_machine.travel(timezone.now(), tick=False) as traveller:
        yield traveller


def _signed_in(client):
    return "_auth_user_id" in client.session


def _sign_in_page(response):
    return response.status_code == 302 and response.url.startswith(reverse("account_login"))


def _messages(response):
    return [str(m) for m in get_messages(response.wsgi_request)]


def test_a_session_left_alone_for_the_idle_time_is_signed_out(client, office, clock):
    client.force_login(office)
    assert client.get(reverse("schedule")).status_code == 200

    clock.shift(31 * MINUTE)
    response = client.get(reverse("schedule"))

    assert _sign_in_page(response)
    assert "next=" in response.url and "schedule" in response.url  # back there after signing in
    assert not _signed_in(client)
    landing = client.get(response.url)
    assert SIGNED_OUT in _messages(landing)


def test_the_sign_in_page_shows_why(client, office, clock):
    client.force_login(office)
    client.get(reverse("schedule"))
    clock.shift(31 * MINUTE)
    landing = client.get(reverse("schedule"), follow=True)
    assert SIGNED_OUT in landing.content.decode()


def test_a_session_used_within_the_idle_time_stays_signed_in(client, office, clock):
    client.force_login(office)
    for _ in range(4):  # two hours, a request every 29 minutes
        clock.shift(29 * MINUTE)
        assert client.get(reverse("schedule")).status_code == 200
    assert _signed_in(client)


def test_just_before_the_idle_time_is_still_in(client, office, clock):
    client.force_login(office)
    client.get(reverse("schedule"))
    clock.shift(29 * MINUTE + datetime.timedelta(seconds=59))
    assert client.get(reverse("schedule")).status_code == 200


def test_the_idle_time_is_the_setting(client, office, clock, settings):
    settings.SESSION_IDLE_MINUTES = 10
    client.force_login(office)
    client.get(reverse("schedule"))
    clock.shift(11 * MINUTE)
    response = client.get(reverse("schedule"))
    assert _sign_in_page(response)
    assert "You were signed out after 10 minutes without activity." in _messages(
        client.get(response.url)
    )


def test_the_open_live_board_keeps_the_office_signed_in(client, office, clock):
    client.force_login(office)
    assert client.get(reverse("board")).status_code == 200
    # An hour with nobody touching it: the board's rows are polled every few seconds.
    for _ in range(12):
        clock.shift(5 * MINUTE)
        rows = client.get(reverse("board-rows"), headers={"HX-Request": "true"})
        assert rows.status_code == 200
    # Someone answers an alert from there: still signed in.
    assert client.get(reverse("schedule")).status_code == 200


def test_a_board_that_stopped_polling_for_the_idle_time_is_signed_out(client, office, clock):
    """Closed, or the computer asleep: the board is exempt only while it is open."""
    client.force_login(office)
    client.get(reverse("board"))
    clock.shift(31 * MINUTE)
    rows = client.get(reverse("board-rows"), headers={"HX-Request": "true"})
    # htmx would show the sign-in page inside the board: it is told to go there instead.
    assert rows["HX-Redirect"].startswith(reverse("account_login"))
    assert not _signed_in(client)


def test_other_polling_does_not_keep_a_session_alive(client, office, clock):
    client.force_login(office)
    client.get(reverse("schedule"))
    # A page's own refresh (minutes.js, htmx "every"), every five minutes.
    for _ in range(5):
        clock.shift(5 * MINUTE)
        assert client.get(reverse("schedule"), headers={BACKGROUND_HEADER: "1"}).status_code == 200
    clock.shift(6 * MINUTE)
    assert _sign_in_page(client.get(reverse("schedule")))


def test_the_minutes_page_left_open_on_a_tablet_is_signed_out(client, visitor, clock, world):
    """minutes.js refreshes every 15 seconds to show the partner's words: not activity."""
    visit = world
    client.force_login(visitor)
    assert client.get(reverse("minutes-edit", args=[visit.pk])).status_code == 200
    save = reverse("minutes-save", args=[visit.pk])
    for _ in range(31):
        clock.shift(MINUTE)
        refresh = client.post(
            save,
            data=json.dumps({"changes": {}}),
            content_type="application/json",
            headers={"X-Requested-With": "fetch", BACKGROUND_HEADER: "1"},
        )
    # The last refresh came after the idle time: signed out, not answered with the minutes.
    assert refresh.status_code == 302 and _sign_in_page(refresh)
    assert not _signed_in(client)


def test_typing_the_minutes_keeps_the_session(client, visitor, clock, world):
    """Each save of what was typed is the person: an hour of writing is not cut off."""
    visit = world
    client.force_login(visitor)
    client.get(reverse("minutes-edit", args=[visit.pk]))
    save = reverse("minutes-save", args=[visit.pk])
    for _ in range(3):
        clock.shift(20 * MINUTE)
        answer = client.post(
            save,
            data=json.dumps({"changes": {}}),
            content_type="application/json",
            headers={"X-Requested-With": "fetch"},
        )
        assert answer.status_code == 200
    assert _signed_in(client)


@pytest.fixture
def world(pupil, office, head, visitor, partner):
    from safeguarding.services import minutes as minutes_services

    from .test_minutes_views import _done_visit

    visit = _done_visit(pupil=pupil, office=office, head=head, staff=[visitor, partner])
    minutes_services.minutes_start(visit=visit, by=visitor)
    return visit


# The page's warning asks the server --------------------------------------------------------


def test_asking_how_long_is_left_does_not_count_as_activity(client, office, clock):
    client.force_login(office)
    client.get(reverse("schedule"))
    clock.shift(10 * MINUTE)
    assert client.get(PING_PATH).json() == {"signed_in": True, "seconds_left": 20 * 60}
    clock.shift(10 * MINUTE)
    assert client.get(PING_PATH).json()["seconds_left"] == 10 * 60
    clock.shift(10 * MINUTE)
    assert client.get(PING_PATH).json()["seconds_left"] == 0
    # The page then signs out by its form; the server agrees the session is idle.
    response = client.post(reverse("account_logout"))
    assert _sign_in_page(response)
    assert SIGNED_OUT in _messages(client.get(response.url))


def test_stay_signed_in_starts_the_time_again(client, office, clock):
    client.force_login(office)
    client.get(reverse("schedule"))
    clock.shift(28 * MINUTE)
    answer = client.post(PING_PATH)
    assert answer.json() == {"signed_in": True, "seconds_left": 30 * 60}
    clock.shift(28 * MINUTE)
    assert client.get(reverse("schedule")).status_code == 200


def test_stay_signed_in_needs_the_pages_csrf_token(office, clock):
    """Another site's page must not keep a session alive on a shared tablet."""
    client = Client(enforce_csrf_checks=True)
    client.force_login(office)
    client.get(reverse("schedule"))
    clock.shift(20 * MINUTE)
    assert client.post(PING_PATH).status_code == 403
    assert client.get(PING_PATH).json()["seconds_left"] == 10 * 60
    token = client.cookies["csrftoken"].value
    assert client.post(PING_PATH, headers={"X-CSRFToken": token}).status_code == 200
    assert client.get(PING_PATH).json()["seconds_left"] == 30 * 60


def test_a_stay_signed_in_that_came_too_late_is_refused(client, office, clock):
    client.force_login(office)
    client.get(reverse("schedule"))
    clock.shift(31 * MINUTE)
    answer = client.post(PING_PATH)
    assert answer.status_code == 401
    assert answer.json()["signed_in"] is False
    assert not _signed_in(client)


def test_asking_when_not_signed_in_says_so(client):
    answer = client.get(PING_PATH)
    assert answer.status_code == 401 and answer.json()["signed_in"] is False


def test_a_form_sent_after_the_idle_time_is_not_acted_on(client, office, clock, visit):
    client.force_login(office)
    client.get(reverse("schedule"))
    clock.shift(31 * MINUTE)
    response = client.post(reverse("visit-cancel", args=[visit.pk]), {"reason": "Not needed"})
    assert response.status_code == 302 and response.url == reverse("account_login")
    visit.refresh_from_db()
    assert visit.status != Status.CANCELLED


def test_signing_out_by_hand_says_nothing_about_idleness(client, office, clock):
    client.force_login(office)
    client.get(reverse("schedule"))
    clock.shift(5 * MINUTE)
    response = client.post(reverse("account_logout"))
    assert response.status_code == 302
    assert SIGNED_OUT not in _messages(client.get(response.url))


def test_the_page_tells_its_script_the_idle_time(client, office, settings):
    settings.SESSION_IDLE_MINUTES = 12
    client.force_login(office)
    page = client.get(reverse("schedule")).content.decode()
    assert 'data-signed-in="yes"' in page
    assert 'data-idle-minutes="12"' in page
    assert f'data-idle-ping="{PING_PATH}"' in page
    assert "js/idle.js" in page
    board = client.get(reverse("board")).content.decode()
    assert 'data-idle-exempt="yes"' in board


def test_a_page_for_nobody_signed_in_tells_its_script_so(client):
    page = client.get(reverse("account_login")).content.decode()
    assert 'data-signed-in="no"' in page
    assert "js/drafts.js" in page
    assert "js/idle.js" not in page
