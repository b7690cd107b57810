import datetime
import time

import factory
from django.contrib.auth import get_user_model
from django.utils import timezone

from schools.models import (
    Carer,
    ClosureDay,
    ClosureReason,
    Membership,
    OnCallShift,
    Pupil,
    Role,
    School,
    ShiftKind,
    StaffProfile,
    Term,
)
from visits.models import RiskAssessment, Visit, VisitType


class SchoolFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = School

    name = factory.Sequence(lambda n: f"School {n}")
    slug = factory.Sequence(lambda n: f"school-{n}")
    office_phone = "0161 496 0000"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.org")
    password = factory.django.Password("pw")

    @factory.post_generation
    def mobile(self, create, extracted, **kwargs):
        StaffProfile.objects.update_or_create(
            user=self, defaults={"mobile": "07700 900000" if extracted is None else extracted}
        )

    @factory.post_generation
    def second_factor(self, create, extracted, **kwargs):
        # Superusers must have one (accounts/access.py); second_factor=False leaves it off.
        if create and self.is_superuser and extracted is not False:
            enrol_totp(self)


def member(school, *roles, second_factor=None, **user_kwargs):
    """A person holding `roles` at `school`. Those whose roles need a second factor get an
    authenticator app (accounts/access.py), as they would have set one up before reaching any
    page; second_factor=False leaves it off, True adds it to anyone."""
    from accounts.access import SECOND_FACTOR_ROLES

    user = UserFactory(second_factor=False if second_factor is False else None, **user_kwargs)
    for role in roles:
        Membership.objects.create(user=user, school=school, role=role)
    needs = user.is_superuser or bool(set(roles) & SECOND_FACTOR_ROLES)
    if second_factor or (second_factor is None and needs):
        enrol_totp(user)
    return user


def enrol_totp(user, secret=None):
    """An active authenticator app (TOTP) for `user`, as allauth stores it."""
    from allauth.mfa.models import Authenticator
    from allauth.mfa.totp.internal.auth import generate_totp_secret
    from allauth.mfa.utils import encrypt

    authenticator, _ = Authenticator.objects.get_or_create(
        user=user,
        type=Authenticator.Type.TOTP,
        defaults={"data": {"secret": encrypt(secret or generate_totp_secret())}},
    )
    return authenticator


def totp_code(user, *, at=None):
    """The code `user`'s authenticator app shows now (or at the Unix time `at`)."""
    from allauth.mfa.models import Authenticator
    from allauth.mfa.utils import decrypt

    from accounts.demo import current_code

    authenticator = Authenticator.objects.get(user=user, type=Authenticator.Type.TOTP)
    return current_code(
        decrypt(authenticator.data["secret"]), at=at if at is not None else time.time()
    )


class PupilFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Pupil

    school = factory.SubFactory(SchoolFactory)
    upn = factory.Sequence(lambda n: f"A{n:012d}")
    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    date_of_birth = datetime.date(2016, 5, 1)
    year_group = "Year 4"
    address = "12 Acacia Avenue\nManchester"
    postcode = "M1 1AA"


class CarerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Carer

    pupil = factory.SubFactory(PupilFactory)
    name = factory.Faker("name")
    relationship = "Mother"
    phone = "07700 900111"


def next_weekday_at(hour, minute=0, days_ahead=1):
    """An aware datetime `days_ahead` days from now at a local time, for planning visits."""
    local = timezone.localtime() + datetime.timedelta(days=days_ahead)
    return local.replace(hour=hour, minute=minute, second=0, microsecond=0)


def visit_details(**overrides):
    """A complete, valid set of request details (P4, P7, P8) for an afternoon visit tomorrow."""
    start = next_weekday_at(10)
    details = {
        "purpose": "welfare_check",
        "purpose_detail": "Five days' absence with no contact.",
        "parent_could_come_to_school": False,
        "planned_start": start,
        "expected_end": start + datetime.timedelta(hours=1),
        "reporting_arrangements": "Phone the office on arrival and on leaving.",
        "visit_type": VisitType.DOORSTOP,
        "announced": True,
        "parent_told_how": "Phone call",
        "parent_told_at": timezone.now() - datetime.timedelta(days=1),
        "vehicle_description": "Blue Ford Fiesta",
        "vehicle_registration": "AB12 CDE",
        "code_word": "bluebell",
    }
    details.update(overrides)
    return details


RISK_ANSWERS = {
    "known_about_family": "Known to school for three years; mother engages well.",
    "unknowns": "New partner at the address.",
    "little_known": False,
    "joint_visit_considered": True,
    "previous_aggression": False,
    "contentious_issues": False,
    "animals": False,
    "parking_and_valuables": "Park on the road facing out.",
    "vehicle_insured": True,
}


def minutes_answers(owner, due_on, **overrides):
    """A complete set of minutes (A1) with one action (A7), as the tablet form sends them."""
    answers = {
        "present": [
            {"name": "Mary Pupil", "relationship": "Mother", "parental_responsibility": True},
            {"name": "Tom Lodger", "relationship": "Lodger", "parental_responsibility": False},
        ],
        "child_seen": True,
        "child_spoken_to": True,
        "child_voice": "Said she misses her friends and wants to come back on Monday.",
        "discussed": "Attendance since half term; morning routine; the bus pass.",
        "action_plan": [
            {"description": "Apply for a bus pass", "owner": owner.pk, "due_on": due_on.isoformat()}
        ],
        "follow_up": "Phone mother on Friday.",
        "referrals": "",
    }
    answers.update(overrides)
    return answers


def write_minutes(visit, by, *, now=None, submit=True, **overrides):
    """Minutes written through the real services, the way the tablet saves them."""
    from safeguarding.services import minutes as minutes_services

    now = now or timezone.now()
    due = timezone.localtime(now).date() + datetime.timedelta(days=7)
    minutes = minutes_services.minutes_start(visit=visit, by=by, now=now)
    stored = minutes_services.minutes_values(minutes)
    answers = minutes_answers(by, due, **overrides)
    changes = {name: {"base": stored[name], "value": value} for name, value in answers.items()}
    saved = minutes_services.minutes_save_draft(minutes=minutes, by=by, changes=changes, now=now)
    assert not saved.conflicts
    if submit:
        minutes_services.minutes_submit(minutes=saved.minutes, by=by, now=now)
    saved.minutes.refresh_from_db()
    return saved.minutes


def record_debrief(visit, by, *, now=None, led_as="dsl"):
    from safeguarding.services import minutes as minutes_services

    now = now or timezone.now()
    return minutes_services.debrief_record(
        visit=visit, by=by, led_as=led_as, held_at=now, agreed="Keep visiting weekly.", now=now
    )


class TermFactory(factory.django.DjangoModelFactory):
    """A7, E1: a term of the school calendar."""

    class Meta:
        model = Term

    school = factory.SubFactory(SchoolFactory)
    name = factory.Sequence(lambda n: f"Term {n}")
    starts_on = datetime.date(2026, 9, 2)
    ends_on = datetime.date(2026, 10, 23)


class ClosureDayFactory(factory.django.DjangoModelFactory):
    """A7, E1: an INSET day (or another closure) of the school calendar."""

    class Meta:
        model = ClosureDay

    school = factory.SubFactory(SchoolFactory)
    date = datetime.date(2026, 11, 17)
    reason = ClosureReason.INSET


class OnCallShiftFactory(factory.django.DjangoModelFactory):
    """E1: someone on call for a school, from tomorrow 17:00 local for 15 hours by default."""

    class Meta:
        model = OnCallShift

    school = factory.SubFactory(SchoolFactory)
    user = None
    starts_at = factory.LazyFunction(lambda: next_weekday_at(17))
    ends_at = factory.LazyAttribute(lambda shift: shift.starts_at + datetime.timedelta(hours=15))
    kind = ShiftKind.ROTA


class RiskAssessmentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = RiskAssessment

    visit = None
    completed_by = factory.LazyAttribute(lambda ra: ra.visit.created_by)
    known_about_family = RISK_ANSWERS["known_about_family"]
    vehicle_insured = True


__all__ = [
    "minutes_answers",
    "record_debrief",
    "write_minutes",
    "CarerFactory",
    "ClosureDayFactory",
    "OnCallShiftFactory",
    "PupilFactory",
    "RISK_ANSWERS",
    "RiskAssessmentFactory",
    "Role",
    "SchoolFactory",
    "TermFactory",
    "UserFactory",
    "Visit",
    "member",
    "enrol_totp",
    "totp_code",
    "next_weekday_at",
    "visit_details",
]
