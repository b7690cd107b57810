"""Issue 12, items 2, 3 and 8: nothing typed on a page is lost without a word, choices with
consequences start empty, action outcomes are shown wherever the action is (A7, A8), the
debrief says who was debriefed (A6), and a concern's page shows what else is known of the
pupil (A5, A8)."""

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from safeguarding import services
from safeguarding.models import Action, Concern, ConcernStatus, Debrief
from safeguarding.services.actions import action_add_for_concern, action_complete
from safeguarding.services.minutes import debrief_record
from visits.rules import RuleBroken

from .factories import write_minutes
from .test_minutes_views import _done_visit

ACCOUNT = "Bruise on left cheek; Poppy said 'Dad was cross' when asked."
OTHER_ACCOUNT = "Came in hungry three days running; no coat."


@pytest.fixture
def concern(pupil, visitor, dsl, deputy, head):
    return services.concern_raise(pupil=pupil, by=visitor, account=ACCOUNT)


@pytest.fixture
def done_visit(pupil, office, head, visitor, partner):
    return _done_visit(pupil=pupil, office=office, head=head, staff=[visitor, partner])


def _due(days=7):
    return (timezone.localdate() + datetime.timedelta(days=days)).isoformat()


def _page(client, user, url):
    client.force_login(user)
    return client.get(url)


# --- Item 2: an action typed above the triage is not thrown away --------------------------


def test_a7_record_triage_also_saves_the_action_typed_above_it(client, concern, dsl, visitor):
    client.force_login(dsl)

    response = client.post(
        reverse("concern-triage", args=[concern.pk]),
        {
            "description": "Ask the school nurse to see Poppy on Monday",
            "owner": visitor.pk,
            "due_on": _due(),
            "category": "physical",
            "referral": "none",
            "note": "Spoke to mother by phone.",
        },
    )

    assert response.status_code == 302
    concern.refresh_from_db()
    assert concern.status == ConcernStatus.IN_HAND and concern.category == "physical"
    action = Action.objects.get(concern=concern)
    assert action.description == "Ask the school nurse to see Poppy on Monday"
    assert action.owner == visitor
    page = client.get(reverse("concern-detail", args=[concern.pk]))
    assert "Ask the school nurse to see Poppy on Monday" in page.text


def test_a7_a_half_typed_action_stops_the_triage_and_both_come_back_as_typed(client, concern, dsl):
    client.force_login(dsl)

    response = client.post(
        reverse("concern-triage", args=[concern.pk]),
        {
            "description": "Phone the GP about the bruise",
            "owner": "",
            "due_on": "",
            "category": "physical",
            "referral": "none",
            "note": "Mother says he fell off his bike.",
        },
    )

    assert response.status_code == 400
    text = response.text
    assert "Phone the GP about the bruise" in text
    assert "Mother says he fell off his bike." in text
    assert 'value="physical" selected' in text
    # Sent back unsaved: the page's script counts it as typed, so leaving it is warned of.
    assert "data-kept" in text
    concern.refresh_from_db()
    assert concern.status == ConcernStatus.RAISED
    assert not Action.objects.exists()


def test_a5_add_the_action_also_records_a_triage_typed_with_it(client, concern, dsl, visitor):
    client.force_login(dsl)

    response = client.post(
        reverse("concern-action-add", args=[concern.pk]),
        {
            "description": "Check attendance daily for two weeks",
            "owner": visitor.pk,
            "due_on": _due(),
            "category": "neglect",
            "referral": "early_help",
            "referral_reference": "EH-2231",
        },
    )

    assert response.status_code == 302
    concern.refresh_from_db()
    assert (concern.category, concern.referral_reference) == ("neglect", "EH-2231")
    assert Action.objects.filter(concern=concern).count() == 1


def test_a7_adding_an_action_leaves_an_earlier_triage_as_it_was(client, concern, dsl, visitor):
    services.concern_triage(concern=concern, by=dsl, category="neglect", referral="none")
    concern.refresh_from_db()
    triaged_at = concern.triaged_at
    client.force_login(dsl)

    # The page's form carries the triage as it stands: unchanged, it is not recorded again.
    response = client.post(
        reverse("concern-action-add", args=[concern.pk]),
        {
            "description": "Home visit with the family worker",
            "owner": visitor.pk,
            "due_on": _due(),
            "category": "neglect",
            "referral": "none",
            "referral_reference": "",
            "note": "",
        },
    )

    assert response.status_code == 302
    concern.refresh_from_db()
    assert concern.triaged_at == triaged_at
    assert Action.objects.filter(concern=concern).count() == 1


def test_a7_the_action_fields_belong_to_the_form_the_triage_button_sends(client, concern, dsl):
    page = _page(client, dsl, reverse("concern-detail", args=[concern.pk]))

    text = page.text
    assert 'id="concern-dsl"' in text
    assert text.count('form="concern-dsl"') >= 4  # description, owner, due date, its button
    assert "js/unsaved.js" in text


def test_pages_with_several_forms_warn_before_typed_words_are_left_behind(
    client, dsl, visitor, done_visit
):
    write_minutes(done_visit, visitor)
    assert (
        "js/unsaved.js" in _page(client, dsl, reverse("minutes-detail", args=[done_visit.pk])).text
    )
    assert "js/unsaved.js" in _page(client, visitor, reverse("my-actions")).text


# --- Item 2: choices with consequences start empty ------------------------------------------


def test_a5_the_triage_category_and_referral_start_empty(client, concern, dsl):
    page = _page(client, dsl, reverse("concern-detail", args=[concern.pk]))

    form = page.context["triage_form"]
    assert not form["category"].value() and not form["referral"].value()
    assert '<option value="" selected>Choose…</option>' in page.text
    assert 'value="neglect" selected' not in page.text


def test_a5_a_triage_without_a_category_is_refused_and_keeps_the_note(client, concern, dsl):
    client.force_login(dsl)

    response = client.post(
        reverse("concern-triage", args=[concern.pk]),
        {"category": "", "referral": "", "note": "Discussed with the head."},
    )

    assert response.status_code == 400
    assert "Choose the category of the concern (A5)." in response.text
    assert "Say whether a referral was made" in response.text
    assert "Discussed with the head." in response.text
    concern.refresh_from_db()
    assert concern.status == ConcernStatus.RAISED and concern.category == ""


def test_a6_the_debrief_role_is_not_assumed_for_someone_holding_several(
    client, head, slt, done_visit
):
    from schools.models import Membership, Role

    Membership.objects.create(user=head, school=done_visit.school, role=Role.SLT)
    page = _page(client, head, reverse("debrief-record", args=[done_visit.pk]))

    assert page.context["form"].initial["led_as"] == ""


# --- Item 3: action outcomes shown where the action is (A7, A8) -----------------------------

OUTCOME = "Bus pass applied for; it arrives on Monday."


@pytest.fixture
def done_action(done_visit, visitor):
    minutes = write_minutes(done_visit, visitor)
    action = Action.objects.get(minutes=minutes)
    return action_complete(action=action, by=visitor, outcome=OUTCOME)


def test_a7_the_outcome_is_on_the_minutes_page(client, dsl, done_action):
    page = _page(client, dsl, reverse("minutes-detail", args=[done_action.minutes.visit_id]))
    assert OUTCOME in page.text


def test_a7_the_outcome_is_in_the_pupils_file(client, dsl, done_action):
    page = _page(client, dsl, reverse("pupil-file", args=[done_action.pupil_id]))
    assert OUTCOME in page.text


def test_a7_my_actions_lists_recently_done_actions_with_their_outcomes(
    client, visitor, done_action
):
    page = _page(client, visitor, reverse("my-actions"))
    assert "Done lately" in page.text
    assert [row["action"] for row in page.context["recently_done"]] == [done_action]
    assert OUTCOME in page.text


def test_a8_my_actions_does_not_show_others_done_actions(client, partner, done_action):
    page = _page(client, partner, reverse("my-actions"))
    assert page.context["recently_done"] == []
    assert OUTCOME not in page.text


def test_a7_a_concerns_action_outcome_is_on_the_concern_page(client, concern, dsl, visitor):
    action = action_add_for_concern(
        concern=concern,
        by=dsl,
        description="Ask the nurse to see Poppy",
        owner=visitor,
        due_on=timezone.localdate(),
    )
    action_complete(action=action, by=visitor, outcome="Nurse saw her; no new marks.")

    assert "Nurse saw her; no new marks." in _page(client, dsl, concern.get_absolute_url()).text


def test_a8_a_concerns_action_outcome_stays_out_of_the_file_for_slt(
    client, concern, dsl, slt, visitor
):
    action = action_add_for_concern(
        concern=concern,
        by=dsl,
        description="Ask the nurse to see Poppy",
        owner=visitor,
        due_on=timezone.localdate(),
    )
    action_complete(action=action, by=visitor, outcome="Nurse saw her; no new marks.")

    assert (
        "Nurse saw her" in _page(client, dsl, reverse("pupil-file", args=[concern.pupil_id])).text
    )
    page = _page(client, slt, reverse("pupil-file", args=[concern.pupil_id]))
    assert page.status_code == 200
    assert "Nurse saw her" not in page.text


# --- Item 8: who was debriefed (A6) ---------------------------------------------------------


def _debrief_post(visit, **overrides):
    data = {
        "led_as": "dsl",
        "held_at": timezone.localtime(timezone.now()).strftime("%Y-%m-%dT%H:%M"),
        "agreed": "Visit again in two weeks.",
    }
    data.update(overrides)
    return data


def test_a6_the_debrief_form_asks_who_of_the_visits_staff_was_debriefed(
    client, dsl, office, visitor, partner, done_visit
):
    page = _page(client, dsl, reverse("debrief-record", args=[done_visit.pk]))

    choices = set(page.context["form"].fields["debriefed"].queryset)
    assert choices == {visitor, partner}
    assert page.text.count('type="checkbox" class="form-check-input"  name="debriefed"') == 2
    assert "Vic Visitor" in page.text and "Pat Partner" in page.text


def test_a6_a_debrief_with_nobody_ticked_is_refused_and_keeps_what_was_agreed(
    client, dsl, done_visit
):
    client.force_login(dsl)
    response = client.post(
        reverse("debrief-record", args=[done_visit.pk]), _debrief_post(done_visit)
    )

    assert response.status_code == 400
    assert "Tick who was debriefed" in response.text
    assert "Visit again in two weeks." in response.text
    assert not Debrief.objects.exists()


def test_a6_who_was_debriefed_is_on_the_visits_record(client, dsl, visitor, partner, done_visit):
    client.force_login(dsl)
    response = client.post(
        reverse("debrief-record", args=[done_visit.pk]),
        _debrief_post(done_visit, debriefed=[visitor.pk]),
    )

    assert response.status_code == 302
    assert list(Debrief.objects.get().debriefed.all()) == [visitor]
    record = client.get(reverse("minutes-detail", args=[done_visit.pk])).text
    assert "Staff debriefed: Vic Visitor" in record
    assert "Pat Partner" not in record.split("Staff debriefed:")[1].split("</p>")[0]


def test_a6_someone_not_on_the_visit_cannot_be_recorded_as_debriefed(dsl, office, done_visit):
    with pytest.raises(RuleBroken, match="Only the staff on the visit"):
        debrief_record(
            visit=done_visit,
            by=dsl,
            led_as="dsl",
            held_at=timezone.now(),
            agreed="Agreed.",
            debriefed=[office],
        )
    with pytest.raises(RuleBroken, match="at least one"):
        debrief_record(
            visit=done_visit,
            by=dsl,
            led_as="dsl",
            held_at=timezone.now(),
            agreed="Ok.",
            debriefed=[],
        )
    assert not Debrief.objects.exists()


# --- Item 8: the concern page's side panel (A5, A8) -----------------------------------------


@pytest.fixture
def pupil_with_history(pupil, concern, partner):
    pupil.social_worker_name = "Marcus Reed, Children's Social Care"
    pupil.social_worker_contact = "0114 496 0777"
    pupil.known_risks = "Large dog at home."
    pupil.save()
    services.concern_raise(pupil=pupil, by=partner, account=OTHER_ACCOUNT)
    return pupil


def test_a5_the_dsl_sees_the_pupils_other_concerns_risks_and_social_worker(
    client, concern, dsl, pupil_with_history
):
    page = _page(client, dsl, concern.get_absolute_url())

    other = Concern.objects.exclude(pk=concern.pk).get()
    assert page.context["other_concerns"] == [other]
    assert other.get_absolute_url() in page.text
    assert "Marcus Reed" in page.text and "0114 496 0777" in page.text
    assert "Large dog at home." in page.text
    assert OTHER_ACCOUNT not in page.text  # the other account stays behind its own page


def test_a8_the_raiser_sees_only_concerns_they_may_read_and_no_pupil_facts(
    client, concern, visitor, pupil_with_history
):
    page = _page(client, visitor, concern.get_absolute_url())

    assert page.status_code == 200
    assert page.context["other_concerns"] == []
    other = Concern.objects.exclude(pk=concern.pk).get()
    assert other.get_absolute_url() not in page.text
    assert "Marcus Reed" not in page.text
    assert "Large dog at home." not in page.text
