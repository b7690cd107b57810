"""Every change to a safeguarding concern goes through these functions (A5, A8).

Each checks who acts, records who and when, and writes one ConcernEvent (the audit trail the
DSL and headteacher read). Messages that tell the DSL of a concern never carry its content:
email and SMS leave the school's systems, the concern does not (A8).
"""

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, OuterRef
from django.urls import reverse
from django.utils import timezone

from notifications.services import message_people, people_with
from schools.models import PLANNING_ROLES, Role
from schools.selectors import display_name, roles_at, schools_for
from visits.rules import RuleBroken

from ..models import Concern, ConcernEvent, ConcernEventKind, ConcernStatus, Referral

# A5: the concern goes to these at once; they and the headteacher may read it (A8).
DSL_ROLES = frozenset({Role.DSL, Role.DEPUTY_DSL})
READING_ROLES = DSL_ROLES | {Role.HEADTEACHER}


def may_triage(user, school):
    """A5: the DSL and deputies triage and close concerns."""
    return bool(roles_at(user, school) & DSL_ROLES)


def may_read_all(user, school):
    """A8: the DSL, deputies and headteacher read every concern of the school and its audit
    trail; anyone else only the concerns they raised."""
    return bool(roles_at(user, school) & READING_ROLES)


def _audit(concern, *, kind, by, now, message=""):
    return ConcernEvent.objects.create(concern=concern, kind=kind, by=by, at=now, message=message)


def _locked(concern):
    return (
        Concern.objects.select_for_update(of=("self",)).select_related("school").get(pk=concern.pk)
    )


@transaction.atomic
def concern_raise(*, pupil, by, account, visit=None, now=None):
    """A5: any member of staff raises a concern about a pupil; the DSL and deputies are told
    at once, in the app and by the notifier, without the concern's content."""
    now = now or timezone.now()
    school = pupil.school
    if not roles_at(by, school) & PLANNING_ROLES:
        raise RuleBroken(f"You hold no staff role at {school}.")
    if visit is not None and visit.pupil_id != pupil.pk:
        raise RuleBroken("That visit was to another pupil.")
    account = (account or "").strip()
    if not account:
        raise RuleBroken("Write down what you saw or heard (A5).")
    concern = Concern.objects.create(
        school=school, pupil=pupil, visit=visit, account=account, raised_by=by, raised_at=now
    )
    _audit(concern, kind=ConcernEventKind.RAISED, by=by, now=now)
    link = settings.SITE_URL + reverse("concern-detail", args=[concern.pk])
    message_people(
        school=school,
        key=f"concern{concern.pk}:raised",
        about=concern,
        people=people_with(school, DSL_ROLES),
        subject="New safeguarding concern (A5)",
        body=(
            f"{display_name(by)} raised a safeguarding concern at {timezone.localtime(now):%H:%M}. "
            f"Read it in homevisits: {link}"
        ),
        now=now,
    )
    return concern


def _require_dsl(concern, by):
    if not may_triage(by, concern.school):
        raise RuleBroken("Concerns are triaged and closed by the DSL or a deputy DSL (A5).")


@transaction.atomic
def concern_triage(*, concern, by, category, referral, referral_reference="", note="", now=None):
    """The DSL (or a deputy) says what it is and what was done: referral and its reference."""
    now = now or timezone.now()
    concern = _locked(concern)
    _require_dsl(concern, by)
    if concern.status == ConcernStatus.CLOSED:
        raise RuleBroken("This concern is closed.")
    if referral != Referral.NONE and not (referral_reference or "").strip():
        raise RuleBroken("Record the reference number the referral was given.")
    concern.category = category
    concern.referral = referral
    concern.referral_reference = (referral_reference or "").strip()
    concern.status = ConcernStatus.IN_HAND
    concern.triaged_by, concern.triaged_at = by, now
    concern.save(
        update_fields=[
            "category",
            "referral",
            "referral_reference",
            "status",
            "triaged_by",
            "triaged_at",
        ]
    )
    summary = f"{concern.get_category_display()}; {concern.get_referral_display()}"
    if concern.referral_reference:
        summary += f" ({concern.referral_reference})"
    _audit(
        concern,
        kind=ConcernEventKind.TRIAGED,
        by=by,
        now=now,
        message=f"{summary}. {note.strip()}".strip(),
    )
    return concern


@transaction.atomic
def concern_close(*, concern, by, outcome, now=None):
    now = now or timezone.now()
    concern = _locked(concern)
    _require_dsl(concern, by)
    if concern.status == ConcernStatus.CLOSED:
        return concern
    if concern.status != ConcernStatus.IN_HAND:
        raise RuleBroken("Triage the concern before closing it.")
    outcome = (outcome or "").strip()
    if not outcome:
        raise RuleBroken("Record the outcome before closing the concern.")
    concern.outcome, concern.status = outcome, ConcernStatus.CLOSED
    concern.closed_by, concern.closed_at = by, now
    concern.save(update_fields=["outcome", "status", "closed_by", "closed_at"])
    _audit(concern, kind=ConcernEventKind.CLOSED, by=by, now=now, message=outcome)
    return concern


def concern_viewed(*, concern, by, now=None):
    """A8: reading a concern is on its audit trail too."""
    _audit(concern, kind=ConcernEventKind.VIEWED, by=by, now=now or timezone.now())


def concerns_unread(user):
    """A5: concerns awaiting the DSL at the user's schools (as DSL or deputy) that they have
    not opened yet; a concern they raised themselves is not news to them."""
    opened = ConcernEvent.objects.filter(
        concern=OuterRef("pk"), by=user, kind=ConcernEventKind.VIEWED
    )
    return (
        Concern.objects.filter(
            school__in=schools_for(user, roles=DSL_ROLES), status=ConcernStatus.RAISED
        )
        .exclude(raised_by=user)
        .filter(~Exists(opened))
    )
