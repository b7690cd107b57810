"""Demo data to try homevisits with: two schools, a login for every role, visits in every state.

`make run` calls it. Every visit is made through visits/services.py, with `now=` set in the past
for visits that already happened, so each timeline is the one the real screens would have left.
Dates are relative to the moment it runs: today's visits are later today.
"""

import datetime
from collections import Counter

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone

from accounts.access import needs_second_factor
from accounts.demo import DEMO_TOTP_SECRET, enrol_demo_factor
from safeguarding.services import concerns as concern_services
from safeguarding.services import minutes as minutes_services
from schools.calendar import office_closed_periods
from schools.models import (
    Carer,
    LoneVisitPolicy,
    Membership,
    OnCallShift,
    Pupil,
    Role,
    School,
    ShiftKind,
    StaffProfile,
    Term,
)
from schools.services import school_admins_group
from visits import services
from visits.models import Purpose, Status, Visit, VisitType

DEMO_SLUG = "hai"
OTHER_SLUG = "sls"
DEMO_PASSWORD = "homevisits-demo"

# Phone numbers are Ofcom's drama ranges (07700 900xxx, 0114 496 0xxx, 01632 960xxx): they
# reach nobody. Names, addresses and registrations are made up.
PEOPLE = [
    # username, first name, last name, roles, job title, mobile, vehicle, registration
    ("office", "Olivia", "Brooks", [Role.OFFICE], "Office manager", "07700 900101", "", ""),
    ("head", "Helen", "Marsh", [Role.HEADTEACHER], "Headteacher", "07700 900102", "", ""),
    (
        "dsl",
        "David",
        "Okafor",
        [Role.DSL, Role.VISITING_STAFF],
        "Designated safeguarding lead",
        "07700 900103",
        "Grey Skoda Octavia estate",
        "DV19 KXO",
    ),
    ("deputy", "Priya", "Shah", [Role.DEPUTY_DSL], "Deputy DSL, SENCO", "07700 900104", "", ""),
    ("slt", "Simon", "Clarke", [Role.SLT], "Assistant headteacher", "07700 900105", "", ""),
    (
        "visitor",
        "Vicky",
        "Lewis",
        [Role.VISITING_STAFF],
        "Reception class teacher",
        "07700 900106",
        "Red Vauxhall Corsa",
        "VL68 RNT",
    ),
    (
        "partner",
        "Pat",
        "Hughes",
        [Role.VISITING_STAFF],
        "Teaching assistant",
        "07700 900107",
        "Silver Toyota Yaris",
        "PH21 TYS",
    ),
    (
        "colleague",
        "Chris",
        "Walker",
        [Role.VISITING_STAFF],
        "Year 1 class teacher",
        "07700 900108",
        "Blue Ford Focus",
        "CW17 FDF",
    ),
    (
        "admin",
        "Adam",
        "Reid",
        [Role.SCHOOL_ADMIN],
        "School business manager",
        "07700 900109",
        "",
        "",
    ),
    # The trust's IT admin: a superuser with no role at any school, so no visit (A8).
    ("trust", "Tariq", "Hussain", [], "Trust IT administrator", "07700 900110", "", ""),
]
OTHER_SCHOOL_PEOPLE = [
    (
        "sls-dsl",
        "Sam",
        "Bennett",
        [Role.DSL],
        "Designated safeguarding lead",
        "07700 900201",
        "",
        "",
    ),
]

# Said in the summary: what each login is for.
NOTES = {
    "office": "watches the live board: a visit goes overdue 3 minutes after loading",
    "head": "authorises",
    "dsl": "authorises, decides lone visits, also visits",
    "deputy": "authorises, decides lone visits",
    "slt": "authorises",
    "visitor": "plans and goes on visits",
    "partner": "goes on visits (one under way now, going overdue); asked for a lone one",
    "colleague": "on no visit, so sees none (A8)",
    "admin": "Django admin, Heather Avenue only (school admin; not a superuser)",
    "trust": "Django admin, every school (the trust's superuser; sees no visit, A8)",
    "sls-dsl": "St Laurence's: sees none of Heather Avenue's visits",
}

RISK_BASE = {
    "known_about_family": "Known to school since Reception; mother engages well by phone.",
    "unknowns": "Who else lives at the address now.",
    "little_known": False,
    "other_professionals": "",
    "joint_visit_considered": True,
    "joint_visit_notes": "Not needed: no other agency is involved.",
    "previous_aggression": False,
    "contentious_issues": False,
    "animals": False,
    "parking_and_valuables": "Park on the road facing out; leave bags in the boot.",
    "vehicle_insured": True,
}


class Command(BaseCommand):
    help = (
        "Load demo data: Heather Avenue Infant School with a login for every role (password "
        f"'{DEMO_PASSWORD}'), pupils and visits in every state, and St Laurence's School beside "
        "it. Does nothing if the demo school is already there."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--force",
            action="store_true",
            help="Load even with DEBUG off. The demo has a superuser (`trust`) with a published "
            "password.",
        )

    def handle(self, *args, force=False, **options):
        if not settings.DEBUG and not force:
            raise CommandError(
                "load_demo makes a superuser whose password is in the README, so it runs only "
                "with DEBUG=true (a developer's machine). Add --force to load it anyway."
            )
        if School.objects.filter(slug=DEMO_SLUG).exists():
            self.stdout.write(
                "Demo data is already loaded; nothing changed. (Its dates are from the day it "
                "was loaded: delete var/db.sqlite3 and run it again for fresh ones.)"
            )
        else:
            with transaction.atomic():
                load(now=timezone.now(), stdout=self.stdout)
            self.stdout.write(self.style.SUCCESS("Demo data loaded."))
        self.summary()

    def summary(self):
        counts = Counter(
            Visit.objects.filter(school__slug=DEMO_SLUG).values_list("status", flat=True)
        )
        shown = ", ".join(f"{counts[s]} {label.lower()}" for s, label in Status.choices)
        self.stdout.write(f"Heather Avenue Infant School visits: {shown}.")
        self.stdout.write(f"Sign in at /accounts/login/ with password '{DEMO_PASSWORD}' as:")
        for username, *_ in PEOPLE + OTHER_SCHOOL_PEOPLE:
            self.stdout.write(f"  {username:<10} {NOTES[username]}")
        self.stdout.write(
            "The seniors, admin and trust then give a code: the sign-in page shows it (DEBUG), "
            f"or add the secret {DEMO_TOTP_SECRET} to an authenticator app."
        )


def load(*, now, stdout):
    hai = School.objects.create(
        name="Heather Avenue Infant School",
        slug=DEMO_SLUG,
        # HAI's policy: staff always go in pairs; the demo lets the DSL decide a lone visit (P3).
        lone_visit_policy=LoneVisitPolicy.DSL,
        office_phone="0114 496 0123",
    )
    sls = School.objects.create(
        name="St Laurence's School",
        slug=OTHER_SLUG,
        # SLS: authorised by the DSL or SLT; a lone visit is their decision too (P1, P3).
        headteacher_may_authorise=False,
        lone_visit_policy=LoneVisitPolicy.DSL_OR_SLT,
        office_phone="01632 960456",
    )
    people = {row[0]: _person(hai, *row, stdout=stdout) for row in PEOPLE}
    people |= {row[0]: _person(sls, *row, stdout=stdout) for row in OTHER_SCHOOL_PEOPLE}
    # The school admin works in the Django admin, on Heather Avenue's data only: staff status
    # and the group's permissions, not a superuser.
    admin = people["admin"]
    admin.is_staff = True
    admin.save(update_fields=["is_staff"])
    admin.groups.add(school_admins_group())
    trust = people["trust"]
    trust.is_staff = trust.is_superuser = True
    trust.save(update_fields=["is_staff", "is_superuser"])
    # The seniors, the admins and the superuser must sign in with a second factor: the demo's
    # authenticator app, its secret in the README, its current code on the sign-in page.
    for user in people.values():
        if needs_second_factor(get_user_model().objects.get(pk=user.pk)):
            enrol_demo_factor(user)
    pupils = _pupils(hai, people, now=now)
    for plan in (_requests, _decisions, _past_visits, _on_the_day):
        plan(pupils, people, now=now)
    _other_school(sls, people["sls-dsl"], now=now)
    _calendar_and_rota(hai, sls, people, now=now)


def _person(
    school, username, first, last, roles, job_title, mobile, vehicle, registration, *, stdout
):
    user, created = get_user_model().objects.get_or_create(
        username=username,
        defaults={"first_name": first, "last_name": last, "email": f"{username}@example.org"},
    )
    if created:
        user.set_password(DEMO_PASSWORD)
        user.save(update_fields=["password"])
    else:
        stdout.write(f"User {username} already existed: its password was left as it was.")
    StaffProfile.objects.update_or_create(
        user=user,
        defaults={
            "mobile": mobile,
            "job_title": job_title,
            "vehicle_description": vehicle,
            "vehicle_registration": registration,
        },
    )
    for role in roles:
        Membership.objects.get_or_create(user=user, school=school, role=role)
    return user


def _born(year_group, month, day, *, today):
    """A date of birth that puts the child in `year_group` this school year."""
    september = today.year if today.month >= 9 else today.year - 1
    # Reception children turn five during the school year that starts in `september`.
    years_before_reception = {"Starting Reception": -1, "Reception": 0, "Year 1": 1, "Year 2": 2}[
        year_group
    ]
    year = september - 5 - years_before_reception + (0 if month >= 9 else 1)
    return datetime.date(year, month, day)


PUPILS = [
    # key, first, last, year group, birthday, address, postcode, key worker, extra fields, carers
    (
        "amelia",
        "Amelia",
        "Brown",
        "Reception",
        (10, 14),
        "14 Larch Close\nDronfield",
        "S18 9ZA",
        "visitor",
        {},
        [("Jade Brown", "Mother", "07700 900301")],
    ),
    (
        "oliver",
        "Oliver",
        "Green",
        "Starting Reception",
        (3, 2),
        "7 Millbrook Road\nDronfield",
        "S18 9ZB",
        "visitor",
        {"has_animals": True, "known_risks": "Large dog (Staffordshire bull terrier) at home."},
        [("Laura Green", "Mother", "07700 900302"), ("Tom Green", "Father", "07700 900303")],
    ),
    (
        "isla",
        "Isla",
        "Patel",
        "Year 1",
        (6, 21),
        "Flat 3, Beech Court\nGosforth Lane\nDronfield",
        "S18 9ZD",
        "dsl",
        {
            "social_worker_name": "Marcus Reed, Children's Social Care",
            "social_worker_contact": "0114 496 0777",
            "known_risks": "Child in need plan. Grandmother is special guardian.",
        },
        [("Meena Patel", "Grandmother (special guardian)", "07700 900304")],
    ),
    (
        "noah",
        "Noah",
        "Williams",
        "Year 2",
        (1, 30),
        "22 Quarry Vale\nDronfield",
        "S18 9ZE",
        "partner",
        {
            "previous_aggression": True,
            "known_risks": "Father shouted at staff at the gate in the spring term.",
        },
        [
            ("Kerry Williams", "Mother", "07700 900305"),
            ("Dean Williams", "Father (does not live with Noah)", "07700 900306"),
        ],
    ),
    (
        "freya",
        "Freya",
        "Jones",
        "Year 1",
        (11, 5),
        "3 Orchard Walk\nDronfield",
        "S18 9ZF",
        "partner",
        {"known_risks": "Attendance 81% this term."},
        [("Sophie Jones", "Mother", "07700 900307")],
    ),
    (
        "jacob",
        "Jacob",
        "Smith",
        "Reception",
        (12, 19),
        "51 Heather Avenue\nDronfield",
        "S18 9ZG",
        "visitor",
        {"has_animals": True, "known_risks": "Two large dogs; ask for them to be shut away."},
        [("Chloe Smith", "Mother", "07700 900308")],
    ),
    (
        "ruby",
        "Ruby",
        "Evans",
        "Year 2",
        (4, 11),
        "9 Cliffe Park Road\nDronfield",
        "S18 9ZH",
        "dsl",
        {
            "social_worker_name": "Hannah Cole, Children's Social Care",
            "social_worker_contact": "0114 496 0778",
        },
        [("Gemma Evans", "Mother", "07700 900309")],
    ),
    (
        "leo",
        "Leo",
        "Thomas",
        "Reception",
        (8, 8),
        "30 Sheffield Road\nDronfield",
        "S18 9ZJ",
        "visitor",
        {},
        [("Aisha Thomas", "Mother", "07700 900310"), ("Ben Thomas", "Father", "07700 900311")],
    ),
    (
        "mia",
        "Mia",
        "Robinson",
        "Year 2",
        (2, 17),
        "5 Stubley Drive\nDronfield",
        "S18 9ZK",
        "dsl",
        {},
        [("Nicola Robinson", "Mother", "07700 900312")],
    ),
    (
        "harry",
        "Harry",
        "Walsh",
        "Year 1",
        (6, 3),
        "9 Gosforth Lane\nDronfield",
        "S18 9ZL",
        "visitor",
        {"has_animals": True, "known_risks": "Large dog; mother asks staff to wait at the gate."},
        [("Kelly Walsh", "Mother", "07700 900313")],
    ),
    (
        "grace",
        "Grace",
        "Patel",
        "Year 2",
        (1, 22),
        "2 Snape Hill Crescent\nDronfield",
        "S18 9ZM",
        "dsl",
        {},
        [("Meera Patel", "Mother", "07700 900314")],
    ),
]


def _pupils(school, people, *, now):
    pupils = {}
    for n, (
        key,
        first,
        last,
        year,
        birthday,
        address,
        postcode,
        worker,
        extra,
        carers,
    ) in enumerate(PUPILS, start=1):
        pupil = Pupil.objects.create(
            school=school,
            upn=f"H80120000{n:04d}",
            first_name=first,
            last_name=last,
            date_of_birth=_born(year, *birthday, today=timezone.localdate(now)),
            year_group=year,
            address=address,
            postcode=postcode,
            key_worker=people[worker],
            **extra,
        )
        for name, relationship, phone in carers:
            Carer.objects.create(
                pupil=pupil,
                name=name,
                relationship=relationship,
                phone=phone,
                # A father who lives elsewhere keeps parental responsibility but not the address.
                lives_with_pupil="does not live" not in relationship,
            )
        pupils[key] = pupil
    return pupils


def _at(day, hour, minute=0):
    """An aware datetime at a local (Europe/London) wall-clock time on `day`."""
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time(hour, minute)))


def _later_today(now):
    """A start about two hours from `now`, on the quarter hour, still today if that can be."""
    local = timezone.localtime(now)
    start = local + datetime.timedelta(hours=2)
    start = start.replace(minute=start.minute - start.minute % 15, second=0, microsecond=0)
    if start.date() != local.date():
        start = (local + datetime.timedelta(minutes=10)).replace(second=0, microsecond=0)
    return start


def _details(start, minutes=60, **overrides):
    """A complete request (P4, P7, P8, P12, P14, P16) starting at `start`."""
    details = {
        "purpose": Purpose.WELFARE_CHECK,
        "purpose_detail": "",
        "parent_could_come_to_school": False,
        "planned_start": start,
        "expected_end": start + datetime.timedelta(minutes=minutes),
        "visit_type": VisitType.DOORSTOP,
        "announced": True,
        "parent_told_how": "Phone call from the office",
        "takes_id_badge": True,
        "takes_charged_mobile": True,
        "takes_school_numbers": True,
    }
    details.update(overrides)
    return details


def _plan(pupil, by, staff, details, *, now, risk=None):
    """Create a visit (and its risk assessment) through the services, as the screens do."""
    vehicle_owner = next((u for u in staff if u.staff_profile.vehicle_registration), None)
    if vehicle_owner is not None:
        details.setdefault("vehicle_description", vehicle_owner.staff_profile.vehicle_description)
        details.setdefault("vehicle_registration", vehicle_owner.staff_profile.vehicle_registration)
    details.setdefault("parent_told_at", now - datetime.timedelta(hours=3))
    visit = services.visit_create(
        pupil=pupil,
        by=by,
        details=details,
        staff=[(user, user.staff_profile.mobile) for user in staff],
        now=now,
    )
    if risk is not None:
        services.risk_assessment_record(visit=visit, by=by, answers=RISK_BASE | risk, now=now)
    return Visit.objects.get(pk=visit.pk)


def _authorised(visit, by, *, now):
    visit.refresh_from_db()
    return services.visit_authorise(
        visit=visit, by=by, expected_version=visit.version, confirmed=True, now=now
    )


DAY = datetime.timedelta(days=1)


def _requests(pupils, people, *, now):
    """Visits still being asked for: draft, in the queue, sent back."""
    office, head, dsl, deputy = (people[k] for k in ("office", "head", "dsl", "deputy"))
    visitor, partner = people["visitor"], people["partner"]
    today = timezone.localdate(now)

    # Draft: a pre-Reception induction visit next week, risk assessment not yet done (P5).
    _plan(
        pupils["oliver"],
        visitor,
        [visitor, partner],
        _details(
            _at(today + 7 * DAY, 10),
            45,
            purpose=Purpose.PRE_RECEPTION,
            purpose_detail="Induction visit before Oliver starts Reception in September.",
            visit_type=VisitType.ENTER_HOME,
            parent_told_how="Letter given at the Reception induction meeting",
            code_word="primrose",
        ),
        now=now,
    )

    # Submitted: authorised yesterday, then the office moved it, which withdrew the
    # authorisation (P2), so it waits in the queue again.
    yesterday = now - DAY
    isla = _plan(
        pupils["isla"],
        office,
        [dsl, visitor],
        _details(
            _at(today + DAY, 13, 30),
            purpose=Purpose.SENSITIVE_SUPPORT,
            purpose_detail="Support for grandmother after a change in contact arrangements.",
            visit_type=VisitType.ENTER_HOME,
            la_told=True,
            la_contact="Marcus Reed, Children's Social Care",
            la_told_at=yesterday - datetime.timedelta(hours=1),
            code_word="kestrel",
        ),
        now=yesterday,
        risk={
            "other_professionals": "Social worker Marcus Reed (child in need plan).",
            "joint_visit_considered": True,
            "joint_visit_notes": "Social worker is not free this week; told by phone (P9).",
            "contentious_issues": True,
            "contentious_details": "Contact with mother may come up.",
        },
    )
    services.visit_submit(visit=isla, by=office, now=yesterday)
    _authorised(isla, head, now=yesterday + datetime.timedelta(hours=2))
    moved = _at(today + DAY, 14)
    services.visit_update(
        visit=isla,
        by=office,
        details={"planned_start": moved, "expected_end": moved + datetime.timedelta(hours=1)},
        staff=[(u, u.staff_profile.mobile) for u in (dsl, visitor)],
        now=now - datetime.timedelta(minutes=30),
    )

    # Submitted, lone: only the DSL or a deputy may decide it goes ahead with one person (P3).
    freya = _plan(
        pupils["freya"],
        partner,
        [partner],
        _details(
            _at(today + DAY, 8, 45),
            30,
            purpose=Purpose.ATTENDANCE,
            purpose_detail="Freya has missed three days; collect her for school if she is well.",
            code_word="bluebell",
        ),
        now=now,
        risk={"known_about_family": "Known since Reception; mother works nights."},
    )
    services.visit_submit(visit=freya, by=partner, now=now)

    # Changes requested: the deputy wants a doorstop visit after the father's aggression (P6).
    noah = _plan(
        pupils["noah"],
        visitor,
        [visitor, partner],
        _details(
            _at(today + 2 * DAY, 15, 30),
            purpose=Purpose.BEHAVIOUR_PROGRAMME,
            purpose_detail="Share the new behaviour plan with mother and agree rewards at home.",
            parent_could_come_to_school=True,
            why_not_in_school="Mother has not come to the last two meetings in school.",
            visit_type=VisitType.ENTER_HOME,
            code_word="heron",
        ),
        now=now,
        risk={
            "previous_aggression": True,
            "previous_aggression_details": "Father shouted at staff at the gate in the spring.",
        },
    )
    noah = services.visit_submit(visit=noah, by=visitor, now=now)
    services.visit_request_changes(
        visit=noah,
        by=deputy,
        expected_version=noah.version,
        reason="Check whether father will be there; if so, make it a doorstop visit or meet "
        "mother in school with the family support worker.",
        now=now,
    )


def _decisions(pupils, people, *, now):
    """Visits decided: authorised for today and tomorrow, and one refused."""
    office, head, dsl, deputy, slt = (people[k] for k in ("office", "head", "dsl", "deputy", "slt"))
    visitor, partner = people["visitor"], people["partner"]
    today = timezone.localdate(now)

    # Authorised for later today: on the office's schedule (P11).
    start = _later_today(now)
    amelia = _plan(
        pupils["amelia"],
        office,
        [visitor, partner],
        _details(
            start,
            purpose=Purpose.WELFARE_CHECK,
            purpose_detail="Amelia has been absent four days; mother's phone goes to voicemail.",
            announced=False,
            parent_told_how="",
            parent_told_at=None,
            unannounced_reason="Mother cannot be reached; the purpose is to see Amelia (P8).",
            code_word="robin",
        ),
        now=now,
        risk={},
    )
    _authorised(services.visit_submit(visit=amelia, by=office, now=now), head, now=now)

    # Authorised for tomorrow.
    leo = _plan(
        pupils["leo"],
        dsl,
        [dsl, partner],
        _details(
            _at(today + DAY, 11),
            purpose=Purpose.RETURN_AFTER_ABSENCE,
            purpose_detail="Plan Leo's return after two weeks off with anxiety.",
            visit_type=VisitType.ENTER_HOME,
            code_word="willow",
        ),
        now=now,
        risk={},
    )
    _authorised(services.visit_submit(visit=leo, by=dsl, now=now), deputy, now=now)

    # Refused: the parent can come into school (P4).
    jacob = _plan(
        pupils["jacob"],
        visitor,
        [visitor, partner],
        _details(
            _at(today + 3 * DAY, 16),
            purpose=Purpose.INFORM_PARENTS,
            purpose_detail="Talk through Jacob's progress report.",
            parent_could_come_to_school=True,
            why_not_in_school="Mother finds it hard to get in with the baby.",
            visit_type=VisitType.ENTER_HOME,
        ),
        now=now,
        risk={"animals": True, "animals_details": "Two large dogs."},
    )
    jacob = services.visit_submit(visit=jacob, by=visitor, now=now)
    services.visit_refuse(
        visit=jacob,
        by=slt,
        expected_version=jacob.version,
        reason="Offer a meeting in school with the crèche instead (P4).",
        now=now,
    )


def _past_visits(pupils, people, *, now):
    """Visits that are over: completed, closed, and one cancelled."""
    office, head, dsl = people["office"], people["head"], people["dsl"]
    visitor, partner = people["visitor"], people["partner"]
    today = timezone.localdate(now)

    # Completed: planned, authorised and done in the past.
    before = now - 3 * DAY
    done_start = _at(today - 2 * DAY, 10)
    ruby = _plan(
        pupils["ruby"],
        office,
        [visitor, partner],
        _details(
            done_start,
            purpose=Purpose.ATTENDANCE,
            purpose_detail="Attendance meeting at home, agreed with the social worker.",
            visit_type=VisitType.ENTER_HOME,
            la_told=True,
            la_contact="Hannah Cole, Children's Social Care",
            la_told_at=before - datetime.timedelta(hours=2),
            la_confirmed_at=before - datetime.timedelta(hours=1),
            code_word="acorn",
        ),
        now=before,
        risk={"other_professionals": "Social worker Hannah Cole."},
    )
    _authorised(
        services.visit_submit(visit=ruby, by=office, now=before),
        head,
        now=before + datetime.timedelta(hours=1),
    )
    ruby_done = done_start + datetime.timedelta(minutes=75)
    services.visit_complete(visit=ruby, by=visitor, now=ruby_done)
    # Minutes begun on the tablet and not yet submitted: more than a day on, so the reminders
    # (A7) and the headteacher's monitoring page (A9) both show them missing.
    ruby_minutes = minutes_services.minutes_start(visit=ruby, by=visitor, now=ruby_done)
    minutes_services.minutes_save_draft(
        minutes=ruby_minutes,
        by=visitor,
        changes={
            "present": {
                "base": [],
                "value": [
                    {
                        "name": "Jade Ahmed",
                        "relationship": "Mother",
                        "parental_responsibility": True,
                    }
                ],
            },
            "child_seen": {"base": None, "value": True},
            "discussed": {
                "base": "",
                "value": "Ruby's attendance since September (78%); mornings are the problem.",
            },
        },
        now=ruby_done + datetime.timedelta(minutes=10),
    )

    # Cancelled: a follow-up for Ruby, authorised, then not needed.
    follow_up = _plan(
        pupils["ruby"],
        office,
        [visitor, partner],
        _details(
            _at(today + 4 * DAY, 10),
            purpose=Purpose.ATTENDANCE,
            purpose_detail="Follow-up on the attendance plan.",
            code_word="acorn",
        ),
        now=now - DAY,
        risk={"other_professionals": "Social worker Hannah Cole."},
    )
    _authorised(
        services.visit_submit(visit=follow_up, by=office, now=now - DAY),
        head,
        now=now - DAY + datetime.timedelta(hours=1),
    )
    services.visit_cancel(
        visit=follow_up,
        by=office,
        reason="Mother rang: Ruby is back in school and attending every day.",
        now=now - datetime.timedelta(hours=2),
    )

    # Closed: a visit last week, completed and its record closed by the DSL.
    planned_at = now - 7 * DAY
    closed_start = _at(today - 5 * DAY, 13, 30)
    mia = _plan(
        pupils["mia"],
        dsl,
        [dsl, visitor],
        _details(
            closed_start,
            purpose=Purpose.WELFARE_CHECK,
            purpose_detail="Mia has been withdrawn in class; mother asked to talk at home.",
            visit_type=VisitType.ENTER_HOME,
            code_word="maple",
        ),
        now=planned_at,
        risk={},
    )
    _authorised(
        services.visit_submit(visit=mia, by=dsl, now=planned_at), head, now=planned_at + DAY
    )
    mia_done = closed_start + datetime.timedelta(hours=1)
    services.visit_complete(visit=mia, by=dsl, now=mia_done)
    _mia_record(mia, people, done=mia_done, now=now)


def _mia_record(mia, people, *, done, now):
    """Minutes with an action now overdue (A7), a concern the DSL triaged (A5), and the debrief
    with the headteacher (the DSL went on the visit), after which the visit closed (A6)."""
    head, dsl, visitor = people["head"], people["dsl"], people["visitor"]
    written = done + datetime.timedelta(minutes=40)
    minutes = minutes_services.minutes_start(visit=mia, by=visitor, now=written)
    answers = {
        "present": [
            {"name": "Sara Novak", "relationship": "Mother", "parental_responsibility": True},
            {"name": "Lee Novak", "relationship": "Stepfather", "parental_responsibility": False},
        ],
        "child_seen": True,
        "child_spoken_to": True,
        "child_voice": "Mia said she is tired because she looks after her baby brother at night.",
        "discussed": "Mia's tiredness and low mood in class; bedtimes; support at home.",
        "action_plan": [
            {
                "description": "Refer to the school nurse for a sleep plan",
                "owner": dsl.pk,
                "due_on": (timezone.localtime(written).date() + 2 * DAY).isoformat(),
            },
            {
                "description": "Check in with Mia every morning for two weeks",
                "owner": visitor.pk,
                "due_on": (timezone.localtime(now).date() + 7 * DAY).isoformat(),
            },
        ],
        "follow_up": "Review at the next pastoral meeting; a further visit in three weeks.",
        "referrals": "School nurse.",
    }
    minutes_services.minutes_save_draft(
        minutes=minutes,
        by=visitor,
        changes={
            name: {"base": None if name != "present" else [], "value": value}
            for name, value in answers.items()
        },
        now=written,
    )
    minutes_services.minutes_submit(minutes=minutes, by=visitor, now=written)
    concern = concern_services.concern_raise(
        pupil=mia.pupil,
        by=visitor,
        visit=mia,
        account="Mia said she is often left to look after her brother overnight while her "
        "mother works; she had a bruise on her forearm she said came from the cot.",
        now=written + datetime.timedelta(minutes=5),
    )
    concern_services.concern_viewed(concern=concern, by=dsl, now=written + DAY / 24)
    concern_services.concern_triage(
        concern=concern,
        by=dsl,
        category="neglect",
        referral="early_help",
        referral_reference="EH-2291",
        note="Early help assessment requested.",
        now=written + DAY / 12,
    )
    minutes_services.debrief_record(
        visit=mia,
        by=head,
        led_as="headteacher",
        held_at=done + DAY,
        agreed="Early help referral made; DSL to chase the school nurse.",
        now=done + DAY,
    )


# The visit in progress is due out this long after the demo loads, so a newcomer watching the
# live board sees it go overdue, alert the office, and then (15 minutes on) the police step.
OVERDUE_AFTER = datetime.timedelta(minutes=3)


def _on_the_day(pupils, people, *, now):
    """Visits under way now: one on site that goes overdue soon after loading, one on its way."""
    office, head = people["office"], people["head"]
    visitor, partner, dsl, deputy = (
        people["visitor"],
        people["partner"],
        people["dsl"],
        people["deputy"],
    )
    grace = datetime.timedelta(minutes=pupils["harry"].school.grace_minutes)
    expected_end = (now + OVERDUE_AFTER - grace).replace(microsecond=0)
    start = expected_end - datetime.timedelta(minutes=45)
    harry = _plan(
        pupils["harry"],
        office,
        [visitor, partner],
        _details(
            start,
            minutes=45,
            purpose=Purpose.ATTENDANCE,
            purpose_detail="Harry has missed eight days; mother not answering calls.",
            code_word="heron",
        ),
        now=now - DAY,
        risk={"animals": True, "animals_details": "Large dog: ask for it to be shut away (D4)."},
    )
    _authorised(services.visit_submit(visit=harry, by=office, now=now - DAY), head, now=now - DAY)
    sheffield = {"lat": 53.3006, "lng": -1.4712, "accuracy": 25}
    services.visit_set_off(
        visit=harry, by=visitor, position=sheffield, now=start - datetime.timedelta(minutes=15)
    )
    services.visit_arrive(visit=harry, by=partner, position=sheffield, now=start)

    later = (now + datetime.timedelta(minutes=20)).replace(second=0, microsecond=0)
    grace_visit = _plan(
        pupils["grace"],
        dsl,
        [dsl, deputy],
        _details(
            later,
            purpose=Purpose.SENSITIVE_SUPPORT,
            purpose_detail="Support for mother after a bereavement; agreed by phone.",
            code_word="willow",
        ),
        now=now - DAY,
        risk={},
    )
    _authorised(
        services.visit_submit(visit=grace_visit, by=dsl, now=now - DAY), head, now=now - DAY
    )
    services.visit_set_off(visit=grace_visit, by=dsl, now=now - datetime.timedelta(minutes=2))


def _other_school(school, dsl, *, now):
    """St Laurence's has its own pupil and visit, which nobody at Heather Avenue sees (A8)."""
    pupil = Pupil.objects.create(
        school=school,
        upn="S801200000001",
        first_name="Ethan",
        last_name="Morris",
        date_of_birth=datetime.date(2013, 7, 3),
        year_group="Year 8",
        address="12 Castle Mews\nShrewsbury",
        postcode="SY1 9ZZ",
        key_worker=dsl,
    )
    Carer.objects.create(
        pupil=pupil, name="Karen Morris", relationship="Mother", phone="07700 900320"
    )
    _plan(
        pupil,
        dsl,
        [dsl],
        _details(
            _at(timezone.localdate(now) + datetime.timedelta(days=2), 10),
            30,
            purpose=Purpose.RETURN_AFTER_ABSENCE,
            purpose_detail="Talk with Ethan about coming back to school.",
        ),
        now=now,
    )


def _calendar_and_rota(hai, sls, people, *, now):
    """A term around the demo's dates at both schools, and Heather Avenue's on-call rota (E1):
    the headteacher every evening and weekend for two weeks, covered one evening by the DSL."""
    head, dsl = people["head"], people["dsl"]
    today = timezone.localdate(now)
    for school in (hai, sls):
        Term(
            school=school,
            name="This term (demo)",
            starts_on=today - datetime.timedelta(weeks=6),
            ends_on=today + datetime.timedelta(weeks=12),
        ).save_by(by=head if school == hai else None, now=now)
    hai.refresh_from_db()  # its calendar, with the term just added
    closed = office_closed_periods(hai, now, now + datetime.timedelta(weeks=2))
    for starts, ends in closed:
        OnCallShift(school=hai, user=head, starts_at=starts, ends_at=ends).save_by(by=head, now=now)
    # The first whole weekday evening to come: the DSL swaps in for it.
    evening = next(
        (
            (starts, ends)
            for starts, ends in closed
            if starts > now
            and timezone.localtime(starts).time() == hai.office_closes_at
            and ends - starts < datetime.timedelta(days=1)
        ),
        None,
    )
    if evening is None:
        return
    OnCallShift(
        school=hai,
        user=dsl,
        starts_at=evening[0],
        ends_at=evening[1],
        kind=ShiftKind.OVERRIDE,
        note="Swap: Helen is at the governors' meeting.",
    ).save_by(by=head, now=now)
