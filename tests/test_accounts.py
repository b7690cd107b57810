"""Accounts (issue 11): signing in with a password then a code, the second factor the senior
roles must have, passwords, helping a colleague sign in, and every step on the audit trail.

A8: the new pages answer each role of the school, staff of another school and anonymous."""

import re
import time

import pytest
from allauth.mfa.models import Authenticator
from django.core import mail
from django.urls import reverse

from audit.models import Action, AuditEvent
from schools.models import Membership, Role

from .factories import SchoolFactory, UserFactory, enrol_totp, member, totp_code

SIGN_IN = "/accounts/login/"
CODE_STEP = "/accounts/2fa/authenticate/"
ENROL = "/accounts/2fa/"


def sign_in(client, username, password="pw", *, code=None, next_url=None):
    """The real form: the password step, then the code step when the account has a factor."""
    data = {"login": username, "password": password}
    if next_url:
        data["next"] = next_url
    response = client.post(SIGN_IN, data)
    if code is not None and response.status_code == 302 and response.url == CODE_STEP:
        response = client.post(CODE_STEP, {"code": code})
    return response


def signed_in_user(client):
    return client.get(reverse("my-profile")).wsgi_request.user


def events(action, **filters):
    return AuditEvent.objects.filter(action=action, **filters)


# --- Signing in: the password, then the code (second factor) -----------------------------------


def test_login_page_names_the_only_school_and_shows_no_directory_buttons(client, school):
    page = client.get(SIGN_IN).content.decode()

    assert "Heather Avenue Infant School" in page
    assert "Sign in with Microsoft" not in page and "Sign in with Google" not in page


def test_login_page_with_several_schools_names_the_product_unless_the_link_names_one(
    client, school, other_school
):
    plain = client.get(SIGN_IN).content.decode()
    named = client.get(SIGN_IN + "?school=sls").content.decode()
    unknown = client.get(SIGN_IN + "?school=nope%00<x>")

    assert "Heather Avenue" not in plain and "St Laurence" not in plain
    assert 'data-testid="sign-in-school">homevisits<' in plain
    assert "St Laurence&#x27;s School" in named
    assert unknown.status_code == 200


def test_login_page_offers_microsoft_only_when_it_is_configured(client, school, settings):
    settings.SOCIALACCOUNT_PROVIDERS = {
        "microsoft": {"APPS": [{"client_id": "abc", "secret": "s", "settings": {"tenant": "hai"}}]}
    }

    page = client.get(SIGN_IN).content.decode()

    assert "Sign in with Microsoft" in page
    assert "Sign in with Google" not in page


def test_senior_signs_in_with_password_then_the_code_of_their_app(client, dsl):
    first = client.post(SIGN_IN, {"login": "dsl", "password": "pw"})

    assert first.status_code == 302 and first.url == CODE_STEP
    assert not signed_in_user(client).is_authenticated  # the password alone is not enough

    second = client.post(CODE_STEP, {"code": totp_code(dsl)})

    assert second.status_code == 302
    assert signed_in_user(client) == dsl
    assert client.get("/").status_code == 302  # to the DSL's own page, not enrolment
    assert client.get("/", follow=True).redirect_chain[-1][0] == reverse("queue")


def test_signing_in_by_email_works_too(client, office):
    response = sign_in(client, "office@example.org")

    assert response.status_code == 302
    assert signed_in_user(client) == office


def test_a_wrong_code_is_refused_and_the_person_stays_signed_out(client, dsl):
    client.post(SIGN_IN, {"login": "dsl", "password": "pw"})
    right = totp_code(dsl)
    wrong = f"{(int(right) + 1) % 1_000_000:06d}"

    response = client.post(CODE_STEP, {"code": wrong})

    assert response.status_code == 200
    assert "Incorrect code" in response.content.decode()
    assert not signed_in_user(client).is_authenticated
    failed = events(Action.SIGN_IN_FAILED, target_id=str(dsl.pk))
    assert failed.count() == 1 and "code" in failed.get().detail


def test_a_wrong_password_is_refused_with_a_plain_message(client, office):
    response = client.post(SIGN_IN, {"login": "office", "password": "not it"})

    assert response.status_code == 200
    assert "not correct" in response.content.decode()
    assert not signed_in_user(client).is_authenticated


def test_admins_own_login_page_sends_people_to_the_sign_in_with_the_code(client, school):
    response = client.get("/admin/login/?next=/admin/")

    assert response.status_code == 302
    assert response.url.startswith(SIGN_IN) and "next=%2Fadmin%2F" in response.url


def test_superuser_reaches_the_admin_only_after_the_code(client, db):
    boss = UserFactory(username="boss", is_superuser=True, is_staff=True)

    sign_in(client, "boss", next_url="/admin/")
    assert client.get("/admin/").status_code == 302  # not signed in yet: the code step waits

    response = client.post(CODE_STEP, {"code": totp_code(boss)})

    assert response.url == "/admin/"
    assert client.get("/admin/").status_code == 200


def test_sign_out_is_a_post_and_a_get_changes_nothing(client, office):
    client.force_login(office)

    client.get(reverse("account_logout"))
    assert signed_in_user(client) == office

    response = client.post(reverse("account_logout"))

    assert response.status_code == 302
    assert not signed_in_user(client).is_authenticated


# --- A second factor for the senior roles ------------------------------------------------------


@pytest.fixture
def dsl_without_factor(school):
    return member(school, Role.DSL, Role.VISITING_STAFF, username="newdsl", second_factor=False)


def test_senior_without_a_factor_is_turned_back_to_enrolment_everywhere(
    client, dsl_without_factor, visit
):
    client.force_login(dsl_without_factor)

    for url in [
        "/",
        reverse("visit-detail", args=[visit.pk]),
        reverse("board"),
        "/admin/",
        reverse("queue"),
        reverse("concern-list"),
        reverse("my-profile"),
    ]:
        response = client.get(url)
        assert response.status_code == 302, url
        assert response.url == ENROL, url
    page = client.get(ENROL)
    assert page.status_code == 200
    assert "Your role reads safeguarding records, so your account needs a second factor" in (
        page.content.decode()
    )


def test_senior_without_a_factor_may_still_sign_out(client, dsl_without_factor):
    client.force_login(dsl_without_factor)

    response = client.post(reverse("account_logout"))

    assert response.status_code == 302 and response.url == SIGN_IN
    assert not signed_in_user(client).is_authenticated


def test_htmx_request_of_a_senior_without_a_factor_is_told_where_to_go(client, dsl_without_factor):
    client.force_login(dsl_without_factor)

    response = client.get(reverse("board-rows"), headers={"HX-Request": "true"})

    assert response["HX-Redirect"] == ENROL


def test_static_files_are_not_turned_back(client, dsl_without_factor):
    client.force_login(dsl_without_factor)

    response = client.get("/static/css/homevisits.css")

    assert not (response.status_code == 302 and response.url == ENROL)


@pytest.mark.parametrize("role", [Role.DEPUTY_DSL, Role.HEADTEACHER, Role.SLT, Role.SCHOOL_ADMIN])
def test_each_senior_role_needs_a_factor(client, school, role):
    person = member(school, role, username="senior", second_factor=False)
    client.force_login(person)

    assert client.get("/").url == ENROL


def test_a_senior_role_at_another_school_needs_a_factor_here_too(client, school, other_school):
    person = member(school, Role.OFFICE, username="twohats", second_factor=False)
    Membership.objects.create(user=person, school=other_school, role=Role.SLT)
    client.force_login(person)

    assert client.get("/").url == ENROL


def test_superuser_without_a_factor_is_turned_back_with_the_reason(client, db):
    boss = UserFactory(username="boss", is_superuser=True, is_staff=True, second_factor=False)
    client.force_login(boss)

    assert client.get("/admin/").url == ENROL
    assert "Your account runs the whole site" in client.get(ENROL).content.decode()


@pytest.mark.parametrize("who", ["office", "visitor"])
def test_office_and_visiting_staff_need_no_factor(client, request, who):
    person = request.getfixturevalue(who)
    assert not Authenticator.objects.filter(user=person).exists()
    client.force_login(person)

    response = client.get("/", follow=True)

    assert response.status_code == 200
    assert response.redirect_chain[-1][0] != ENROL
    assert "needs a second factor" not in client.get(ENROL).content.decode()


def test_senior_enrols_an_authenticator_app_then_reaches_their_pages(
    client, dsl_without_factor, django_capture_on_commit_callbacks
):
    from allauth.mfa.totp.internal.auth import SECRET_SESSION_KEY

    from accounts.demo import current_code

    sign_in(client, "newdsl")
    activate = reverse("mfa_activate_totp")
    asked = client.get(activate)  # allauth asks for the password again before any change
    assert asked.url.startswith(reverse("account_reauthenticate"))
    client.post(reverse("account_reauthenticate"), {"password": "pw", "next": activate})
    page = client.get(activate)
    assert page.status_code == 200
    secret = client.session[SECRET_SESSION_KEY]

    with django_capture_on_commit_callbacks(execute=True):  # allauth signals after commit
        response = client.post(activate, {"code": current_code(secret)})

    assert response.status_code == 302
    assert Authenticator.objects.filter(user=dsl_without_factor, type="totp").exists()
    assert client.get("/", follow=True).redirect_chain[-1][0] == reverse("queue")
    assert events(Action.FACTOR_ADDED, target_id=str(dsl_without_factor.pk)).exists()


def test_removing_the_last_factor_of_a_senior_brings_them_back_to_enrolment(client, dsl):
    sign_in(client, "dsl", code=totp_code(dsl))
    assert client.get("/").url == reverse("queue")

    deactivate = reverse("mfa_deactivate_totp")
    client.post(reverse("account_reauthenticate"), {"password": "pw", "next": deactivate})
    response = client.post(deactivate)

    assert response.status_code == 302
    assert not Authenticator.objects.filter(user=dsl, type="totp").exists()
    assert client.get("/").url == ENROL
    assert events(Action.FACTOR_REMOVED, target_id=str(dsl.pk)).exists()


def test_office_may_enrol_from_their_profile(client, office):
    client.force_login(office)

    page = client.get(reverse("my-profile")).content.decode()

    assert "Sign-in and security" in page
    assert reverse("mfa_index") in page and reverse("account_change_password") in page
    assert reverse("accounts-staff") not in page  # the office helps nobody sign in
    assert client.get(reverse("mfa_index")).status_code == 200


def test_dsl_profile_links_to_colleagues_sign_in(client, dsl):
    client.force_login(dsl)

    assert reverse("accounts-staff") in client.get(reverse("my-profile")).content.decode()


# --- Passwords ---------------------------------------------------------------------------------


def test_password_reset_by_email_then_signing_in_with_the_new_one(client, office, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"

    response = client.post(reverse("account_reset_password"), {"email": "office@example.org"})

    assert response.status_code == 302
    assert len(mail.outbox) == 1 and mail.outbox[0].to == ["office@example.org"]
    link = re.search(r"https?://[^/\s]+(/accounts/password/reset/key/\S+/)", mail.outbox[0].body)
    form = client.get(link.group(1), follow=True)
    assert form.status_code == 200
    set_url = form.redirect_chain[-1][0]
    done = client.post(
        set_url, {"password1": "a long new passphrase 42", "password2": "a long new passphrase 42"}
    )
    assert done.status_code == 302
    assert events(Action.PASSWORD_RESET, target_id=str(office.pk)).count() == 1

    client.logout()
    assert sign_in(client, "office", "a long new passphrase 42").status_code == 302
    assert signed_in_user(client) == office


def test_password_reset_for_an_unknown_email_says_the_same_and_resets_nothing(client, office):
    response = client.post(reverse("account_reset_password"), {"email": "nobody@example.org"})

    assert response.status_code == 302
    assert not events(Action.PASSWORD_RESET).exists()


def test_password_reset_with_a_bad_key_is_a_clear_page_not_an_error(client, office):
    response = client.get("/accounts/password/reset/key/zz-nonsense/", follow=True)

    assert response.status_code == 200
    assert "Bad Token" in response.content.decode() or "invalid" in response.content.decode()


def test_password_change_needs_the_old_one_and_a_long_new_one(client, office):
    client.force_login(office)
    url = reverse("account_change_password")
    assert client.get(url).status_code == 200

    short = client.post(url, {"oldpassword": "pw", "password1": "short1", "password2": "short1"})
    assert short.status_code == 200
    assert "at least 12 characters" in short.content.decode()
    common = client.post(
        url, {"oldpassword": "pw", "password1": "password1234", "password2": "password1234"}
    )
    assert "too common" in common.content.decode()

    done = client.post(
        url,
        {
            "oldpassword": "pw",
            "password1": "correct horse battery",
            "password2": "correct horse battery",
        },
    )

    assert done.status_code == 302
    office.refresh_from_db()
    assert office.check_password("correct horse battery")
    assert events(Action.PASSWORD_CHANGED, target_id=str(office.pk)).count() == 1


# --- The audit trail of accounts ---------------------------------------------------------------


def test_sign_in_is_recorded_once_for_each_school_of_the_person(client, school, other_school):
    person = member(school, Role.OFFICE, username="twoschools")
    Membership.objects.create(user=person, school=other_school, role=Role.VISITING_STAFF)

    sign_in(client, "twoschools")

    signed = events(Action.SIGNED_IN, actor=person)
    assert {e.school_id for e in signed} == {school.pk, other_school.pk}


def test_sign_in_of_a_person_with_no_school_is_recorded_without_one(client, db):
    UserFactory(username="starter")

    sign_in(client, "starter")

    assert events(Action.SIGNED_IN, actor_name="starter", school=None).count() == 1


def test_failed_sign_in_keeps_what_was_typed_never_the_password(client, office):
    client.post(SIGN_IN, {"login": "office", "password": "Secret-typed-99"})
    client.post(SIGN_IN, {"login": "ghost", "password": "Secret-typed-99"})

    known = events(Action.SIGN_IN_FAILED, actor_name="office").get()
    unknown = events(Action.SIGN_IN_FAILED, actor_name="ghost").get()
    assert known.school_id == office.memberships.get().school_id
    assert known.target_id == str(office.pk)
    assert unknown.school_id is None
    for event in AuditEvent.objects.all():
        assert "Secret-typed-99" not in f"{event.detail}{event.actor_name}{event.target_label}"


def test_sign_out_is_recorded(client, office):
    sign_in(client, "office")

    client.post(reverse("account_logout"))

    assert events(Action.SIGNED_OUT, actor=office).count() == 1


# --- Resetting a colleague's second factors (a lost phone) -------------------------------------


def test_dsl_resets_a_colleagues_factors_who_is_emailed_and_must_enrol_again(
    client, dsl, deputy, settings, django_capture_on_commit_callbacks
):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    client.force_login(dsl)
    url = reverse("accounts-factors-reset", args=[deputy.pk])
    assert "Reset second factors" in client.get(url).content.decode()

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url)

    assert response.status_code == 302
    assert not Authenticator.objects.filter(user=deputy).exists()
    reset = events(Action.FACTORS_RESET).get()
    assert reset.actor == dsl and reset.target_id == str(deputy.pk)
    assert reset.school_id == dsl.memberships.first().school_id
    assert len(mail.outbox) == 1 and mail.outbox[0].to == [deputy.email]
    assert "removed the second factors" in mail.outbox[0].body
    client.force_login(deputy)
    assert client.get("/").url == ENROL


def test_school_admin_resets_a_colleagues_factors(client, school_admin, head):
    client.force_login(school_admin)

    client.post(reverse("accounts-factors-reset", args=[head.pk]))

    assert not Authenticator.objects.filter(user=head).exists()


def test_nobody_resets_their_own_factors_through_this_page(client, dsl):
    client.force_login(dsl)

    response = client.post(reverse("accounts-factors-reset", args=[dsl.pk]))

    assert response.status_code == 403
    assert Authenticator.objects.filter(user=dsl).exists()
    assert not events(Action.FACTORS_RESET).exists()


def test_a_superuser_factors_are_never_reset_from_a_school(client, school, dsl):
    boss = member(school, Role.OFFICE, username="boss", is_superuser=True)

    response = client.post(reverse("accounts-factors-reset", args=[boss.pk]))
    assert response.status_code == 302  # anonymous: to the sign-in
    client.force_login(dsl)
    response = client.post(reverse("accounts-factors-reset", args=[boss.pk]))

    assert response.status_code == 403
    assert Authenticator.objects.filter(user=boss).exists()


def test_a8_another_schools_person_is_not_found(client, dsl, outsider):
    client.force_login(dsl)

    response = client.post(reverse("accounts-factors-reset", args=[outsider.pk]))

    assert response.status_code == 404
    assert Authenticator.objects.filter(user=outsider).exists()


def test_the_reset_page_lists_colleagues_of_the_school_only(client, dsl, office, outsider):
    client.force_login(dsl)

    page = client.get(reverse("accounts-staff")).content.decode()

    assert "office" in page and "outsider" not in page


# --- A8: every new page, every role ------------------------------------------------------------

PEOPLE = ["office", "visitor", "dsl", "deputy", "head", "slt", "school_admin", "outsider"]
# Who sees the colleagues' sign-in page: the DSL, the headteacher (to unlock) and the school admin.
STAFF_PAGE = {"dsl": 200, "head": 200, "school_admin": 200, "outsider": 200}
# Who may reset the visitor's factors: the DSL and the school admin of the visitor's school.
RESET_PAGE = {"dsl": 200, "school_admin": 200}


@pytest.fixture
def everyone(request, office, visitor, dsl, deputy, head, slt, school_admin, outsider):
    return {name: request.getfixturevalue(name) for name in PEOPLE}


@pytest.mark.parametrize("who", PEOPLE)
def test_a8_colleagues_sign_in_page(client, everyone, who):
    client.force_login(everyone[who])

    response = client.get(reverse("accounts-staff"))

    assert response.status_code == STAFF_PAGE.get(who, 404)
    if who == "outsider":
        assert "Vic" not in response.content.decode()  # nobody of the other school is listed


@pytest.mark.parametrize("who", PEOPLE)
def test_a8_factor_reset_page(client, everyone, who):
    client.force_login(everyone[who])
    url = reverse("accounts-factors-reset", args=[everyone["visitor"].pk])
    enrol_totp(everyone["visitor"])

    assert client.get(url).status_code == RESET_PAGE.get(who, 404)
    assert client.post(url).status_code == (302 if who in RESET_PAGE else 404)
    assert Authenticator.objects.filter(user=everyone["visitor"]).exists() == (
        who not in RESET_PAGE
    )


@pytest.mark.parametrize(
    "url",
    [
        reverse("accounts-staff"),
        reverse("accounts-factors-reset", args=[1]),
    ],
)
def test_a8_anonymous_is_sent_to_the_sign_in(client, db, url):
    response = client.get(url)

    assert response.status_code == 302 and response.url.startswith(SIGN_IN + "?next=")


def test_anonymous_unlock_is_sent_to_the_sign_in(client, db):
    response = client.post(reverse("accounts-unlock"), {"username": "visitor"})

    assert response.status_code == 302 and response.url.startswith(SIGN_IN)


def test_a_bad_person_number_is_a_404_not_an_error(client, dsl):
    client.force_login(dsl)

    assert client.get("/accounts/staff/999999/second-factors/reset/").status_code == 404
    assert client.get("/accounts/staff/abc/second-factors/reset/").status_code == 404


# --- Signing in with the school's directory (no internet: the adapter alone) -------------------


def _social_login(provider, email, *, verified=True, uid="u-1"):
    from allauth.account.models import EmailAddress
    from allauth.socialaccount.models import SocialAccount, SocialLogin

    account = SocialAccount(provider=provider, uid=uid, extra_data={})
    return SocialLogin(
        account=account,
        email_addresses=[EmailAddress(email=email, verified=verified, primary=True)],
    )


@pytest.fixture
def directory(db, settings, rf):
    settings.SOCIALACCOUNT_PROVIDERS = {
        "google": {"APPS": [{"client_id": "g", "secret": "s"}]},
        "microsoft": {"APPS": [{"client_id": "m", "secret": "s", "settings": {"tenant": "hai"}}]},
    }
    from allauth.core import context
    from django.contrib.auth.models import AnonymousUser
    from django.contrib.sessions.backends.db import SessionStore

    request = rf.get("/accounts/google/login/callback/")
    request.user = AnonymousUser()
    request.session = SessionStore()
    with context.request_context(request):
        yield request


def test_directory_sign_in_connects_to_the_account_with_that_verified_email(directory, office):
    from accounts.adapter import SocialAccountAdapter

    sociallogin = _social_login("google", "OFFICE@example.org")

    SocialAccountAdapter(directory).pre_social_login(directory, sociallogin)

    assert sociallogin.user == office
    assert office.socialaccount_set.filter(provider="google").exists()


@pytest.mark.parametrize(
    "email, verified",
    [("stranger@example.org", True), ("office@example.org", False)],
    ids=["no such account", "email not verified"],
)
def test_directory_sign_in_never_makes_an_account(directory, office, email, verified):
    from allauth.core.exceptions import ImmediateHttpResponse

    from accounts.adapter import SocialAccountAdapter

    with pytest.raises(ImmediateHttpResponse) as refused:
        SocialAccountAdapter(directory).pre_social_login(
            directory, _social_login("google", email, verified=verified)
        )

    assert refused.value.response.status_code == 403
    assert "No account here has that email address" in refused.value.response.content.decode()
    assert not office.socialaccount_set.exists()
    assert events(Action.SIGN_IN_FAILED, actor_name="Google sign-in").count() == 1


def test_directory_sign_in_refuses_a_switched_off_account(directory, office):
    from allauth.core.exceptions import ImmediateHttpResponse

    from accounts.adapter import SocialAccountAdapter

    office.is_active = False
    office.save()

    with pytest.raises(ImmediateHttpResponse):
        SocialAccountAdapter(directory).pre_social_login(
            directory, _social_login("google", "office@example.org")
        )


def test_microsoft_email_counts_only_from_the_schools_own_tenant(directory, settings):
    from allauth.socialaccount.adapter import get_adapter

    from accounts.adapter import SocialAccountAdapter

    adapter = SocialAccountAdapter(directory)
    own = get_adapter(directory).get_provider(directory, "microsoft")
    assert adapter.is_email_verified(own, "office@example.org")

    settings.SOCIALACCOUNT_PROVIDERS["microsoft"]["APPS"][0]["settings"]["tenant"] = "organizations"
    shared = get_adapter(directory).get_provider(directory, "microsoft")
    assert not adapter.is_email_verified(shared, "office@example.org")


def test_sign_up_is_closed(client, db):
    response = client.get("/accounts/signup/")

    assert response.status_code == 200
    assert "closed" in response.content.decode().lower()


# --- The demo's codes on the sign-in page ------------------------------------------------------


def test_demo_codes_show_only_with_debug_on_and_the_demo_loaded(client, school, settings):
    from accounts.demo import DEMO_TOTP_SECRET, current_code, enrol_demo_factor

    head = member(school, Role.HEADTEACHER, username="demohead", second_factor=False)
    settings.DEBUG = True
    assert "Demo codes" not in client.get(SIGN_IN).content.decode()  # no demo loaded

    enrol_demo_factor(head)
    page = client.get(SIGN_IN).content.decode()
    assert "Demo codes" in page
    now = time.time()
    shown = re.search(r'data-testid="demo-code-demohead">(\d{6})<', page).group(1)
    assert shown in {current_code(DEMO_TOTP_SECRET, at=at) for at in (now, now - 30)}

    settings.DEBUG = False
    assert "Demo codes" not in client.get(SIGN_IN).content.decode()


def test_an_unrelated_school_does_not_change_who_needs_a_factor(db):
    from accounts.access import needs_second_factor

    other = SchoolFactory()
    person = member(other, Role.OFFICE, username="plain")

    assert not needs_second_factor(person)


def test_demo_seniors_sign_in_with_the_code_the_sign_in_page_shows(client, db, settings):
    import io

    from django.core.management import call_command

    settings.DEBUG = True  # as `make run` loads and serves it
    call_command("load_demo", stdout=io.StringIO())

    page = client.get(SIGN_IN).content.decode()
    shown = dict(re.findall(r'data-testid="demo-code-([\w-]+)">(\d{6})<', page))

    assert set(shown) == {"dsl", "head", "deputy", "slt", "admin", "trust", "sls-dsl"}
    client.post(SIGN_IN, {"login": "dsl", "password": "homevisits-demo"})
    assert client.post(CODE_STEP, {"code": shown["dsl"]}).status_code == 302
    assert client.get("/").url == reverse("queue")


# --- In a real browser, under the site's Content-Security-Policy --------------------------------


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_browser_senior_signs_in_with_the_code_and_enrols_without_csp_errors(
    browser_page, live_server, dsl, school
):
    from .browser import sign_in

    page = browser_page
    refused = []
    page.on(
        "console", lambda msg: refused.append(msg.text) if msg.text.startswith("Refused") else None
    )
    sign_in(page, live_server, dsl)
    assert page.url.endswith(reverse("queue"))

    page.goto(live_server.url + reverse("mfa_index"))
    assert page.locator("h1").first.inner_text() == "Two-Factor Authentication"
    page.goto(live_server.url + reverse("mfa_add_webauthn"))  # allauth's passkey scripts
    page.goto(live_server.url + SIGN_IN)  # signed in: allauth sends them on
    page.context.clear_cookies()
    page.goto(live_server.url + SIGN_IN)
    assert page.get_by_text("Heather Avenue Infant School").is_visible()
    assert refused == []


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_browser_senior_without_a_factor_lands_on_enrolment_with_the_reason(
    browser_page, live_server, school
):
    from .browser import sign_in

    newcomer = member(school, Role.HEADTEACHER, username="newhead", second_factor=False)
    page = browser_page

    sign_in(page, live_server, newcomer)

    assert page.url.endswith(ENROL)
    assert page.get_by_test_id("second-factor-needed").is_visible()
