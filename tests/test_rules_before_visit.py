"""Before the visit: each rule of RULES.md marked "enforce" (P1-P15), proved through the services.

Every test goes through visits/services.py, as the views do, and names the rule it proves.
"""

import datetime

import pytest
import time_machine
from django.db import IntegrityError, transaction

from schools.models import LoneVisitPolicy, Role
from visits import services
from visits.models import (
    Authorisation,
    Decision,
    EventKind,
    RiskAssessment,
    Status,
    Visit,
    VisitStaff,
    VisitType,
)
from visits.rules import RuleBroken

from .conftest import make_visit
from .factories import RISK_ANSWERS, member, next_weekday_at, visit_details

AUTHORISERS = ["head", "dsl", "deputy", "slt"]


def _staff(*users):
    return [(user, user.staff_profile.mobile) for user in users]


def _current_staff(visit):
    return [(a.user, a.mobile) for a in visit.assignments.select_related("user")]


def _update(visit, by, *, staff=None, **changes):
    """Change some details of a visit, keeping its staff unless told otherwise."""
    return services.visit_update(
        visit=visit,
        by=by,
        details=changes,
        staff=_current_staff(visit) if staff is None else staff,
    )


def _authorise(visit, by, **kwargs):
    visit.refresh_from_db()
    version = kwargs.pop("version", visit.version)
    kwargs.setdefault("confirmed", True)
    return services.visit_authorise(visit=visit, by=by, expected_version=version, **kwargs)


def _submit_refused(visit, by, rule):
    """Submission is refused, for `rule` alone (so the test proves that rule and no other)."""
    with pytest.raises(RuleBroken) as refused:
        services.visit_submit(visit=visit, by=by)
    assert refused.value.messages
    assert all(f"({rule})" in message for message in refused.value.messages), refused.value
    visit.refresh_from_db()
    assert visit.status == Status.DRAFT
    assert not visit.events.filter(kind=EventKind.SUBMITTED).exists()


def _lone(pupil, by, who, *, submit=False, **details):
    return make_visit(pupil=pupil, by=by, staff=[who], details=details, submit=submit)


def _between(start_hour, start_minute, end_hour, end_minute):
    start = next_weekday_at(start_hour, start_minute)
    end = start.replace(hour=end_hour, minute=end_minute)
    return {"planned_start": start, "expected_end": end}


# P1: who may authorise ---------------------------------------------------------------------


@pytest.mark.parametrize("who", ["office", "visitor", "colleague", "school_admin", "outsider"])
def test_p1_visit_cannot_be_authorised_by_someone_without_authority(request, visit, who):
    person = request.getfixturevalue(who)
    with pytest.raises(RuleBroken, match=r"\(P1\)"):
        _authorise(visit, person)
    visit.refresh_from_db()
    assert visit.status == Status.SUBMITTED
    assert not Authorisation.objects.filter(visit=visit).exists()


@pytest.mark.parametrize("who", AUTHORISERS)
def test_p1_head_dsl_deputy_or_slt_may_authorise_when_the_school_allows(request, visit, who):
    person = request.getfixturevalue(who)
    authorised = _authorise(visit, person)
    assert authorised.status == Status.AUTHORISED
    authorisation = Authorisation.objects.get(visit=visit)
    assert authorisation.decision == Decision.APPROVED
    assert authorisation.decided_by == person


@pytest.mark.parametrize(
    ("setting", "who"),
    [
        ("slt_may_authorise", "slt"),
        ("headteacher_may_authorise", "head"),
        ("dsl_may_authorise", "dsl"),
        ("dsl_may_authorise", "deputy"),
    ],
)
def test_p1_school_setting_turned_off_refuses_that_role(request, school, visit, setting, who):
    person = request.getfixturevalue(who)
    setattr(school, setting, False)
    school.save()
    with pytest.raises(RuleBroken, match=r"\(P1\)"):
        _authorise(visit, person)
    assert not Authorisation.objects.filter(visit=visit).exists()


def test_p1_with_slt_turned_off_the_head_still_authorises(school, visit, head):
    school.slt_may_authorise = False
    school.save()
    assert _authorise(visit, head).status == Status.AUTHORISED


def test_p1_visit_on_which_you_go_cannot_be_authorised_by_you(pupil, office, dsl, visitor):
    visit = make_visit(pupil=pupil, by=office, staff=[dsl, visitor], submit=True)
    with pytest.raises(RuleBroken, match=r"You are going on this visit.*\(P1\)"):
        _authorise(visit, dsl)
    assert not Authorisation.objects.filter(visit=visit).exists()


def test_p1_refusing_also_needs_authority(visit, office, visitor):
    for person in (office, visitor):
        with pytest.raises(RuleBroken, match=r"\(P1\)"):
            services.visit_refuse(
                visit=visit, by=person, expected_version=visit.version, reason="No."
            )
    visit.refresh_from_db()
    assert visit.status == Status.SUBMITTED


def test_p1_visit_whose_planned_start_has_passed_cannot_be_submitted(
    pupil, office, visitor, partner
):
    visit = make_visit(pupil=pupil, by=office, staff=[visitor, partner])
    with time_machine.travel(visit.planned_start + datetime.timedelta(minutes=1), tick=False):
        _submit_refused(visit, office, "P1")


def test_p1_visit_whose_planned_start_has_passed_cannot_be_authorised(visit, head):
    with (
        time_machine.travel(visit.planned_start, tick=False),
        pytest.raises(RuleBroken, match=r"planned start has passed.*\(P1\)"),
    ):
        _authorise(visit, head)
    visit.refresh_from_db()
    assert visit.status == Status.SUBMITTED
    assert not Authorisation.objects.filter(visit=visit).exists()


# P2: the authorisation covers what was approved ---------------------------------------------


def test_p2_authorisation_stores_a_snapshot_of_staff_times_address_type_and_risk(
    authorised_visit, head, visitor, partner
):
    visit = authorised_visit
    authorisation = visit.current_authorisation()
    assert authorisation.decided_by == head
    assert authorisation.decided_as == Role.HEADTEACHER
    assert authorisation.visit_version == visit.version
    snapshot = authorisation.snapshot
    assert snapshot["staff"] == [
        {"id": visitor.pk, "name": "Vic Visitor"},
        {"id": partner.pk, "name": "Pat Partner"},
    ]
    assert datetime.datetime.fromisoformat(snapshot["planned_start"]) == visit.planned_start
    assert datetime.datetime.fromisoformat(snapshot["expected_end"]) == visit.expected_end
    assert snapshot["address"] == visit.address
    assert snapshot["visit_type"] == VisitType.DOORSTOP
    for name, answer in RISK_ANSWERS.items():
        assert snapshot["risk_answers"][name] == answer
    assert set(snapshot["risk_answers"]) == set(RiskAssessment.ANSWER_FIELDS)


def _assert_withdrawn(visit, authorisation, changed_word):
    visit.refresh_from_db()
    authorisation.refresh_from_db()
    assert visit.status == Status.SUBMITTED
    assert visit.authorised_at is None
    assert visit.current_authorisation() is None
    assert authorisation.withdrawn_at is not None
    assert changed_word in authorisation.withdrawn_reason
    event = visit.events.get(kind=EventKind.AUTHORISATION_WITHDRAWN)
    assert event.from_status == Status.AUTHORISED
    assert event.to_status == Status.SUBMITTED
    assert "(P2)" in event.message


@pytest.mark.parametrize(
    ("field", "value", "words"),
    [
        (
            "planned_start",
            lambda v: v.planned_start + datetime.timedelta(minutes=30),
            "the date and time",
        ),
        (
            "expected_end",
            lambda v: v.expected_end + datetime.timedelta(minutes=30),
            "the expected end",
        ),
        ("address", lambda v: "1 Other Road\nSalford", "the address"),
        ("visit_type", lambda v: VisitType.ENTER_HOME, "the type of visit"),
    ],
)
def test_p2_changing_what_was_authorised_withdraws_the_authorisation(
    authorised_visit, office, field, value, words
):
    visit = authorised_visit
    authorisation = visit.current_authorisation()
    _update(visit, office, **{field: value(visit)})
    _assert_withdrawn(visit, authorisation, words)
    # What changed is said as people say it, never as the column (STYLE.md "Words").
    assert "_" not in authorisation.withdrawn_reason


def test_p2_changing_the_staff_withdraws_the_authorisation(
    authorised_visit, office, visitor, colleague
):
    visit = authorised_visit
    authorisation = visit.current_authorisation()
    _update(visit, office, staff=_staff(visitor, colleague))
    _assert_withdrawn(visit, authorisation, "staff")


def test_p2_changing_a_risk_answer_withdraws_the_authorisation(authorised_visit, office):
    visit = authorised_visit
    authorisation = visit.current_authorisation()
    services.risk_assessment_record(visit=visit, by=office, answers={"animals": True})
    _assert_withdrawn(visit, authorisation, "risk assessment")


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("code_word", "snowdrop"),
        ("vehicle_description", "Red Vauxhall Corsa"),
        ("vehicle_registration", "XY34 ZZZ"),
        ("resources_note", "Leaflets on attendance"),
    ],
)
def test_p2_changing_a_detail_not_covered_keeps_the_authorisation(
    authorised_visit, office, field, value
):
    visit = authorised_visit
    authorisation = visit.current_authorisation()
    changed = _update(visit, office, **{field: value})
    assert getattr(changed, field) == value
    assert changed.status == Status.AUTHORISED
    assert changed.authorised_at is not None
    authorisation.refresh_from_db()
    assert authorisation.withdrawn_at is None
    assert changed.current_authorisation() == authorisation
    assert not changed.events.filter(kind=EventKind.AUTHORISATION_WITHDRAWN).exists()


def test_p2_decision_against_a_stale_version_is_refused(visit, office, head):
    read_version = visit.version
    changed = _update(visit, office, code_word="snowdrop")
    assert changed.version > read_version
    with pytest.raises(RuleBroken, match=r"changed since you opened it.*\(P2\)"):
        services.visit_authorise(
            visit=changed, by=head, expected_version=read_version, confirmed=True
        )
    for decide in (services.visit_refuse, services.visit_request_changes):
        with pytest.raises(RuleBroken, match=r"\(P2\)"):
            decide(visit=changed, by=head, expected_version=read_version, reason="Not now.")
    changed.refresh_from_db()
    assert changed.status == Status.SUBMITTED
    assert not Authorisation.objects.filter(visit=visit).exists()


def test_p2_withdrawn_visit_is_authorised_again_on_its_new_version(authorised_visit, office, dsl):
    visit = authorised_visit
    first = visit.current_authorisation()
    changed = _update(visit, office, address="1 Other Road\nSalford")
    with pytest.raises(RuleBroken, match=r"\(P2\)"):
        services.visit_authorise(
            visit=changed, by=dsl, expected_version=first.visit_version, confirmed=True
        )
    again = _authorise(changed, dsl)
    assert again.status == Status.AUTHORISED
    current = again.current_authorisation()
    assert current != first
    assert current.snapshot["address"] == "1 Other Road\nSalford"
    first.refresh_from_db()
    assert first.withdrawn_at is not None


# P3: two staff, never more; a lone visit only by a recorded decision ------------------------


def test_p3_three_staff_are_refused(pupil, office, visitor, partner, colleague):
    with pytest.raises(RuleBroken, match=r"No more than two.*\(P3\)"):
        services.visit_create(
            pupil=pupil,
            by=office,
            details=visit_details(),
            staff=_staff(visitor, partner, colleague),
        )
    assert not pupil.visits.exists()


def test_p3_adding_a_third_member_of_staff_to_a_visit_is_refused(
    visit, office, visitor, partner, colleague
):
    with pytest.raises(RuleBroken, match=r"\(P3\)"):
        _update(visit, office, staff=_staff(visitor, partner, colleague))
    assert visit.assignments.count() == 2


def test_p3_database_refuses_a_third_member_of_staff(visit, colleague):
    with pytest.raises(IntegrityError), transaction.atomic():
        VisitStaff.objects.create(visit=visit, user=colleague, mobile="07700 900222", position=3)


def test_p3_the_same_person_twice_is_refused(pupil, office, visitor):
    with pytest.raises(RuleBroken, match=r"same person is named twice.*\(P3\)"):
        services.visit_create(
            pupil=pupil, by=office, details=visit_details(), staff=_staff(visitor, visitor)
        )
    assert not pupil.visits.exists()


def test_p3_someone_who_is_not_visiting_staff_is_refused(pupil, office, visitor):
    with pytest.raises(RuleBroken, match=r"not visiting staff.*\(P3\)"):
        services.visit_create(
            pupil=pupil, by=office, details=visit_details(), staff=_staff(visitor, office)
        )


def test_p3_lone_visit_is_refused_at_submit_when_the_school_never_allows_one(
    school, pupil, office, visitor
):
    school.lone_visit_policy = LoneVisitPolicy.NEVER
    school.save()
    visit = _lone(pupil, office, visitor)
    _submit_refused(visit, office, "P3")


def test_p3_lone_visit_can_be_submitted_but_not_authorised_without_a_reason(
    pupil, office, visitor, head
):
    visit = _lone(pupil, office, visitor, submit=True)
    assert visit.status == Status.SUBMITTED
    with pytest.raises(RuleBroken, match=r"Record why.*\(P3\)"):
        _authorise(visit, head)
    with pytest.raises(RuleBroken, match=r"\(P3\)"):
        _authorise(visit, head, lone_visit_reason="   ")
    visit.refresh_from_db()
    assert visit.status == Status.SUBMITTED
    assert not Authorisation.objects.filter(visit=visit).exists()


def test_p3_lone_visit_authorised_with_a_reason_records_the_decision(pupil, office, visitor, head):
    visit = _lone(pupil, office, visitor, submit=True)
    authorised = _authorise(visit, head, lone_visit_reason=" Partner off sick; doorstop only. ")
    assert authorised.status == Status.AUTHORISED
    authorisation = authorised.current_authorisation()
    assert authorisation.lone_visit_reason == "Partner off sick; doorstop only."
    event = authorised.events.get(kind=EventKind.AUTHORISED)
    assert "Partner off sick; doorstop only." in event.message


def test_p3_lone_visit_decision_belongs_to_the_roles_the_school_names(
    school, pupil, office, visitor, head, dsl
):
    school.lone_visit_policy = LoneVisitPolicy.DSL
    school.save()
    visit = _lone(pupil, office, visitor, submit=True)
    reason = "Known family; parent asked for one familiar face."
    with pytest.raises(RuleBroken, match=r"Only the DSL or a deputy DSL.*\(P3\)"):
        _authorise(visit, head, lone_visit_reason=reason)
    assert not Authorisation.objects.filter(visit=visit).exists()
    authorised = _authorise(visit, dsl, lone_visit_reason=reason)
    assert authorised.status == Status.AUTHORISED
    authorisation = Authorisation.objects.get(visit=visit)
    assert authorisation.decided_by == dsl
    assert authorisation.lone_visit_reason == reason


def test_p3_a_paired_visit_records_no_lone_visit_decision(visit, head):
    authorised = _authorise(visit, head, lone_visit_reason="Not needed")
    assert authorised.current_authorisation().lone_visit_reason == ""


# P4: purpose and "could the parent come to school" ------------------------------------------


@pytest.mark.parametrize(
    "details",
    [
        {"purpose_detail": ""},
        {"purpose_detail": "   "},
        {"purpose": ""},
        {"purpose": "shopping_trip"},
    ],
    ids=["no_detail", "blank_detail", "no_purpose", "purpose_not_a_policy_reason"],
)
def test_p4_visit_without_its_purpose_is_refused_at_submit(
    pupil, office, visitor, partner, details
):
    visit = make_visit(pupil=pupil, by=office, staff=[visitor, partner], details=details)
    _submit_refused(visit, office, "P4")


def test_p4_unanswered_could_the_parent_come_to_school_is_refused(pupil, office, visitor, partner):
    visit = make_visit(
        pupil=pupil,
        by=office,
        staff=[visitor, partner],
        details={"parent_could_come_to_school": None},
    )
    _submit_refused(visit, office, "P4")


def test_p4_parent_could_come_to_school_needs_a_reason_for_the_home_visit(
    pupil, office, visitor, partner
):
    visit = make_visit(
        pupil=pupil,
        by=office,
        staff=[visitor, partner],
        details={"parent_could_come_to_school": True, "why_not_in_school": ""},
    )
    _submit_refused(visit, office, "P4")
    _update(visit, office, why_not_in_school="Child must be seen in the home setting.")
    assert services.visit_submit(visit=visit, by=office).status == Status.SUBMITTED


# P5: risk assessment ----------------------------------------------------------------------


def test_p5_visit_without_a_risk_assessment_is_refused_at_submit(pupil, office, visitor, partner):
    visit = make_visit(pupil=pupil, by=office, staff=[visitor, partner], risk=False)
    _submit_refused(visit, office, "P5")


@pytest.mark.parametrize("known", ["", "   "])
def test_p5_risk_assessment_without_what_is_known_about_the_family_is_refused(
    pupil, office, visitor, partner, known
):
    # An assessment left at its defaults is not "completed" (P5); refused when recorded or
    # when submitted, with a P5 message.
    visit = make_visit(pupil=pupil, by=office, staff=[visitor, partner], risk=False)
    with pytest.raises(RuleBroken, match=r"\(P5\)"):
        services.risk_assessment_record(
            visit=visit, by=office, answers=RISK_ANSWERS | {"known_about_family": known}
        )
        services.visit_submit(visit=visit, by=office)
    visit.refresh_from_db()
    assert visit.status == Status.DRAFT


def test_p5_last_risk_assessment_of_the_pupil_is_the_starting_point(
    pupil, office, visitor, partner
):
    first = make_visit(pupil=pupil, by=office, staff=[visitor, partner])
    services.risk_assessment_record(
        visit=first,
        by=office,
        answers={"animals": True},
        now=first.risk_assessment.completed_at + datetime.timedelta(minutes=5),
    )
    later = make_visit(pupil=pupil, by=office, staff=[visitor, partner], risk=False)
    previous = services.last_risk_assessment_for(pupil, exclude_visit=later)
    assert previous.visit == first
    assert previous.animals is True
    assert services.last_risk_assessment_for(pupil) == previous


def test_p5_last_risk_assessment_is_the_most_recent_and_excludes_this_visit(
    pupil, office, visitor, partner
):
    older = make_visit(pupil=pupil, by=office, staff=[visitor, partner], risk=False)
    newer = make_visit(pupil=pupil, by=office, staff=[visitor, partner], risk=False)
    now = older.created_at
    services.risk_assessment_record(
        visit=older, by=office, answers=RISK_ANSWERS, now=now - datetime.timedelta(days=30)
    )
    services.risk_assessment_record(
        visit=newer,
        by=office,
        answers=RISK_ANSWERS | {"unknowns": "Who else lives there now."},
        now=now - datetime.timedelta(days=1),
    )
    assert services.last_risk_assessment_for(pupil).visit == newer
    assert services.last_risk_assessment_for(pupil, exclude_visit=newer).visit == older


def test_p5_another_pupils_assessment_is_not_offered(school, pupil, office, visitor, partner):
    from .factories import PupilFactory

    sibling = PupilFactory(school=school)
    make_visit(pupil=sibling, by=office, staff=[visitor, partner])
    assert services.last_risk_assessment_for(pupil) is None


# P6: entering the home when risky needs two staff -------------------------------------------

P6_FLAGS = ["little_known", "previous_aggression", "contentious_issues"]


@pytest.mark.parametrize("flag", P6_FLAGS)
def test_p6_lone_visit_entering_a_risky_home_is_refused(pupil, office, visitor, flag):
    visit = make_visit(
        pupil=pupil,
        by=office,
        staff=[visitor],
        details={"visit_type": VisitType.ENTER_HOME},
        risk={flag: True},
    )
    _submit_refused(visit, office, "P6")


@pytest.mark.parametrize("flag", P6_FLAGS)
def test_p6_lone_doorstop_visit_with_the_same_risk_is_allowed(pupil, office, visitor, dsl, flag):
    visit = make_visit(
        pupil=pupil,
        by=office,
        staff=[visitor],
        details={"visit_type": VisitType.DOORSTOP},
        risk={flag: True},
        submit=True,
    )
    assert visit.status == Status.SUBMITTED
    authorised = _authorise(visit, dsl, lone_visit_reason="Doorstop only; parent known to us.")
    assert authorised.status == Status.AUTHORISED


@pytest.mark.parametrize("flag", P6_FLAGS)
def test_p6_paired_visit_entering_a_risky_home_is_allowed(
    pupil, office, visitor, partner, head, flag
):
    visit = make_visit(
        pupil=pupil,
        by=office,
        staff=[visitor, partner],
        details={"visit_type": VisitType.ENTER_HOME},
        risk={flag: True},
        submit=True,
    )
    assert _authorise(visit, head).status == Status.AUTHORISED


@pytest.mark.parametrize("flag", P6_FLAGS)
def test_p6_lone_visit_decision_cannot_override_p6(pupil, office, visitor, dsl, flag):
    visit = make_visit(
        pupil=pupil,
        by=office,
        staff=[visitor],
        details={"visit_type": VisitType.ENTER_HOME},
        submit=True,
    )
    # The risk changes after submission: the change itself is refused while the visit is lone,
    # and no lone-visit decision can get it authorised.
    with pytest.raises(RuleBroken, match=r"\(P6\)"):
        services.risk_assessment_record(visit=visit, by=office, answers={flag: True})
    RiskAssessment.objects.filter(visit=visit).update(**{flag: True})  # however it got there
    with pytest.raises(RuleBroken, match=r"\(P6\)"):
        _authorise(visit, dsl, lone_visit_reason="I know this family well.")
    visit.refresh_from_db()
    assert visit.status == Status.SUBMITTED
    assert not Authorisation.objects.filter(visit=visit).exists()


@pytest.mark.parametrize("visit_type", ["", "garden"])
def test_p6_lone_risky_visit_without_a_doorstop_or_enter_home_answer_is_refused(
    pupil, office, visitor, visit_type
):
    # "Doorstop or entering the home" is a P5 question and P6 depends on it: a visit that does
    # not say which must not slip past P6 as lone.
    visit = make_visit(
        pupil=pupil,
        by=office,
        staff=[visitor],
        details={"visit_type": visit_type},
        risk={"little_known": True},
    )
    with pytest.raises(RuleBroken, match=r"\(P[56]\)"):
        services.visit_submit(visit=visit, by=office)
    visit.refresh_from_db()
    assert visit.status == Status.DRAFT


def test_p6_lone_visit_made_to_enter_a_risky_home_after_authorisation_is_not_reauthorised(
    pupil, office, visitor, dsl
):
    visit = make_visit(
        pupil=pupil, by=office, staff=[visitor], risk={"little_known": True}, submit=True
    )
    _authorise(visit, dsl, lone_visit_reason="Doorstop only.")
    with pytest.raises(RuleBroken, match=r"\(P6\)"):
        _update(visit, office, visit_type=VisitType.ENTER_HOME)
    visit.refresh_from_db()
    assert visit.visit_type == VisitType.DOORSTOP
    assert visit.status == Status.AUTHORISED


# P7: times and reporting-in -----------------------------------------------------------------


@pytest.mark.parametrize("missing", ["expected_end", "planned_start"])
def test_p7_visit_without_its_times_is_refused(pupil, office, visitor, partner, missing):
    # Refused with a P7 message, whether at creation or at submission; never a database error.
    with pytest.raises(RuleBroken, match=r"\(P7\)"):
        visit = services.visit_create(
            pupil=pupil,
            by=office,
            details=visit_details(**{missing: None}),
            staff=_staff(visitor, partner),
        )
        services.risk_assessment_record(visit=visit, by=office, answers=RISK_ANSWERS)
        services.visit_submit(visit=visit, by=office)
    assert not pupil.visits.filter(status=Status.SUBMITTED).exists()


def test_p7_removing_the_end_of_a_draft_is_refused(pupil, office, visitor, partner):
    visit = make_visit(pupil=pupil, by=office, staff=[visitor, partner])
    with pytest.raises(RuleBroken, match=r"\(P7\)"):
        changed = _update(visit, office, expected_end=None)
        services.visit_submit(visit=changed, by=office)
    visit.refresh_from_db()
    assert visit.status == Status.DRAFT


@pytest.mark.parametrize("minutes", [-30, 0])
def test_p7_end_before_or_at_the_start_is_refused(pupil, office, visitor, partner, minutes):
    start = next_weekday_at(10)
    visit = make_visit(
        pupil=pupil,
        by=office,
        staff=[visitor, partner],
        details={
            "planned_start": start,
            "expected_end": start + datetime.timedelta(minutes=minutes),
        },
    )
    _submit_refused(visit, office, "P7")


@pytest.mark.parametrize("blank", ["", "   "])
def test_p7_no_reporting_arrangements_is_refused(pupil, office, visitor, partner, blank):
    visit = make_visit(pupil=pupil, by=office, staff=[visitor, partner])
    _update(visit, office, reporting_arrangements=blank)
    _submit_refused(visit, office, "P7")


def test_p7_new_visit_starts_from_the_default_reporting_arrangements(
    pupil, office, visitor, partner
):
    visit = services.visit_create(
        pupil=pupil,
        by=office,
        details=visit_details(reporting_arrangements=""),
        staff=_staff(visitor, partner),
    )
    assert visit.reporting_arrangements == services.DEFAULT_REPORTING


# P8: parents told in advance, or the reason for an unannounced visit ------------------------


@pytest.mark.parametrize(
    "details",
    [
        {"announced": True, "parent_told_how": ""},
        {"announced": True, "parent_told_at": None},
        {"announced": None},
    ],
)
def test_p8_announced_visit_without_how_and_when_is_refused(
    pupil, office, visitor, partner, details
):
    visit = make_visit(pupil=pupil, by=office, staff=[visitor, partner], details=details)
    _submit_refused(visit, office, "P8")


def test_p8_parent_told_only_after_the_visit_starts_is_not_told_in_advance(
    pupil, office, visitor, partner
):
    start = next_weekday_at(10)
    visit = make_visit(
        pupil=pupil,
        by=office,
        staff=[visitor, partner],
        details={
            "planned_start": start,
            "expected_end": start + datetime.timedelta(hours=1),
            "parent_told_at": start + datetime.timedelta(hours=2),
        },
    )
    _submit_refused(visit, office, "P8")


def test_p8_unannounced_visit_without_a_reason_is_refused(pupil, office, visitor, partner):
    visit = make_visit(
        pupil=pupil,
        by=office,
        staff=[visitor, partner],
        details={"announced": False, "parent_told_how": "", "parent_told_at": None},
    )
    _submit_refused(visit, office, "P8")


def test_p8_unannounced_visit_with_a_reason_passes(pupil, office, visitor, partner, head):
    visit = make_visit(
        pupil=pupil,
        by=office,
        staff=[visitor, partner],
        details={
            "announced": False,
            "parent_told_how": "",
            "parent_told_at": None,
            "unannounced_reason": "Welfare concern: no answer to calls for a week.",
        },
        submit=True,
    )
    assert visit.status == Status.SUBMITTED
    assert _authorise(visit, head).status == Status.AUTHORISED


# P10: signed and sanctioned by the authoriser -----------------------------------------------


def test_p10_authorising_without_confirming_is_refused(visit, head):
    with pytest.raises(RuleBroken, match=r"\(P10\)"):
        _authorise(visit, head, confirmed=False)
    visit.refresh_from_db()
    assert visit.status == Status.SUBMITTED
    assert not Authorisation.objects.filter(visit=visit).exists()


def test_p10_an_edit_cannot_leave_a_submitted_visit_incomplete(visit, office, head):
    with pytest.raises(RuleBroken, match=r"\(P4\)"):
        _update(visit, office, purpose_detail="")
    visit.refresh_from_db()
    assert visit.purpose_detail
    assert visit.status == Status.SUBMITTED


def test_p10_authorising_rechecks_the_request_is_complete(visit, office, head):
    Visit.objects.filter(pk=visit.pk).update(purpose_detail="")  # an import, the admin
    with pytest.raises(RuleBroken, match=r"\(P4\)"):
        _authorise(visit, head)
    assert not Authorisation.objects.filter(visit=visit).exists()


def test_p10_authorising_rechecks_the_staff_still_carry_a_mobile(visit, head, partner):
    VisitStaff.objects.filter(visit=visit, user=partner).update(mobile="")
    with pytest.raises(RuleBroken, match=r"\(P13\)"):
        _authorise(visit, head)
    assert not Authorisation.objects.filter(visit=visit).exists()


# P13: a mobile for everyone on the visit ----------------------------------------------------


@pytest.mark.parametrize("mobile", ["", "   "])
def test_p13_staff_without_a_mobile_is_refused_at_create(school, pupil, office, visitor, mobile):
    phoneless = member(school, Role.VISITING_STAFF, username="phoneless", mobile=mobile)
    with pytest.raises(RuleBroken, match=r"\(P13\)"):
        services.visit_create(
            pupil=pupil, by=office, details=visit_details(), staff=_staff(visitor, phoneless)
        )
    assert not pupil.visits.exists()


def test_p13_replacing_staff_with_someone_without_a_mobile_is_refused(
    school, visit, office, visitor
):
    phoneless = member(school, Role.VISITING_STAFF, username="phoneless", mobile="")
    with pytest.raises(RuleBroken, match=r"\(P13\)"):
        _update(visit, office, staff=_staff(visitor, phoneless))
    assert phoneless.pk not in visit.staff_user_ids()


def test_p13_staff_without_a_mobile_is_refused_at_submit(pupil, office, visitor, partner):
    visit = make_visit(pupil=pupil, by=office, staff=[visitor, partner])
    # However the mobile went missing (an import, the admin), submission checks it again.
    VisitStaff.objects.filter(visit=visit, user=partner).update(mobile="  ")
    _submit_refused(visit, office, "P13")


# P15: no lone evening visit -----------------------------------------------------------------


def test_p15_lone_visit_ending_after_evening_starts_is_refused(pupil, office, visitor):
    visit = _lone(pupil, office, visitor, **_between(16, 30, 17, 30))
    _submit_refused(visit, office, "P15")


def test_p15_lone_visit_starting_in_the_evening_is_refused(pupil, office, visitor):
    visit = _lone(pupil, office, visitor, **_between(17, 0, 17, 45))
    _submit_refused(visit, office, "P15")


def test_p15_lone_visit_running_past_midnight_is_refused(pupil, office, visitor):
    start = next_weekday_at(15)
    visit = _lone(
        pupil,
        office,
        visitor,
        planned_start=start,
        expected_end=start + datetime.timedelta(hours=10),
    )
    _submit_refused(visit, office, "P15")


def test_p15_the_same_evening_visit_as_a_pair_passes(pupil, office, visitor, partner, head):
    visit = make_visit(
        pupil=pupil,
        by=office,
        staff=[visitor, partner],
        details=_between(16, 30, 17, 30),
        submit=True,
    )
    assert visit.status == Status.SUBMITTED
    assert _authorise(visit, head).status == Status.AUTHORISED


@pytest.mark.parametrize("end", [(16, 0), (17, 0)])
def test_p15_lone_visit_ending_by_evening_passes(pupil, office, visitor, dsl, end):
    visit = _lone(pupil, office, visitor, submit=True, **_between(15, 0, *end))
    assert visit.status == Status.SUBMITTED
    authorised = _authorise(visit, dsl, lone_visit_reason="Short doorstop; partner unwell.")
    assert authorised.status == Status.AUTHORISED


def test_p15_school_evening_at_16_refuses_a_lone_visit_to_16_30(school, pupil, office, visitor):
    school.evening_starts_at = datetime.time(16, 0)
    school.save()
    visit = _lone(pupil, office, visitor, **_between(15, 0, 16, 30))
    _submit_refused(visit, office, "P15")
    assert "16:00" in " ".join(services.submission_problems(visit))


def test_p15_school_evening_at_16_allows_a_lone_visit_ending_at_15_30(
    school, pupil, office, visitor
):
    school.evening_starts_at = datetime.time(16, 0)
    school.save()
    visit = _lone(pupil, office, visitor, submit=True, **_between(14, 0, 15, 30))
    assert visit.status == Status.SUBMITTED


def test_p15_evening_moved_earlier_after_submission_stops_the_authorisation(
    school, pupil, office, visitor, dsl
):
    visit = _lone(pupil, office, visitor, submit=True, **_between(15, 0, 16, 30))
    school.evening_starts_at = datetime.time(16, 0)
    school.save()
    with pytest.raises(RuleBroken, match=r"\(P15\)"):
        _authorise(visit, dsl, lone_visit_reason="Known family.")
    assert not Authorisation.objects.filter(visit=visit).exists()
