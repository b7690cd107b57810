"""People of a school, named for who they are (STYLE.md), and a ready-made visit."""

import datetime

import pytest

from schools.models import Role
from visits import services

from .browser import browser_page  # noqa: F401  (a fixture for tests/test_browser.py)
from .factories import RISK_ANSWERS, PupilFactory, SchoolFactory, member, visit_details

MINUTE = datetime.timedelta(minutes=1)


@pytest.fixture(autouse=True)
def _fresh_cache(settings, request):
    """Each test counts rate limits and throttles from nothing, in a cache of its own (never
    Redis's, which the Celery tests' broker shares)."""
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": request.node.nodeid,
        }
    }


@pytest.fixture(autouse=True)
def _superuser_has_a_second_factor(request):
    """pytest-django's admin_user is a superuser, and every superuser needs a second factor."""
    if "admin_user" in request.fixturenames:
        from .factories import enrol_totp

        enrol_totp(request.getfixturevalue("admin_user"))


@pytest.fixture
def school(db):
    return SchoolFactory(name="Heather Avenue Infant School", slug="hai")


@pytest.fixture
def other_school(db):
    return SchoolFactory(name="St Laurence's School", slug="sls")


@pytest.fixture
def office(school):
    return member(school, Role.OFFICE, username="office", first_name="Olive", last_name="Office")


@pytest.fixture
def dsl(school):
    return member(
        school, Role.DSL, Role.VISITING_STAFF, username="dsl", first_name="Dee", last_name="Lead"
    )


@pytest.fixture
def deputy(school):
    return member(school, Role.DEPUTY_DSL, username="deputy", first_name="Dan", last_name="Deputy")


@pytest.fixture
def head(school):
    return member(school, Role.HEADTEACHER, username="head", first_name="Hazel", last_name="Head")


@pytest.fixture
def slt(school):
    return member(school, Role.SLT, username="slt", first_name="Sam", last_name="Senior")


@pytest.fixture
def visitor(school):
    return member(
        school, Role.VISITING_STAFF, username="visitor", first_name="Vic", last_name="Visitor"
    )


@pytest.fixture
def partner(school):
    return member(
        school, Role.VISITING_STAFF, username="partner", first_name="Pat", last_name="Partner"
    )


@pytest.fixture
def colleague(school):
    """Visiting staff at the same school who is not on the visit (A8: must not see it)."""
    return member(
        school, Role.VISITING_STAFF, username="colleague", first_name="Col", last_name="League"
    )


@pytest.fixture
def school_admin(school):
    return member(
        school, Role.SCHOOL_ADMIN, username="schooladmin", first_name="Ada", last_name="Admin"
    )


@pytest.fixture
def outsider(other_school):
    """The DSL of another school: sees nothing of this school's visits (A8)."""
    return member(other_school, Role.DSL, Role.OFFICE, Role.HEADTEACHER, username="outsider")


@pytest.fixture
def pupil(school):
    return PupilFactory(school=school, first_name="Poppy", last_name="Pupil")


def make_visit(*, pupil, by, staff, details=None, risk=True, submit=False):
    """A visit through the real services, optionally risk-assessed and submitted."""
    visit = services.visit_create(
        pupil=pupil,
        by=by,
        details=visit_details(**(details or {})),
        staff=[(user, user.staff_profile.mobile) for user in staff],
    )
    if risk:
        # The pupil's record wins over an answer (D4, P5, P6): a planner answers yes to what
        # it says, unless the test asks otherwise.
        from_record = {
            "animals": pupil.has_animals,
            "previous_aggression": pupil.previous_aggression,
        }
        answers = (
            RISK_ANSWERS
            | {name: True for name, flagged in from_record.items() if flagged}
            | (risk if isinstance(risk, dict) else {})
        )
        services.risk_assessment_record(visit=visit, by=by, answers=answers)
    if submit:
        services.visit_submit(visit=visit, by=by)
    visit.refresh_from_db()
    return visit


@pytest.fixture
def visit(pupil, office, visitor, partner):
    """A complete paired visit tomorrow, submitted and awaiting authorisation."""
    return make_visit(pupil=pupil, by=office, staff=[visitor, partner], submit=True)


@pytest.fixture
def authorised_visit(visit, head):
    authorised = services.visit_authorise(
        visit=visit, by=head, expected_version=visit.version, confirmed=True
    )
    # The planning emails (asked to authorise, told it was authorised: escalation/notices.py,
    # tests/test_authorisation_notices.py) are not what the overdue watch's tests count.
    from notifications.models import Notification

    Notification.objects.filter(key__startswith=f"visit:{visit.pk}:").delete()
    return authorised


@pytest.fixture
def start(authorised_visit):
    return authorised_visit.planned_start


@pytest.fixture
def on_site_visit(authorised_visit, visitor, start):
    services.visit_arrive(visit=authorised_visit, by=visitor, now=start + MINUTE * 5)
    authorised_visit.refresh_from_db()
    return authorised_visit


@pytest.fixture
def return_deadline(on_site_visit):
    return on_site_visit.next_deadline


@pytest.fixture
def overdue(on_site_visit, return_deadline):
    """Staff not back: the sweep has raised step 1 (E1)."""
    from escalation.models import Escalation
    from escalation.services import sweep

    sweep(now=return_deadline)
    return Escalation.objects.get(visit=on_site_visit)


@pytest.fixture(autouse=True)
def _plain_static_files(settings):
    # Tests render templates without running collectstatic first.
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }


@pytest.fixture(autouse=True)
def _fast_password_hasher(settings):
    # Every fixture person has a password; the real hasher costs ~0.5 s each.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _outbox_sends_inline(settings):
    # Senders in threads would each open a connection that cannot see a test's uncommitted
    # rows; tests that need real threads ask for them (tests/test_outbox.py).
    settings.OUTBOX_THREADS_PER_CHANNEL = 0
    settings.OUTBOX_SEND_TIMEOUT = 2
    # The fake push service is on loopback.
    settings.PUSH_ALLOW_LOOPBACK = True


NOTIFY_SMS_TEMPLATE = "9a4c2e1b-5f3d-4b8a-9c7e-1d2f3a4b5c6d"


class Gateways:
    """What the gateways received: SMS at the fake Notify, email in Django's test outbox."""

    def __init__(self, notify):
        self.notify = notify

    def sent(self):
        """(channel, address, outbox key) of every message the gateways took, in order."""
        from django.core import mail

        from notifications.email.transport import message_id
        from notifications.models import Notification

        by_message_id = {message_id(row): row for row in Notification.objects.all()}
        sms = [("sms", m["phone_number"], m["reference"]) for m in self.notify.messages]
        emails = []
        for email in mail.outbox:
            row = by_message_id.get(email.extra_headers.get("Message-ID"))
            emails.append(("email", email.to[0], row.key if row else None))
        return emails + sms


@pytest.fixture
def gateways(settings):
    """Real transports against loopback: a fake GOV.UK Notify for SMS, reached through the
    official client, and Django's in-memory mail backend for email."""
    from notifications.notify.fakes import API_KEY, FakeNotify

    with FakeNotify() as notify:
        settings.NOTIFY_API_KEY = API_KEY
        settings.NOTIFY_BASE_URL = notify.url
        settings.NOTIFY_SMS_TEMPLATE_ID = NOTIFY_SMS_TEMPLATE
        settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
        settings.NOTIFICATION_TRANSPORTS = {
            "email": "notifications.email.transport.EmailTransport",
            "sms": "notifications.notify.transport.NotifySMSTransport",
        }
        yield Gateways(notify)


@pytest.fixture
def phones(settings):
    """Texts and calls through Twilio's official client to a fake Twilio on loopback."""
    from notifications.twilio.fakes import ACCOUNT_SID, AUTH_TOKEN, FROM, FakeTwilio

    with FakeTwilio() as fake:
        settings.TWILIO_ACCOUNT_SID, settings.TWILIO_AUTH_TOKEN = ACCOUNT_SID, AUTH_TOKEN
        settings.TWILIO_FROM, settings.TWILIO_BASE_URL = FROM, fake.url
        settings.NOTIFICATION_TRANSPORTS = {
            **settings.NOTIFICATION_TRANSPORTS,
            "sms": "notifications.twilio.transport.TwilioSMSTransport",
            "voice": "notifications.twilio.transport.TwilioVoiceTransport",
        }
        yield fake
