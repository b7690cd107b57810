"""What the retention schedule (safeguarding/services/retention.py) asks of a visit.

Logistics (P7, P12-P14, E2: check-in positions, the code word, the vehicle, the staff mobiles
carried, the reporting-in arrangements and resources) keep staff safe during the visit and are
removed a set time after it ends; the fact of the visit, its dates, who went and its outcome
stay. At the end of the child-protection period the visit's narrative about the family goes
too (the address, what it was for, the risk assessment, the timeline's words).

Which visits is decided by their content, not by a flag: a visit already scrubbed holds nothing
to remove, so a second run finds nothing and changes nothing. These tables are append-only on
PostgreSQL (audit/triggers.py); the scrub is the one deliberate exception, inside
`append_only_ignored`.
"""

import contextlib

import pgtrigger
from django.db import transaction
from django.db.models import Exists, OuterRef, Q
from django.db.models.functions import Coalesce

from ..models import Authorisation, RiskAssessment, Status, Visit, VisitEvent, VisitStaff

# What the logistics are, and what each becomes.
LOGISTICS_BLANKS = {
    "last_position": None,
    "code_word": "",
    "vehicle_description": "",
    "vehicle_registration": "",
    "reporting_arrangements": "",
    "resources_note": "",
}
# The visit's words about the child and family, removed with the child-protection file.
NARRATIVE_BLANKS = {
    "purpose_detail": "",
    "why_not_in_school": "",
    "address": "",
    "unannounced_reason": "",
    "cancel_reason": "",
    "parent_told_how": "",
    "la_contact": "",
    "joint_professional": "",
}
# What stays of an authorisation's record of what it covered (P2) once the narrative goes.
SNAPSHOT_KEPT = ("staff", "planned_start", "expected_end", "visit_type")
# A visit has ended when it reaches one of these; the logistics' clock starts then.
ENDED_STATES = (Status.COMPLETED, Status.CLOSED, Status.CANCELLED, Status.REFUSED)
BATCH = 500


@contextlib.contextmanager
def append_only_ignored(*models):
    """Switch off the append-only triggers of `models` for this block (PostgreSQL), and with
    them the Python guards that follow them (audit/triggers.py). Only the triggers that are
    registered are named: pgtrigger refuses an unknown one, and where none exists (SQLite, a
    table without one) there is nothing to switch off."""
    wanted = {model._meta.label for model in models}
    uris = [
        f"{model._meta.label}:{trigger.name}"
        for model, trigger in pgtrigger.registered()
        if model._meta.label in wanted
    ]
    if not uris:
        yield
        return
    with pgtrigger.ignore(*uris):
        yield


def ended_before(visits, cutoff):
    """The visits of `visits` that ended (completed, closed, cancelled, refused) before
    `cutoff`; one with no recorded end is never counted as ended."""
    return (
        visits.filter(status__in=ENDED_STATES)
        .annotate(ended_at=Coalesce("closed_at", "cancelled_at", "refused_at", "completed_at"))
        .filter(ended_at__lt=cutoff)
    )


def _has_positions():
    return Exists(VisitEvent.objects.filter(visit=OuterRef("pk"), data__has_key="position"))


def holding_logistics(visits):
    """The visits of `visits` that still hold any logistics."""
    held = Q(last_position__isnull=False)
    for name, blank in LOGISTICS_BLANKS.items():
        if blank == "":
            held |= ~Q(**{name: ""})
    mobiles = Exists(VisitStaff.objects.filter(visit=OuterRef("pk")).exclude(mobile=""))
    return visits.filter(held | mobiles | _has_positions())


def holding_narrative(visits):
    """The visits of `visits` that still hold words about the child and family, or any
    logistics."""
    held = Q()
    for name in NARRATIVE_BLANKS:
        held |= ~Q(**{name: ""})
    risk = Exists(RiskAssessment.objects.filter(visit=OuterRef("pk")))
    words = Exists(VisitEvent.objects.filter(visit=OuterRef("pk")).exclude(message="", data={}))
    snapshot = Exists(
        Authorisation.objects.filter(visit=OuterRef("pk")).filter(
            Q(snapshot__has_key="address") | Q(snapshot__has_key="risk_answers")
        )
    )
    return visits.filter(held | risk | words | snapshot) | holding_logistics(visits)


def _strip_positions(visit_ids):
    changed = []
    events = VisitEvent.objects.filter(visit_id__in=visit_ids, data__has_key="position")
    for event in events.only("pk", "data").iterator(chunk_size=BATCH):
        event.data = {key: value for key, value in event.data.items() if key != "position"}
        changed.append(event)
    VisitEvent.objects.bulk_update(changed, ["data"], batch_size=BATCH)
    return len(changed)


@transaction.atomic
def visit_logistics_scrub(*, visit_ids):
    """Remove the logistics of these visits; the rest of each visit stays. Returns counts."""
    visit_ids = list(visit_ids)
    with append_only_ignored(VisitEvent):
        positions = _strip_positions(visit_ids)
    mobiles = VisitStaff.objects.filter(visit_id__in=visit_ids).exclude(mobile="").update(mobile="")
    visits = Visit.objects.filter(pk__in=visit_ids).update(**LOGISTICS_BLANKS)
    return {"visits": visits, "staff_mobiles": mobiles, "positions": positions}


@transaction.atomic
def visit_narrative_scrub(*, visit_ids):
    """Remove the words about the child and family from these visits, and their logistics:
    the fact of each visit, its dates, status, staff and timeline's steps stay."""
    visit_ids = list(visit_ids)
    counts = visit_logistics_scrub(visit_ids=visit_ids)
    counts["risk_assessments"] = RiskAssessment.objects.filter(visit_id__in=visit_ids).delete()[0]
    with append_only_ignored(VisitEvent):
        counts["timeline_entries"] = (
            VisitEvent.objects.filter(visit_id__in=visit_ids)
            .exclude(message="", data={})
            .update(message="", data={})
        )
    snapshots = []
    for authorisation in Authorisation.objects.filter(visit_id__in=visit_ids).only("snapshot"):
        kept = {key: (authorisation.snapshot or {}).get(key) for key in SNAPSHOT_KEPT}
        if kept != authorisation.snapshot:
            authorisation.snapshot = kept
            snapshots.append(authorisation)
    Authorisation.objects.bulk_update(snapshots, ["snapshot"], batch_size=BATCH)
    Visit.objects.filter(pk__in=visit_ids).update(**NARRATIVE_BLANKS)
    return counts
