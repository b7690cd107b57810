"""The lockout (django-axes): by account, never by address, since a school's staff share one
public address; unlocking by the DSL, the headteacher or the school admin, on the audit trail.

A8: the unlock answers only people of the locked person's school."""

import datetime

import pytest
import time_machine
from django.conf import settings as django_settings
from django.urls import reverse
from django.utils import timezone

from audit.models import Action, AuditEvent

SIGN_IN = "/accounts/login/"
SCHOOL_ADDRESS = "203.0.113.7"


def attempt(client, login, password="wrong password"):
    return client.post(SIGN_IN, {"login": login, "password": password}, REMOTE_ADDR=SCHOOL_ADDRESS)


def lock(client, login="visitor"):
    responses = [attempt(client, login) for _ in range(django_settings.AXES_FAILURE_LIMIT)]
    return responses[-1]


def signed_in(client):
    return client.get(reverse("my-profile")).wsgi_request.user.is_authenticated


def test_axes_is_told_which_account_allauths_form_names():
    """allauth hands authenticate() `username=` or `email=`, never `login=`: without this,
    axes counts failures against no account at all and never locks anyone."""
    assert django_settings.AXES_USERNAME_CALLABLE == "accounts.lockout.axes_username"


def test_allauths_own_count_by_account_leaves_the_locked_page_to_axes():
    """allauth's throttle by what was typed must allow more failures than axes, or a locked
    person sees allauth's terse error instead of the page that says what to do."""
    from allauth.account import app_settings

    limits = app_settings.RATE_LIMITS.get("login_failed", "")
    per_key = [part for part in limits.split(",") if part.endswith("/key")]
    assert all(int(part.split("/")[0]) > django_settings.AXES_FAILURE_LIMIT for part in per_key)


def test_too_many_wrong_passwords_lock_the_account_with_a_clear_page(client, visitor):
    for _ in range(django_settings.AXES_FAILURE_LIMIT - 1):
        assert attempt(client, "visitor").status_code == 200

    response = attempt(client, "visitor")

    assert response.status_code == 429
    page = response.content.decode()
    assert f"locked for {django_settings.AXES_COOLOFF_MINUTES} minutes" in page
    assert "colleagues can still sign in" in page
    assert "DSL" in page and "headteacher" in page and "school admin" in page


def test_the_right_password_is_refused_while_the_account_is_locked(client, visitor):
    lock(client)

    response = attempt(client, "visitor", "pw")

    assert response.status_code == 429
    assert not signed_in(client)


def test_a_colleague_at_the_same_address_is_not_locked(client, visitor, partner):
    lock(client)
    client.cookies.clear()

    response = attempt(client, "partner", "pw")

    assert response.status_code == 302
    assert signed_in(client)


def test_failures_by_email_and_by_username_lock_the_same_account(client, visitor):
    from axes.models import AccessAttempt

    for _ in range(2):
        attempt(client, "visitor")
    for _ in range(django_settings.AXES_FAILURE_LIMIT - 2):
        last = attempt(client, "Visitor@Example.org")

    assert last.status_code == 429
    assert set(AccessAttempt.objects.values_list("username", flat=True)) == {"visitor"}
    assert attempt(client, "visitor", "pw").status_code == 429


def test_the_lock_lifts_by_itself_after_the_cool_off(client, visitor):
    lock(client)

    later = timezone.now() + datetime.timedelta(minutes=django_settings.AXES_COOLOFF_MINUTES + 1)
    with time_machine.travel(later, tick=False):
        response = attempt(client, "visitor", "pw")

    assert response.status_code == 302


def test_lockout_and_failures_are_on_the_schools_trail(client, visitor, school):
    lock(client)

    locked = AuditEvent.objects.filter(action=Action.LOCKED_OUT)
    assert locked.count() >= 1
    assert {e.school_id for e in locked} == {school.pk}
    assert locked.first().target_id == str(visitor.pk)
    failed = AuditEvent.objects.filter(action=Action.SIGN_IN_FAILED, actor_name="visitor")
    assert failed.count() == django_settings.AXES_FAILURE_LIMIT


# --- Unlocking ---------------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["dsl", "head", "school_admin"])
def test_the_dsl_head_or_admin_sees_the_locked_account_and_unlocks_it(
    client, request, visitor, who
):
    helper = request.getfixturevalue(who)
    lock(client)
    client.force_login(helper)

    page = client.get(reverse("accounts-staff")).content.decode()
    assert "Locked accounts" in page and "visitor" in page

    response = client.post(reverse("accounts-unlock"), {"username": "visitor"})

    assert response.status_code == 302
    unlocked = AuditEvent.objects.get(action=Action.UNLOCKED)
    assert unlocked.actor == helper and unlocked.target_id == str(visitor.pk)
    assert (
        "Nobody at your school is locked out"
        in client.get(reverse("accounts-staff")).content.decode()
    )
    client.logout()
    assert attempt(client, "visitor", "pw").status_code == 302
    assert signed_in(client)


def test_unlocking_someone_not_locked_changes_nothing(client, dsl, visitor):
    client.force_login(dsl)

    response = client.post(reverse("accounts-unlock"), {"username": "visitor"}, follow=True)

    assert "was not locked out" in response.content.decode()
    assert not AuditEvent.objects.filter(action=Action.UNLOCKED).exists()


PEOPLE = ["office", "visitor", "deputy", "slt", "outsider", "partner"]


@pytest.mark.parametrize("who", PEOPLE)
def test_a8_nobody_else_unlocks(client, request, colleague, who):
    """Office, visiting staff, deputy DSL, SLT, and the DSL of another school: 404."""
    person = request.getfixturevalue(who)
    lock(client, "colleague")
    client.force_login(person)

    response = client.post(reverse("accounts-unlock"), {"username": "colleague"})

    assert response.status_code == 404
    assert not AuditEvent.objects.filter(action=Action.UNLOCKED).exists()
    client.logout()
    assert attempt(client, "colleague", "pw").status_code == 429


def test_a8_locked_list_shows_only_the_helpers_school(client, visitor, outsider):
    lock(client, "visitor")
    client.force_login(outsider)

    page = client.get(reverse("accounts-staff")).content.decode()

    assert "Nobody at your school is locked out" in page


def test_unlock_needs_a_post(client, dsl):
    client.force_login(dsl)

    assert client.get(reverse("accounts-unlock")).status_code == 405


def test_unlock_of_nonsense_is_a_404_not_an_error(client, dsl):
    client.force_login(dsl)

    assert client.post(reverse("accounts-unlock"), {"username": "x" * 5000}).status_code == 404
    assert client.post(reverse("accounts-unlock"), {}).status_code == 404
