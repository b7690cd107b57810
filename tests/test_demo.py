"""`manage.py load_demo`: the data `make run` shows a newcomer, and the logins the README lists."""

import io
from urllib.parse import urlsplit

import pytest
import time_machine
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management import CommandError, call_command
from django.urls import reverse
from django.utils import timezone

from schools.models import Carer, Membership, Pupil, School, StaffProfile
from schools.services import SCHOOL_ADMINS_GROUP
from visits.access import visible_visits
from visits.management.commands.load_demo import DEMO_PASSWORD, DEMO_SLUG, OTHER_SLUG
from visits.models import Authorisation, RiskAssessment, Status, Visit, VisitEvent, VisitStaff

MODELS = (
    School,
    get_user_model(),
    Membership,
    StaffProfile,
    Pupil,
    Carer,
    Visit,
    VisitStaff,
    RiskAssessment,
    VisitEvent,
    Authorisation,
    Group,
)


@pytest.fixture
def demo(db, settings):
    # Django's default hasher is slow on purpose; the logins only need to work.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    # As `make run` runs it (pytest-django turns DEBUG off).
    settings.DEBUG = True
    call_command("load_demo", stdout=io.StringIO())
    settings.DEBUG = False


def _counts():
    return {model.__name__: model.objects.count() for model in MODELS}


def test_load_demo_twice_changes_nothing(demo, settings):
    before = _counts()
    settings.DEBUG = True
    out = io.StringIO()

    call_command("load_demo", stdout=out)

    assert _counts() == before
    assert "already loaded" in out.getvalue() and DEMO_PASSWORD in out.getvalue()
    assert before["Visit"] > 0 and before["Pupil"] >= 8


def test_load_demo_refuses_with_debug_off_because_of_its_published_password(db, settings):
    settings.DEBUG = False

    with pytest.raises(CommandError, match="DEBUG"):
        call_command("load_demo", stdout=io.StringIO())

    assert not School.objects.exists()


@pytest.mark.parametrize("clock", ["07:00", "16:50", "22:05", "23:58"])
def test_load_demo_works_at_any_time_of_day(db, settings, clock):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.DEBUG = True
    hour, minute = map(int, clock.split(":"))
    moment = timezone.localtime().replace(hour=hour, minute=minute)

    with time_machine.travel(moment, tick=False):
        call_command("load_demo", stdout=io.StringIO())
        authorised = Visit.objects.filter(status=Status.AUTHORISED)
        assert all(v.planned_start > timezone.now() for v in authorised)

    assert Visit.objects.filter(status=Status.AUTHORISED).count() == 2


def test_demo_has_a_visit_in_every_status(demo):
    statuses = set(Visit.objects.filter(school__slug=DEMO_SLUG).values_list("status", flat=True))

    assert statuses == set(Status.values)


def test_demo_queue_holds_a_lone_visit_waiting_for_a_dsl_decision(demo):
    queue = Visit.objects.filter(school__slug=DEMO_SLUG, status=Status.SUBMITTED)

    assert queue.count() == 2
    assert sorted(visit.is_lone for visit in queue) == [False, True]


def test_demo_timelines_come_from_the_services(demo):
    now = timezone.now()
    for visit in Visit.objects.prefetch_related("events"):
        events = list(visit.events.all())
        assert events[0].kind == "created"
        assert events[-1].to_status == visit.status, visit
        assert all(event.at <= now for event in events)
    past = Visit.objects.filter(status__in=[Status.COMPLETED, Status.CLOSED])
    assert past.count() == 2
    assert all(v.planned_start < v.completed_at < now for v in past)


def test_demo_visits_today_are_still_to_come(demo):
    today = timezone.localdate()
    authorised = Visit.objects.filter(school__slug=DEMO_SLUG, status=Status.AUTHORISED)

    assert [v for v in authorised if timezone.localtime(v.planned_start).date() == today]
    assert all(v.planned_start > timezone.now() for v in authorised)


LANDINGS = [
    ("office", "board"),
    ("head", "queue"),
    ("dsl", "queue"),
    ("deputy", "queue"),
    ("slt", "queue"),
    ("visitor", "my-visits"),
    ("partner", "my-visits"),
    ("colleague", "my-visits"),
    ("sls-dsl", "queue"),
    ("admin", "admin:index"),
    ("trust", "admin:index"),
]


@pytest.mark.parametrize(("username", "page"), LANDINGS)
def test_each_demo_login_lands_on_its_roles_page(demo, client, username, page):
    # The password is the README's; signing in itself (and its second factor) is
    # tests/test_accounts.py's, through the real form.
    user = get_user_model().objects.get(username=username)
    assert user.check_password(DEMO_PASSWORD)
    client.force_login(user)

    response = client.get("/")

    assert response.status_code == 302
    assert urlsplit(response.url).path == reverse(page)


def test_demo_admin_is_the_schools_admin_not_a_superuser(demo, client):
    """The school admin works in the Django admin on Heather Avenue's data only, through the
    "School admins" group's permissions; A8 keeps every visit's details from them there."""
    admin = get_user_model().objects.get(username="admin")
    assert admin.is_staff and not admin.is_superuser
    assert admin.groups.filter(name=SCHOOL_ADMINS_GROUP).exists()
    assert reverse("admin:index") == "/admin/"
    client.force_login(admin)

    assert client.get("/admin/").status_code == 200
    pupils = client.get(reverse("admin:schools_pupil_changelist"))
    assert pupils.status_code == 200
    assert {p.school.slug for p in pupils.context["cl"].result_list} == {DEMO_SLUG}
    users = client.get(reverse("admin:auth_user_changelist"))
    names = {u.username for u in users.context["cl"].result_list}
    assert "dsl" in names and not names & {"sls-dsl", "trust"}
    visits = client.get(reverse("admin:visits_visit_changelist"))
    assert visits.status_code == 200
    assert visits.context["cl"].result_count == 0


def test_demo_trust_superuser_runs_every_school_but_sees_no_visit(demo, client):
    trust = get_user_model().objects.get(username="trust")
    assert trust.is_superuser and not trust.memberships.exists()
    client.force_login(trust)

    schools = client.get(reverse("admin:schools_school_changelist"))
    assert schools.context["cl"].result_count == School.objects.count() == 2
    visits = client.get(reverse("admin:visits_visit_changelist"))
    assert visits.status_code == 200
    assert visits.context["cl"].result_count == 0  # A8: no role at any school


def test_demo_risk_assessments_answer_every_yes_no_question(demo):
    """P5: an unanswered question is None; the demo answers them all."""
    questions = (
        "little_known",
        "previous_aggression",
        "contentious_issues",
        "animals",
        "joint_visit_considered",
        "vehicle_insured",
    )
    assessments = RiskAssessment.objects.all()
    assert assessments.exists()
    for risk in assessments:
        assert all(getattr(risk, name) in (True, False) for name in questions), risk


def test_other_schools_dsl_sees_none_of_the_demo_schools_visits(demo):
    """A8: St Laurence's DSL sees St Laurence's visits and none of Heather Avenue's."""
    sls_dsl = get_user_model().objects.get(username="sls-dsl")

    seen = visible_visits(sls_dsl)

    assert not seen.filter(school__slug=DEMO_SLUG).exists()
    assert seen.filter(school__slug=OTHER_SLUG).exists()


def test_demo_colleague_on_no_visit_sees_none(demo):
    colleague = get_user_model().objects.get(username="colleague")

    assert not visible_visits(colleague).exists()


def test_demo_visit_under_way_goes_overdue_about_three_minutes_after_loading(demo):
    """The README promises a newcomer watching the board sees the whole chain (E1, E2)."""
    from escalation.models import Escalation, Step
    from escalation.services import sweep

    on_site = Visit.objects.get(school__slug=DEMO_SLUG, status=Status.ON_SITE)
    now = timezone.now()
    assert 150 <= (on_site.next_deadline - now).total_seconds() <= 190

    assert sweep(now=now)["raised"] == 0
    assert sweep(now=on_site.next_deadline)["raised"] == 1
    alert = Escalation.objects.get(visit=on_site)
    assert alert.step == Step.OFFICE
    sweep(now=alert.police_due_at)
    alert.refresh_from_db()
    assert alert.step == Step.POLICE


def test_demo_has_a_visit_on_its_way_with_its_arrival_still_ahead(demo):
    on_the_way = Visit.objects.get(school__slug=DEMO_SLUG, status=Status.ON_THE_WAY)

    assert on_the_way.next_deadline > timezone.now()
    assert on_the_way.deadline_kind == "arrival"
