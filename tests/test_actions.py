"""Actions (A7): each has an owner and a due date and is followed up; an action is as
confidential as the minutes or concern it came from (A8), except that its owner always sees
what it asks of them."""

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from notifications.models import Notification
from safeguarding import services as concern_services
from safeguarding.models import (
    Action,
    ActionStatus,
    ConcernEvent,
    ConcernEventKind,
    ConcernStatus,
    Minutes,
)
from safeguarding.services.actions import action_add_for_concern, action_complete
from visits.rules import RuleBroken

ACCOUNT = "Bruise on left cheek, seen at the door."
TODAY = timezone.localdate
DAY = datetime.timedelta(days=1)


@pytest.fixture
def minutes(authorised_visit, visitor):
    """The visit's minutes (the action's source), read by the staff on it and the seniors."""
    return Minutes.objects.create(visit=authorised_visit, started_by=visitor, updated_by=visitor)


def make_action(*, owner, by, minutes=None, concern=None, due_on=None, description="Phone Mum"):
    source = minutes.visit if minutes else concern
    return Action.objects.create(
        school=source.school,
        pupil=source.pupil,
        minutes=minutes,
        concern=concern,
        owner=owner,
        due_on=due_on or TODAY() + 7 * DAY,
        created_by=by,
        description=description,
    )


@pytest.fixture
def action(minutes, colleague, visitor):
    """From the minutes, owned by a colleague who was not on the visit (so may not read them)."""
    return make_action(minutes=minutes, owner=colleague, by=visitor, due_on=TODAY() - 3 * DAY)


@pytest.fixture
def concern(pupil, visitor, dsl, deputy, head):
    return concern_services.concern_raise(pupil=pupil, by=visitor, account=ACCOUNT)


# Completing an action (service) ---------------------------------------------------------------


def test_a7_the_owner_marks_their_action_done_with_its_outcome(action, colleague):
    action_complete(action=action, by=colleague, outcome="Spoke to Mum; she will call school.")

    action.refresh_from_db()
    assert action.status == ActionStatus.DONE
    assert action.done_by == colleague and action.done_at is not None
    assert action.outcome == "Spoke to Mum; she will call school."


def test_a7_marking_done_twice_changes_nothing_the_second_time(action, colleague, dsl):
    first = action_complete(action=action, by=colleague, outcome="Done.")
    again = action_complete(action=action, by=dsl, outcome="Something else.")

    assert again.done_by == colleague and again.outcome == "Done."
    assert again.done_at == first.done_at


def test_a7_an_action_is_not_done_without_an_outcome(action, colleague):
    with pytest.raises(RuleBroken, match="outcome"):
        action_complete(action=action, by=colleague, outcome="   ")
    action.refresh_from_db()
    assert action.status == ActionStatus.OPEN


@pytest.mark.parametrize("who", ["dsl", "deputy", "head", "slt"])
def test_a7_the_dsl_deputies_head_and_slt_follow_actions_up(request, action, who):
    action_complete(action=action, by=request.getfixturevalue(who), outcome="Chased and done.")

    assert Action.objects.get(pk=action.pk).status == ActionStatus.DONE


@pytest.mark.parametrize("who", ["visitor", "partner", "office", "school_admin", "outsider"])
def test_a7_anyone_else_may_not_mark_an_action_done(request, action, who):
    with pytest.raises(RuleBroken, match="owner"):
        action_complete(action=action, by=request.getfixturevalue(who), outcome="Done.")
    assert Action.objects.get(pk=action.pk).status == ActionStatus.OPEN


def test_a7_a8_slt_may_not_complete_a_concerns_action_they_may_not_read(concern, dsl, slt, head):
    concern_action = make_action(concern=concern, owner=dsl, by=dsl)

    with pytest.raises(RuleBroken):
        action_complete(action=concern_action, by=slt, outcome="Done.")
    action_complete(action=concern_action, by=head, outcome="Done.")
    assert ConcernEvent.objects.filter(
        concern=concern, kind=ConcernEventKind.TRIAGED, message__startswith="Action done"
    ).exists()


# Actions on a concern (A5, A7) -----------------------------------------------------------------


@pytest.mark.parametrize("who", ["dsl", "deputy"])
def test_a7_the_dsl_or_a_deputy_adds_an_action_to_a_concern_with_owner_and_due_date(
    request, concern, colleague, who
):
    by = request.getfixturevalue(who)
    Notification.objects.all().delete()

    added = action_add_for_concern(
        concern=concern,
        by=by,
        description="Call the social worker about the bruise",
        owner=colleague,
        due_on=TODAY() + DAY,
    )

    assert (added.concern, added.owner, added.school, added.pupil) == (
        concern,
        colleague,
        concern.school,
        concern.pupil,
    )
    event = ConcernEvent.objects.filter(concern=concern, kind=ConcernEventKind.TRIAGED).get()
    assert event.by == by and "Action added" in event.message and "League" in event.message
    # The owner is told there is an action, not what it is (A8).
    rows = Notification.objects.all()
    assert {row.recipient for row in rows} == {colleague}
    assert all("bruise" not in row.body.lower() for row in rows)
    assert all(reverse("my-actions") in row.body for row in rows)


@pytest.mark.parametrize("who", ["head", "slt", "visitor", "office"])
def test_a7_only_the_dsl_and_deputies_add_actions_to_a_concern(request, concern, colleague, who):
    with pytest.raises(RuleBroken, match="DSL or a deputy"):
        action_add_for_concern(
            concern=concern,
            by=request.getfixturevalue(who),
            description="Call",
            owner=colleague,
            due_on=TODAY(),
        )
    assert not Action.objects.exists()


@pytest.mark.parametrize(
    "change, message",
    [
        ({"owner": "outsider"}, "member of staff at the school"),
        ({"owner": "school_admin"}, "member of staff at the school"),
        ({"due_on": -1}, "in the past"),
        ({"description": "  "}, "what is to be done"),
    ],
)
def test_a7_an_action_needs_a_staff_owner_a_due_date_not_past_and_a_description(
    request, concern, dsl, colleague, change, message
):
    values = {"description": "Call the social worker", "owner": colleague, "due_on": TODAY()}
    if "owner" in change:
        values["owner"] = request.getfixturevalue(change["owner"])
    if "due_on" in change:
        values["due_on"] = TODAY() + change["due_on"] * DAY
    if "description" in change:
        values["description"] = change["description"]

    with pytest.raises(RuleBroken, match=message):
        action_add_for_concern(concern=concern, by=dsl, **values)
    assert not Action.objects.exists()


def test_a7_a_closed_concern_takes_no_new_actions(concern, dsl, colleague):
    concern_services.concern_triage(concern=concern, by=dsl, category="neglect", referral="none")
    concern_services.concern_close(concern=concern, by=dsl, outcome="No further action.")

    with pytest.raises(RuleBroken, match="closed"):
        action_add_for_concern(
            concern=concern, by=dsl, description="Call", owner=colleague, due_on=TODAY()
        )


def test_a7_the_dsl_adds_an_action_on_the_concern_page_and_sees_it_with_its_status(
    client, concern, dsl, colleague
):
    client.force_login(dsl)

    response = client.post(
        reverse("concern-action-add", args=[concern.pk]),
        {
            "description": "Call the social worker",
            "owner": colleague.pk,
            "due_on": (TODAY() + DAY).isoformat(),
        },
    )

    assert response.status_code == 302
    page = client.get(reverse("concern-detail", args=[concern.pk])).content.decode()
    assert "Call the social worker" in page and "Col League" in page and "Open" in page
    assert 'name="owner"' in page  # the DSL can add more


def test_a7_a_refused_action_keeps_what_the_dsl_typed(client, concern, dsl, colleague):
    client.force_login(dsl)

    response = client.post(
        reverse("concern-action-add", args=[concern.pk]),
        {
            "description": "Call the social worker",
            "owner": colleague.pk,
            "due_on": (TODAY() - DAY).isoformat(),
        },
    )

    assert response.status_code == 400
    page = response.content.decode()
    assert "in the past" in page and "Call the social worker" in page
    assert not Action.objects.exists()


@pytest.mark.parametrize("who", ["visitor", "head"])
def test_a7_a8_those_who_read_the_concern_see_its_actions_but_do_not_add_them(
    client, request, concern, dsl, colleague, who
):
    make_action(concern=concern, owner=colleague, by=dsl, description="Call the social worker")
    client.force_login(request.getfixturevalue(who))

    page = client.get(reverse("concern-detail", args=[concern.pk])).content.decode()
    response = client.post(
        reverse("concern-action-add", args=[concern.pk]),
        {"description": "Mine", "owner": colleague.pk, "due_on": TODAY().isoformat()},
    )

    assert "Call the social worker" in page and 'name="owner"' not in page
    assert response.status_code == 400 and "DSL or a deputy" in response.content.decode()
    assert Action.objects.count() == 1


@pytest.mark.parametrize("who", ["office", "slt", "colleague", "outsider"])
def test_a8_others_get_404_adding_an_action_to_a_concern(client, request, concern, who):
    client.force_login(request.getfixturevalue(who))

    response = client.post(
        reverse("concern-action-add", args=[concern.pk]),
        {"description": "x", "owner": 1, "due_on": TODAY().isoformat()},
    )

    assert response.status_code == 404
    assert not Action.objects.exists()


def test_a7_the_owner_marks_a_concerns_action_done_from_the_concern_page(
    client, concern, dsl, deputy
):
    concern_action = make_action(concern=concern, owner=deputy, by=dsl)
    client.force_login(deputy)
    url = reverse("concern-detail", args=[concern.pk])

    response = client.post(
        reverse("action-done", args=[concern_action.pk]), {"outcome": "Called.", "next": url}
    )

    assert response.status_code == 302 and response.url == url
    assert Action.objects.get(pk=concern_action.pk).status == ActionStatus.DONE
    assert "Called." in client.get(url).content.decode()


# The URLs: my actions, and marking one done ----------------------------------------------------


def test_a7_the_owner_marks_their_action_done_on_my_actions(client, action, colleague):
    client.force_login(colleague)

    response = client.post(reverse("action-done", args=[action.pk]), {"outcome": "Called Mum."})

    assert response.status_code == 302 and response.url == reverse("my-actions")
    assert Action.objects.get(pk=action.pk).outcome == "Called Mum."


def test_a7_an_empty_outcome_is_refused_on_the_page(client, action, colleague):
    client.force_login(colleague)

    response = client.post(reverse("action-done", args=[action.pk]), {"outcome": ""})

    assert response.status_code == 400
    assert Action.objects.get(pk=action.pk).status == ActionStatus.OPEN


def test_a7_someone_who_may_read_the_minutes_but_does_not_own_the_action_is_refused(
    client, action, visitor
):
    client.force_login(visitor)

    response = client.post(reverse("action-done", args=[action.pk]), {"outcome": "Done."})

    assert response.status_code == 400
    assert "owner" in response.content.decode()
    assert Action.objects.get(pk=action.pk).status == ActionStatus.OPEN


@pytest.mark.parametrize("who", ["office", "partner_elsewhere", "outsider", "school_admin"])
def test_a8_who_may_not_know_the_action_gets_404(client, request, action, who, other_school):
    if who == "partner_elsewhere":
        # Visiting staff of the school, not on the visit and not the owner.
        from schools.models import Role

        from .factories import member

        user = member(action.school, Role.VISITING_STAFF, username="elsewhere")
    else:
        user = request.getfixturevalue(who)
    client.force_login(user)

    response = client.post(reverse("action-done", args=[action.pk]), {"outcome": "Done."})

    assert response.status_code == 404
    assert Action.objects.get(pk=action.pk).status == ActionStatus.OPEN


def test_a7_my_actions_lists_my_open_actions_overdue_first(client, minutes, colleague, visitor):
    later = make_action(minutes=minutes, owner=colleague, by=visitor, description="Later")
    overdue = make_action(
        minutes=minutes, owner=colleague, by=visitor, due_on=TODAY() - DAY, description="Late"
    )
    done = make_action(minutes=minutes, owner=colleague, by=visitor, description="Finished")
    Action.objects.filter(pk=done.pk).update(status=ActionStatus.DONE)
    client.force_login(colleague)

    response = client.get(reverse("my-actions"))

    assert response.status_code == 200
    assert [row["action"] for row in response.context["mine"]] == [overdue, later]
    assert [row["overdue"] for row in response.context["mine"]] == [True, False]
    # Visiting staff follow up only their own actions: no school-wide list.
    assert list(response.context["school_overdue"]) == []
    assert not response.context["follows_up"]


def test_a7_a8_the_owner_sees_their_actions_words_but_no_link_to_a_source_they_may_not_read(
    client, concern, dsl, colleague
):
    make_action(concern=concern, owner=colleague, by=dsl, description="Call the social worker")
    client.force_login(colleague)

    response = client.get(reverse("my-actions"))

    [row] = response.context["mine"]
    page = response.content.decode()
    assert "Call the social worker" in page and "Safeguarding concern" in page
    assert row["source_url"] is None
    assert reverse("concern-detail", args=[concern.pk]) not in page
    assert ACCOUNT not in page


def test_a7_the_dsl_sees_the_schools_overdue_actions_with_a_link_to_their_source(
    client, action, dsl, colleague, minutes
):
    make_action(minutes=minutes, owner=colleague, by=dsl, description="Not yet due")
    client.force_login(dsl)

    response = client.get(reverse("my-actions"))

    assert response.context["follows_up"]
    [row] = response.context["school_overdue"]
    assert row["action"] == action and row["overdue"]
    assert row["source_url"] is not None and row["form"] is not None


def test_a7_a8_slt_are_not_shown_overdue_actions_of_concerns(client, concern, dsl, deputy, slt):
    make_action(concern=concern, owner=deputy, by=dsl, due_on=TODAY() - DAY, description="X")
    client.force_login(slt)

    response = client.get(reverse("my-actions"))

    assert response.context["follows_up"] and response.context["school_overdue"] == []


@pytest.mark.parametrize("who", ["visitor", "office", "outsider"])
def test_a8_others_see_no_school_wide_list_and_not_others_actions(client, request, action, who):
    client.force_login(request.getfixturevalue(who))

    response = client.get(reverse("my-actions"))

    assert response.status_code == 200
    assert response.context["mine"] == [] and response.context["school_overdue"] == []
    assert "Phone Mum" not in response.content.decode()


def test_my_actions_needs_a_sign_in(client):
    response = client.get(reverse("my-actions"))
    assert response.status_code == 302 and "login" in response.url


def test_a7_my_actions_costs_the_same_queries_with_more_actions(
    client, minutes, colleague, visitor, dsl, django_assert_max_num_queries
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def queries():
        with CaptureQueriesContext(connection) as captured:
            assert client.get(reverse("my-actions")).status_code == 200
        return len(captured)

    for _ in range(2):
        make_action(minutes=minutes, owner=dsl, by=visitor, due_on=TODAY() - DAY)
        make_action(minutes=minutes, owner=colleague, by=visitor, due_on=TODAY() - DAY)
    client.force_login(dsl)
    few = queries()
    for _ in range(10):
        make_action(minutes=minutes, owner=dsl, by=visitor, due_on=TODAY() - DAY)
        make_action(minutes=minutes, owner=colleague, by=visitor, due_on=TODAY() - DAY)

    assert queries() <= few


def test_a7_an_open_concern_status_is_unchanged_by_its_actions(concern, dsl, colleague):
    action_add_for_concern(
        concern=concern, by=dsl, description="Call", owner=colleague, due_on=TODAY()
    )
    concern.refresh_from_db()
    assert concern.status == ConcernStatus.RAISED
