"""The minutes' rules in the domain layer (A1, A3, A6, A7, A8): each test breaks a rule and sees
the refusal, and nothing already stored is lost."""

import datetime

import pytest
from django.utils import timezone

from safeguarding.models import (
    Action,
    Addendum,
    ConcernEvent,
    Debrief,
    Minutes,
    MinutesEvent,
    MinutesEventKind,
    MinutesStatus,
    Signature,
)
from safeguarding.services import concern_raise
from safeguarding.services import minutes as svc
from visits import services
from visits.models import EventKind, Status
from visits.rules import RuleBroken

from .conftest import make_visit
from .factories import minutes_answers, record_debrief, write_minutes


def _png():
    """A real drawing: a signature is decoded in full, not trusted on its first 8 bytes."""
    from io import BytesIO

    from PIL import Image

    buffer = BytesIO()
    Image.new("RGBA", (120, 40), (0, 0, 0, 0)).save(buffer, format="PNG")
    return buffer.getvalue()


PNG = _png()
AFTER = datetime.timedelta(minutes=70)


def _done(visit, by):
    """The visit arrived and left, as the staff's phone records it (D1)."""
    services.visit_arrive(visit=visit, by=by, now=visit.planned_start)
    return services.visit_leave(visit=visit, by=by, now=visit.planned_start + AFTER)


@pytest.fixture
def completed(authorised_visit, visitor):
    return _done(authorised_visit, visitor)


@pytest.fixture
def later(completed):
    return completed.completed_at + datetime.timedelta(minutes=20)


def _save(minutes, by, now, **values):
    """Save as a tablet that has seen the latest stored values."""
    minutes.refresh_from_db()
    stored = svc.minutes_values(minutes)
    changes = {name: {"base": stored[name], "value": value} for name, value in values.items()}
    return svc.minutes_save_draft(minutes=minutes, by=by, changes=changes, now=now)


# Who writes, and when ----------------------------------------------------------------------


def test_a1_minutes_cannot_be_started_before_staff_arrive(authorised_visit, visitor):
    with pytest.raises(RuleBroken, match="once staff have arrived"):
        svc.minutes_start(visit=authorised_visit, by=visitor)
    assert not Minutes.objects.exists()


def test_a1_minutes_can_be_written_on_site_during_the_visit(authorised_visit, partner):
    services.visit_arrive(visit=authorised_visit, by=partner, now=authorised_visit.planned_start)
    minutes = svc.minutes_start(visit=authorised_visit, by=partner)
    assert minutes.status == MinutesStatus.DRAFT
    assert minutes.events.get().kind == MinutesEventKind.STARTED


@pytest.mark.parametrize("who", ["colleague", "office", "dsl", "head", "outsider"])
def test_a1_only_the_staff_on_the_visit_write_its_minutes(request, completed, who):
    with pytest.raises(RuleBroken, match="staff who made the visit"):
        svc.minutes_start(visit=completed, by=request.getfixturevalue(who))
    assert not Minutes.objects.exists()


def test_starting_twice_gives_the_same_minutes_and_one_started_event(completed, visitor, partner):
    first = svc.minutes_start(visit=completed, by=visitor)
    second = svc.minutes_start(visit=completed, by=partner)
    assert first.pk == second.pk
    assert first.events.filter(kind=MinutesEventKind.STARTED).count() == 1


# Drafts and conflicts ------------------------------------------------------------------------


def test_two_people_saving_different_fields_both_land(completed, visitor, partner, later):
    minutes = svc.minutes_start(visit=completed, by=visitor)
    base = svc.minutes_values(minutes)
    svc.minutes_save_draft(
        minutes=minutes,
        by=visitor,
        changes={"discussed": {"base": base["discussed"], "value": "Attendance."}},
        now=later,
    )
    # The partner's tablet still holds the old values: a different field merges cleanly.
    saved = svc.minutes_save_draft(
        minutes=minutes,
        by=partner,
        changes={"child_voice": {"base": base["child_voice"], "value": "Wants to come back."}},
        now=later,
    )
    assert saved.conflicts == {}
    minutes.refresh_from_db()
    assert (minutes.discussed, minutes.child_voice) == ("Attendance.", "Wants to come back.")
    assert minutes.revision == 2


def test_the_same_field_changed_by_two_people_is_a_conflict_not_an_overwrite(
    completed, visitor, partner, later
):
    minutes = svc.minutes_start(visit=completed, by=visitor)
    base = svc.minutes_values(minutes)["discussed"]
    svc.minutes_save_draft(
        minutes=minutes,
        by=visitor,
        changes={"discussed": {"base": base, "value": "Vic's account."}},
        now=later,
    )
    saved = svc.minutes_save_draft(
        minutes=minutes,
        by=partner,
        changes={"discussed": {"base": base, "value": "Pat's account."}},
        now=later,
    )
    minutes.refresh_from_db()
    assert minutes.discussed == "Vic's account."
    conflict = saved.conflicts["discussed"]
    assert conflict["mine"] == "Pat's account."
    assert conflict["theirs"] == "Vic's account."
    assert conflict["by"] == "Vic Visitor"
    assert minutes.events.filter(kind=MinutesEventKind.CONFLICT, by=partner).exists()
    # Choosing "keep mine" sends it again on top of what they now have seen.
    svc.minutes_save_draft(
        minutes=minutes,
        by=partner,
        changes={"discussed": {"base": "Vic's account.", "value": "Pat's account."}},
        now=later,
    )
    minutes.refresh_from_db()
    assert minutes.discussed == "Pat's account."


def test_resending_a_save_that_already_landed_is_not_a_conflict(completed, visitor, later):
    """A tablet that lost the reply re-sends the same change when it reconnects."""
    minutes = svc.minutes_start(visit=completed, by=visitor)
    change = {"discussed": {"base": "", "value": "Sent twice."}}
    svc.minutes_save_draft(minutes=minutes, by=visitor, changes=change, now=later)
    again = svc.minutes_save_draft(minutes=minutes, by=visitor, changes=change, now=later)
    assert again.conflicts == {}
    assert again.minutes.revision == 1


@pytest.mark.parametrize(
    "field, value, message",
    [
        ("further_visit_on", "next Tuesday", "not a date"),
        ("child_seen", "maybe", "yes or no"),
        ("present", "Mum", "list"),
        ("discussed", "x" * 20_001, "at most"),
    ],
)
def test_a_bad_value_is_refused_with_its_field_named_and_nothing_else_lost(
    completed, visitor, later, field, value, message
):
    minutes = svc.minutes_start(visit=completed, by=visitor)
    _save(minutes, visitor, later, child_voice="Kept.")
    with pytest.raises(RuleBroken, match=message):
        _save(minutes, visitor, later, **{field: value})
    minutes.refresh_from_db()
    assert minutes.child_voice == "Kept."


def test_editing_is_audited_once_per_person_per_ten_minutes(completed, visitor, later):
    minutes = svc.minutes_start(visit=completed, by=visitor)
    for seconds in range(0, 300, 3):
        _save(
            minutes, visitor, later + datetime.timedelta(seconds=seconds), discussed=f"v{seconds}"
        )
    _save(minutes, visitor, later + datetime.timedelta(minutes=11), discussed="after a break")
    assert minutes.events.filter(kind=MinutesEventKind.EDITED).count() == 2


# Submitting ----------------------------------------------------------------------------------


def test_a1_submit_is_refused_until_the_minutes_say_what_the_policy_asks(completed, visitor, later):
    minutes = svc.minutes_start(visit=completed, by=visitor)
    with pytest.raises(RuleBroken) as refused:
        svc.minutes_submit(minutes=minutes, by=visitor, now=later)
    for words in ("who was present", "child was seen", "what was discussed", "follow-up"):
        assert words in str(refused.value)
    minutes.refresh_from_db()
    assert minutes.status == MinutesStatus.DRAFT


def test_a1_parental_responsibility_is_asked_for_everyone_present(completed, visitor, later):
    minutes = svc.minutes_start(visit=completed, by=visitor)
    due = timezone.localdate() + datetime.timedelta(days=3)
    answers = minutes_answers(visitor, due)
    answers["present"][1]["parental_responsibility"] = None
    _save(minutes, visitor, later, **answers)
    with pytest.raises(RuleBroken, match="parental responsibility"):
        svc.minutes_submit(minutes=minutes, by=visitor, now=later)


@pytest.mark.parametrize(
    "action, message",
    [
        ({"description": "", "owner": "me", "due_on": "+3"}, "needs a description"),
        ({"description": "Call", "owner": None, "due_on": "+3"}, "needs an owner"),
        ({"description": "Call", "owner": "outsider", "due_on": "+3"}, "needs an owner"),
        ({"description": "Call", "owner": "me", "due_on": ""}, "needs a due date"),
        ({"description": "Call", "owner": "me", "due_on": "-1"}, "due in the past"),
    ],
)
def test_a7_each_action_needs_an_owner_from_the_school_and_a_due_date(
    request, completed, visitor, later, action, message
):
    owner = {"me": visitor, "outsider": request.getfixturevalue("outsider"), None: None}[
        action["owner"]
    ]
    today = timezone.localtime(later).date()
    due = ""
    if action["due_on"]:
        due = (today + datetime.timedelta(days=int(action["due_on"]))).isoformat()
    plan = [{"description": action["description"], "owner": owner and owner.pk, "due_on": due}]
    minutes = svc.minutes_start(visit=completed, by=visitor)
    _save(minutes, visitor, later, **minutes_answers(visitor, today, action_plan=plan))
    with pytest.raises(RuleBroken, match=message):
        svc.minutes_submit(minutes=minutes, by=visitor, now=later)
    assert not Action.objects.exists()


def test_a7_submitting_creates_each_action_with_its_owner_and_due_date(
    completed, visitor, dsl, later
):
    due = timezone.localtime(later).date() + datetime.timedelta(days=5)
    plan = [
        {"description": "Bus pass", "owner": visitor.pk, "due_on": due.isoformat()},
        {"description": "Early help form", "owner": dsl.pk, "due_on": due.isoformat()},
    ]
    minutes = write_minutes(completed, visitor, now=later, action_plan=plan)
    actions = list(Action.objects.order_by("pk"))
    assert [(a.description, a.owner, a.due_on) for a in actions] == [
        ("Bus pass", visitor, due),
        ("Early help form", dsl, due),
    ]
    assert all(a.minutes == minutes and a.pupil == completed.pupil for a in actions)
    assert completed.events.filter(kind=EventKind.MINUTES_SUBMITTED, by=visitor).exists()


def test_a7_an_actions_owner_is_told_without_what_it_is(completed, visitor, dsl, later):
    from notifications.models import Notification

    dsl.email = "dsl@example.org"
    dsl.save()
    due = timezone.localtime(later).date() + datetime.timedelta(days=5)
    plan = [
        {"description": "Secret wording", "owner": dsl.pk, "due_on": due.isoformat()},
        {"description": "Mine", "owner": visitor.pk, "due_on": due.isoformat()},
    ]
    write_minutes(completed, visitor, now=later, action_plan=plan)
    told = Notification.objects.filter(recipient=dsl, key__startswith="action")
    assert told.count() >= 1
    assert all("Secret wording" not in n.body for n in told)
    # The one who wrote the action for themselves gets no message about it.
    assert not Notification.objects.filter(recipient=visitor, key__startswith="action").exists()


def test_submitted_minutes_never_change_again(completed, visitor, partner, later):
    minutes = write_minutes(completed, visitor, now=later)
    with pytest.raises(RuleBroken, match="add an addendum"):
        _save(minutes, partner, later, discussed="Rewritten afterwards.")
    with pytest.raises(RuleBroken, match="add an addendum"):
        svc.minutes_sign(
            minutes=minutes, by=visitor, signer_role="staff", signer_name="Vic", png=PNG
        )
    minutes.refresh_from_db()
    assert minutes.discussed.startswith("Attendance since half term")
    # A repeat of the submit changes nothing and records nothing.
    events = minutes.events.count()
    svc.minutes_submit(minutes=minutes, by=partner, now=later + AFTER)
    minutes.refresh_from_db()
    assert (minutes.submitted_by, minutes.submitted_at) == (visitor, later)
    assert minutes.events.count() == events
    assert Action.objects.count() == 1


def test_corrections_are_addenda_with_who_and_when(completed, visitor, dsl, later):
    minutes = write_minutes(completed, visitor, now=later)
    with pytest.raises(RuleBroken, match="Write the addendum"):
        svc.minutes_add_addendum(minutes=minutes, by=dsl, text="  ")
    addendum = svc.minutes_add_addendum(
        minutes=minutes, by=dsl, text="Mother later said the lodger has moved out.", now=later
    )
    assert (addendum.by, addendum.at) == (dsl, later)
    assert minutes.events.filter(kind=MinutesEventKind.ADDENDUM, by=dsl).exists()


@pytest.mark.parametrize("who", ["colleague", "office", "outsider"])
def test_a8_people_who_may_not_read_the_minutes_add_no_addendum(request, completed, visitor, who):
    minutes = write_minutes(completed, visitor)
    with pytest.raises(RuleBroken, match="may read these minutes"):
        svc.minutes_add_addendum(minutes=minutes, by=request.getfixturevalue(who), text="Note.")
    assert not Addendum.objects.exists()


def test_an_addendum_is_refused_on_a_draft(completed, visitor):
    minutes = write_minutes(completed, visitor, submit=False)
    with pytest.raises(RuleBroken, match="addenda are for submitted minutes"):
        svc.minutes_add_addendum(minutes=minutes, by=visitor, text="Note.")


def test_audit_rows_and_addenda_are_append_only(completed, visitor, dsl):
    minutes = write_minutes(completed, visitor)
    addendum = svc.minutes_add_addendum(minutes=minutes, by=dsl, text="Note.")
    event = MinutesEvent.objects.first()
    for row in (addendum, event):
        with pytest.raises(ValueError, match="append-only"):
            row.save()
        with pytest.raises(ValueError, match="append-only"):
            row.delete()
    concern = concern_raise(pupil=completed.pupil, by=visitor, account="Seen a bruise.")
    with pytest.raises(ValueError, match="append-only"):
        ConcernEvent.objects.filter(concern=concern).first().delete()


# Signatures (A3) -----------------------------------------------------------------------------


@pytest.fixture
def attendance_visit(pupil, office, visitor, partner, head):
    visit = make_visit(
        pupil=pupil,
        by=office,
        staff=[visitor, partner],
        details={"purpose": "attendance"},
        submit=True,
    )
    visit = services.visit_authorise(
        visit=visit, by=head, expected_version=visit.version, confirmed=True
    )
    return _done(visit, visitor)


def test_a3_an_attendance_visit_needs_both_signatures_or_a_reason(attendance_visit, visitor):
    later = attendance_visit.completed_at
    minutes = write_minutes(attendance_visit, visitor, now=later, submit=False)
    with pytest.raises(RuleBroken) as refused:
        svc.minutes_submit(minutes=minutes, by=visitor, now=later)
    assert "member of staff's signature (A3)" in str(refused.value)
    assert "parent/carer's signature" in str(refused.value)

    svc.minutes_sign(minutes=minutes, by=visitor, signer_role="staff", signer_name="Vic", png=PNG)
    _save(minutes, visitor, later, signatures_note="Mother declined to sign.")
    svc.minutes_submit(minutes=minutes, by=visitor, now=later)
    minutes.refresh_from_db()
    assert minutes.is_submitted


def test_a3_a_signature_must_be_a_png_drawing(attendance_visit, visitor):
    minutes = write_minutes(attendance_visit, visitor, submit=False)
    for png in (b"GIF89a...", b"", PNG + b"\x00" * 300_000):
        with pytest.raises(RuleBroken, match="PNG drawing"):
            svc.minutes_sign(
                minutes=minutes, by=visitor, signer_role="carer", signer_name="Mary", png=png
            )
    with pytest.raises(RuleBroken, match="name of the person signing"):
        svc.minutes_sign(minutes=minutes, by=visitor, signer_role="carer", signer_name=" ", png=PNG)
    assert not Signature.objects.exists()


def test_a3_signing_again_replaces_the_drawing_until_submitted(attendance_visit, visitor):
    minutes = write_minutes(attendance_visit, visitor, submit=False)
    for name in ("Mary", "Mary Pupil"):
        svc.minutes_sign(
            minutes=minutes, by=visitor, signer_role="carer", signer_name=name, png=PNG
        )
    assert Signature.objects.get().signer_name == "Mary Pupil"
    assert minutes.events.filter(kind=MinutesEventKind.SIGNED).count() == 2


# Debrief and closing (A6) --------------------------------------------------------------------


def test_a6_the_visit_closes_only_with_minutes_and_a_debrief(completed, visitor, dsl, later):
    record_debrief(completed, dsl, now=later)
    completed.refresh_from_db()
    assert completed.status == Status.COMPLETED
    assert svc.record_missing(completed) == ["submitted minutes"]

    write_minutes(completed, visitor, now=later)
    completed.refresh_from_db()
    assert completed.status == Status.CLOSED
    assert completed.closed_at == later


def test_a6_draft_minutes_do_not_close_the_visit(completed, visitor, dsl, later):
    write_minutes(completed, visitor, now=later, submit=False)
    record_debrief(completed, dsl, now=later)
    completed.refresh_from_db()
    assert completed.status == Status.COMPLETED
    assert svc.record_missing(completed) == ["submitted minutes"]


@pytest.mark.parametrize("who", ["visitor", "partner"])
def test_a6_staff_who_went_cannot_debrief_themselves(request, completed, who, later):
    with pytest.raises(RuleBroken, match="not on the visit"):
        record_debrief(completed, request.getfixturevalue(who), now=later, led_as="line_manager")


def test_a6_a_debrief_in_a_role_needs_that_role(completed, slt, later):
    with pytest.raises(RuleBroken, match="not the school's DSL"):
        record_debrief(completed, slt, now=later, led_as="dsl")
    debrief = record_debrief(completed, slt, now=later, led_as="line_manager")
    assert debrief.led_by == slt


@pytest.mark.parametrize("who", ["colleague", "office", "school_admin"])
def test_a6_a8_staff_who_may_not_read_the_visit_record_no_debrief(request, completed, who, later):
    with pytest.raises(RuleBroken, match="recorded by the DSL, a deputy, the headteacher or SLT"):
        record_debrief(completed, request.getfixturevalue(who), now=later, led_as="line_manager")
    assert not Debrief.objects.exists()


def test_a6_a_debrief_is_after_the_visit_and_not_in_the_future(authorised_visit, dsl, visitor):
    with pytest.raises(RuleBroken, match="after the visit"):
        record_debrief(authorised_visit, dsl)
    visit = _done(authorised_visit, visitor)
    for held_at in (visit.planned_start - AFTER, visit.completed_at + datetime.timedelta(days=1)):
        with pytest.raises(RuleBroken, match="before the visit|in the future"):
            svc.debrief_record(
                visit=visit,
                by=dsl,
                led_as="dsl",
                held_at=held_at,
                agreed="x",
                now=visit.completed_at,
            )


def test_a6_a_debrief_is_recorded_once(completed, dsl, head, later):
    record_debrief(completed, dsl, now=later)
    with pytest.raises(RuleBroken, match="already recorded"):
        record_debrief(completed, head, now=later, led_as="headteacher")
    assert completed.events.filter(kind=EventKind.DEBRIEF_RECORDED).count() == 1


def test_a6_outsider_cannot_record_a_debrief(completed, outsider, later):
    with pytest.raises(RuleBroken, match="not the school's DSL"):
        record_debrief(completed, outsider, now=later)
    with pytest.raises(RuleBroken, match="recorded by the DSL"):
        record_debrief(completed, outsider, now=later, led_as="line_manager")


# Who reads (A8) ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "who, reads",
    [
        ("visitor", True),
        ("partner", True),
        ("dsl", True),
        ("deputy", True),
        ("head", True),
        ("slt", True),
        ("office", False),
        ("colleague", False),
        ("school_admin", False),
        ("outsider", False),
    ],
)
def test_a8_who_may_read_the_minutes(request, completed, who, reads):
    assert svc.may_read_minutes(request.getfixturevalue(who), completed) is reads
