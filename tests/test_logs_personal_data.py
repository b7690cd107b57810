"""Logs carry no personal data (issue "every alert reaches a person", item 9): canaries (names,
mobiles, emails, an address, a code word, a concern's words, a note from the door) are planted,
the day runs through alerts, messages sent to no gateway (the log), a failing gateway, a concern
and a visit called off at the door, and every line the app logs is searched for them.
"""

import io
import logging

import pytest

from escalation.services import sweep
from homevisits.logging import RedactPersonalData, redact
from notifications import delivery
from safeguarding.services.concerns import concern_raise
from schools.models import Role
from visits import services
from visits.models import DoorReason

from .conftest import make_visit
from .factories import PupilFactory, member

CANARIES = [
    "Zebedee",
    "Canarywing",
    "07700 900987",
    "+447700900987",
    "zebedee@canary.example",
    "Tweety",
    "Canaryson",
    "Canary Wharf",
    "BLUEBIRD-CANARY",
    "CANARY-CONCERN-TEXT",
    "CANARY-DOOR-NOTE",
]


@pytest.fixture
def log_lines():
    """Every record the app logs, as the console handler writes it (with its filter)."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s %(message)s"))
    handler.addFilter(RedactPersonalData())
    handler.setLevel(logging.DEBUG)
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    yield stream
    root.removeHandler(handler)
    root.setLevel(level)


def test_a_day_of_alerts_and_reports_logs_no_personal_data(
    log_lines, gateways, settings, school, head, dsl, partner
):
    office = member(
        school,
        Role.OFFICE,
        username="canary-office",
        first_name="Zebedee",
        last_name="Canarywing",
        email="zebedee@canary.example",
        mobile="07700 900987",
    )
    pupil = PupilFactory(
        school=school, first_name="Tweety", last_name="Canaryson", address="1 Canary Wharf\nLondon"
    )
    visitor = member(school, Role.VISITING_STAFF, username="v", mobile="07700 900111")
    visit = make_visit(
        pupil=pupil,
        by=office,
        staff=[visitor, partner],
        details={"code_word": "BLUEBIRD-CANARY"},
        submit=True,
    )
    visit = services.visit_authorise(
        visit=visit, by=head, expected_version=visit.version, confirmed=True
    )
    services.visit_arrive(visit=visit, by=visitor, now=visit.planned_start)
    visit.refresh_from_db()
    # Texts to a gateway that fails, email to no gateway at all (the log).
    gateways.notify.behaviour.failure_rate = 1.0
    settings.NOTIFICATION_TRANSPORTS = {
        **settings.NOTIFICATION_TRANSPORTS,
        "email": "notifications.log.transport.LogTransport",
    }
    sweep(now=visit.next_deadline)
    delivery.deliver_due(budget_seconds=5, now=visit.next_deadline)
    concern_raise(
        pupil=pupil, by=partner, account="CANARY-CONCERN-TEXT about Tweety", now=visit.next_deadline
    )
    services.visit_cancel_at_door(
        visit=visit,
        by=visitor,
        reason=DoorReason.CHILD_ALONE,
        note="CANARY-DOOR-NOTE",
        now=visit.next_deadline,
    )
    delivery.deliver_due(budget_seconds=5, now=visit.next_deadline)

    text = log_lines.getvalue()
    assert "No gateway for Email" in text  # the log transport did write
    assert "failed" in text  # and the failing gateway's errors were logged
    for canary in CANARIES:
        assert canary not in text, canary


@pytest.mark.parametrize(
    ("line", "clean"),
    [
        (
            "Key (key)=(esc1:step1:sms:07700 900987) exists",
            "Key (key)=(esc1:step1:sms:[phone]) exists",
        ),
        ("to +447700900987 failed", "to [phone] failed"),
        ("mail to zebedee@canary.example refused", "mail to [email] refused"),
        ("notification 12345 at 2026-12-02 10:15", "notification 12345 at 2026-12-02 10:15"),
    ],
)
def test_the_log_filter_blanks_numbers_and_addresses_that_slip_through(line, clean):
    assert redact(line) == clean
