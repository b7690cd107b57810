"""Actions (A7): each has an owner and a due date, and is followed up until it is done.

Actions come from submitted minutes (services/minutes.py: minutes_submit) or are agreed by the
DSL when triaging a concern (here). An action is as confidential as where it came from (A8):
its owner always sees what it asks of them, and others see it only if they may read its minutes
or its concern.
"""

import datetime

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

from notifications.services import message_people
from schools.models import Role
from schools.selectors import display_name, roles_at, schools_for, staff_of
from visits.rules import RuleBroken

from ..models import Action, ActionStatus, Concern, ConcernEvent, ConcernEventKind, ConcernStatus
from .concerns import concern_triage, may_read_all, may_triage

# A7: beside the owner, these follow actions up and may mark them done.
FOLLOW_UP_ROLES = frozenset({Role.DSL, Role.DEPUTY_DSL, Role.HEADTEACHER, Role.SLT})
MAX_DESCRIPTION = 2000
MAX_OUTCOME = 5000


def visible_actions(user):
    """Actions `user` may know of (A8): their own, and those whose minutes or concern they may
    read, at schools where they hold a role."""
    from ..access import visible_concerns, visible_minutes

    if not user.is_authenticated:
        return Action.objects.none()
    return Action.objects.filter(
        Q(owner=user, school__in=schools_for(user))
        | Q(minutes__in=visible_minutes(user))
        | Q(concern__in=visible_concerns(user))
    )


def may_follow_up(user, school):
    return bool(roles_at(user, school) & FOLLOW_UP_ROLES)


def may_complete(user, action):
    """A7: the owner, or the DSL, a deputy, the headteacher or SLT; a concern's action only by
    those who may read the concern (A8: SLT do not)."""
    if user.pk == action.owner_id:
        return bool(roles_at(user, action.school_id))
    if action.concern_id is not None:
        return may_read_all(user, action.school_id)
    return may_follow_up(user, action.school_id)


def _concern_audit(concern, *, by, now, message):
    ConcernEvent.objects.create(
        concern=concern, kind=ConcernEventKind.TRIAGED, by=by, at=now, message=message
    )


@transaction.atomic
def action_complete(*, action, by, outcome, now=None):
    """A7: the action is done, with what came of it. A repeat does nothing."""
    now = now or timezone.now()
    action = (
        Action.objects.select_for_update(of=("self",)).select_related("concern").get(pk=action.pk)
    )
    if action.status == ActionStatus.DONE:
        return action
    if not may_complete(by, action):
        raise RuleBroken(
            "An action is marked done by its owner, or by the DSL, a deputy, the headteacher "
            "or SLT (A7)."
        )
    outcome = (outcome or "").strip()
    if not outcome:
        raise RuleBroken("Say what was done: the outcome of the action (A7).")
    if len(outcome) > MAX_OUTCOME:
        raise RuleBroken(f"The outcome is at most {MAX_OUTCOME} characters.")
    action.status, action.outcome = ActionStatus.DONE, outcome
    action.done_by, action.done_at = by, now
    action.save(update_fields=["status", "outcome", "done_by", "done_at"])
    if action.concern is not None:
        _concern_audit(
            action.concern,
            by=by,
            now=now,
            message=f"Action done: {action.description[:200]}. Outcome: {outcome}",
        )
    return action


@transaction.atomic
def action_add_for_concern(*, concern, by, description, owner, due_on, now=None):
    """A7: the DSL (or a deputy) agrees an action on a concern, with an owner and a due date.
    The owner is told there is an action for them, without what it is (A8)."""
    now = now or timezone.now()
    concern = (
        Concern.objects.select_for_update(of=("self",))
        .select_related("school", "pupil")
        .get(pk=concern.pk)
    )
    if not may_triage(by, concern.school):
        raise RuleBroken("Actions on a concern are set by the DSL or a deputy DSL (A5, A7).")
    if concern.status == ConcernStatus.CLOSED:
        raise RuleBroken("This concern is closed.")
    description = (description or "").strip()
    if not description:
        raise RuleBroken("Say what is to be done (A7).")
    if len(description) > MAX_DESCRIPTION:
        raise RuleBroken(f"An action is at most {MAX_DESCRIPTION} characters.")
    if owner is None or not staff_of(concern.school).filter(pk=owner.pk).exists():
        raise RuleBroken("The owner must be a member of staff at the school (A7).")
    if not isinstance(due_on, datetime.date):
        raise RuleBroken("Give the action a due date (A7).")
    if due_on < timezone.localdate(now):
        raise RuleBroken("The due date is in the past.")
    action = Action.objects.create(
        school=concern.school,
        pupil=concern.pupil,
        concern=concern,
        description=description,
        owner=owner,
        due_on=due_on,
        created_by=by,
        created_at=now,
    )
    _concern_audit(
        concern,
        by=by,
        now=now,
        message=f"Action added: {description[:200]}. Owner {display_name(owner)}, "
        f"due {due_on:%d %b %Y}.",
    )
    action_tell_owner(action, by=by, now=now)
    return action


@transaction.atomic
def concern_triage_and_action(*, concern, by, triage=None, action=None, now=None):
    """The DSL's one save on a concern's page (A5, A7): a triage, a new action, or both, all
    or nothing, so what was typed in one card is never dropped by the other's button.
    `triage` holds concern_triage's arguments, `action` action_add_for_concern's."""
    now = now or timezone.now()
    if not triage and not action:
        raise RuleBroken("Nothing to save: fill in the triage or an action.")
    if triage:
        concern = concern_triage(concern=concern, by=by, now=now, **triage)
    added = action_add_for_concern(concern=concern, by=by, now=now, **action) if action else None
    return concern, added


def action_tell_owner(action, *, by, now):
    """A7: the owner hears there is an action for them, without what it is (A8). Someone who
    gave themselves the action needs no message."""
    if action.owner_id == by.pk:
        return
    message_people(
        school=action.school,
        key=f"action{action.pk}:assigned",
        about=action,
        people=[action.owner],
        subject="A new action for you (A7)",
        body=(
            f"{display_name(by)} gave you an action, due {action.due_on:%a %d %b %Y}. See it in "
            f"homevisits: {settings.SITE_URL}{reverse('my-actions')}"
        ),
        now=now,
    )
