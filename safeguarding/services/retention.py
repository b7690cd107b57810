"""The retention schedule: what is removed, when, and the record of what went.

Four kinds, each with its period in the school's RetentionSchedule (IRMS toolkit defaults):

- "pupils": a pupil's child-protection file once they reach the set birthday (25): minutes with
  their signatures, addenda, copies sent and read-log, concerns with theirs, actions, debriefs,
  file transfers, and the narrative of their visits (visits/services/retention.py).
- "visits": a visit's logistics a set time (30 days) after it ended, unless an alert about it is
  still open; the fact of the visit, its dates and outcome stay.
- "messages": the words of sent messages (90 days); who was told, how, when and the delivery
  status stay.
- "audit": the audit trail's events after a set number of years (6).

`retention_plan(school, now)` says exactly what would go; `retention_apply(...)` removes exactly
that and nothing else, and records a RetentionRun and an audit RETENTION event. What is due is
read from the records themselves (a file already removed holds nothing), so a second run finds
nothing more.

Report first (`retention_cycle`, run nightly): nothing is removed the first time it falls due.
The run sends the DSL a report (a dry-run RetentionRun) of what has newly fallen due, at most one
report per notice period; a later run removes only what a report listed at least `notice_days`
before, and that is still due under the schedule as it stands then (a DSL who lengthens a period
in the meantime saves those records).
"""

import dataclasses
import datetime
import logging

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, OuterRef, Q
from django.urls import reverse
from django.utils import timezone

from audit import services as audit
from audit.models import Action as AuditAction
from audit.models import AuditEvent
from escalation.models import Escalation
from notifications.models import Channel, Delivery, Notification
from notifications.services import people_with, queue, rows_for
from schools.models import Pupil, Role
from schools.selectors import display_name
from visits.models import Visit
from visits.services import retention as visit_retention
from visits.services.retention import append_only_ignored

from ..models import (
    Action,
    Addendum,
    Concern,
    ConcernEvent,
    CopySent,
    Debrief,
    FileTransfer,
    Minutes,
    MinutesEvent,
    RetentionRun,
    RetentionSchedule,
    Signature,
)

log = logging.getLogger(__name__)

PUPILS, VISITS, MESSAGES, AUDIT = "pupils", "visits", "messages", "audit"
KINDS = (PUPILS, VISITS, MESSAGES, AUDIT)
KIND_LABELS = {
    PUPILS: "Pupils' child-protection files (past the set birthday)",
    VISITS: "Visit logistics (positions, code word, vehicle, staff mobiles)",
    MESSAGES: "Words of messages sent (alerts, reminders, emails)",
    AUDIT: "Audit trail events",
}
# A run is bounded: at most this many of each kind; the rest go the next night.
LIMITS = {PUPILS: 100, VISITS: 1000, MESSAGES: 5000, AUDIT: 5000}
REMOVED_SUBJECT = "(removed under the retention schedule)"
# Reports older than this are not read again: what they listed and is still due is reported anew.
REPORTS_LOOKBACK = datetime.timedelta(days=365)
# Who is emailed a report: the DSL; a school without one, its headteacher.
REPORT_ROLES = ({Role.DSL}, {Role.HEADTEACHER})


def years_before(day, years):
    """The same day `years` earlier; 29 February becomes the 28th in a common year (so a pupil
    born on 29 February reaches the age on 1 March, as in English law)."""
    try:
        return day.replace(year=day.year - years)
    except ValueError:
        return day.replace(year=day.year - years, day=28)


# --- What is due --------------------------------------------------------------------------


def _pupils_holding_records(pupils):
    pupil = OuterRef("pk")
    visits = Visit.objects.filter(pupil=pupil)
    return pupils.filter(
        Exists(Minutes.objects.filter(visit__pupil=pupil))
        | Exists(Concern.objects.filter(pupil=pupil))
        | Exists(Action.objects.filter(pupil=pupil))
        | Exists(Debrief.objects.filter(visit__pupil=pupil))
        | Exists(FileTransfer.objects.filter(pupil=pupil))
        | Exists(visit_retention.holding_narrative(visits))
    )


def _due(schedule, now):
    """{kind: queryset of what is due}, each ordered by key."""
    school = schedule.school
    today = timezone.localdate(now)
    born_by = years_before(today, schedule.child_protection_birthday)
    pupils = _pupils_holding_records(
        Pupil.objects.filter(school=school, date_of_birth__lte=born_by)
    )
    open_alert = Exists(Escalation.objects.filter(visit=OuterRef("pk"), resolved_at__isnull=True))
    visits = visit_retention.holding_logistics(
        visit_retention.ended_before(
            Visit.objects.filter(school=school),
            now - datetime.timedelta(days=schedule.logistics_days),
        ).exclude(open_alert)
    )
    messages = (
        Notification.objects.filter(
            school=school,
            created_at__lt=now - datetime.timedelta(days=schedule.notification_days),
            sending_since__isnull=True,
        )
        .exclude(state=Delivery.PENDING)
        .filter(~Q(body="") | ~Q(subject=REMOVED_SUBJECT))
    )
    audit_cutoff = years_before(now, schedule.audit_years)
    events = AuditEvent.objects.filter(school=school, at__lt=audit_cutoff)
    return {
        PUPILS: pupils.order_by("pk"),
        VISITS: visits.order_by("pk"),
        MESSAGES: messages.order_by("pk"),
        AUDIT: events.order_by("pk"),
    }


@dataclasses.dataclass
class Plan:
    """Exactly what a removal now would remove: the keys of each kind, at most LIMITS each."""

    school: object
    now: datetime.datetime
    items: dict
    more: dict

    @property
    def counts(self):
        return {kind: len(self.items[kind]) for kind in KINDS}

    @property
    def total(self):
        return sum(self.counts.values())

    @property
    def is_empty(self):
        return self.total == 0

    def rows(self):
        """For pages and the command: (label, count, whether more wait for a later run)."""
        return [(KIND_LABELS[kind], len(self.items[kind]), self.more[kind]) for kind in KINDS]

    def pupils(self):
        return list(
            Pupil.objects.filter(pk__in=self.items[PUPILS]).order_by("last_name", "first_name")
        )


def retention_plan(school, now):
    """Exactly what `retention_apply(school, now)` would remove, kind by kind."""
    schedule = RetentionSchedule.for_school(school)
    items, more = {}, {}
    for kind, queryset in _due(schedule, now).items():
        keys = list(queryset.values_list("pk", flat=True)[: LIMITS[kind] + 1])
        items[kind], more[kind] = keys[: LIMITS[kind]], len(keys) > LIMITS[kind]
    return Plan(school=school, now=now, items=items, more=more)


# --- Removing ------------------------------------------------------------------------------


def _deleted(queryset):
    return queryset.delete()[1].get(queryset.model._meta.label, 0)


def _remove_files(pupil_ids):
    """The child-protection files of these pupils, deleted in the order the PROTECTs ask."""
    if not pupil_ids:
        return {}
    minutes = Minutes.objects.filter(visit__pupil_id__in=pupil_ids)
    concerns = Concern.objects.filter(pupil_id__in=pupil_ids)
    counts = {}
    # The one deliberate exception to the append-only tables (audit/triggers.py): a queryset
    # delete never runs the rows' own delete(), which refuses.
    with append_only_ignored(ConcernEvent, MinutesEvent, Addendum, CopySent):
        counts["actions"] = _deleted(
            Action.objects.filter(
                Q(pupil_id__in=pupil_ids) | Q(minutes__in=minutes) | Q(concern__in=concerns)
            )
        )
        for model, name in (
            (Signature, "signatures"),
            (Addendum, "addenda"),
            (CopySent, "copies_sent"),
            (MinutesEvent, "minutes_read_log"),
        ):
            counts[name] = _deleted(model.objects.filter(minutes__in=minutes))
        counts["minutes"] = _deleted(minutes)
        counts["concern_read_log"] = _deleted(ConcernEvent.objects.filter(concern__in=concerns))
        counts["concerns"] = _deleted(concerns)
    counts["debriefs"] = _deleted(Debrief.objects.filter(visit__pupil_id__in=pupil_ids))
    counts["file_transfers"] = _deleted(FileTransfer.objects.filter(pupil_id__in=pupil_ids))
    visit_ids = list(Visit.objects.filter(pupil_id__in=pupil_ids).values_list("pk", flat=True))
    narrative = visit_retention.visit_narrative_scrub(visit_ids=visit_ids)
    counts["visits_narrative"] = narrative.pop("visits")
    counts.update(narrative)
    return counts


def _scrub_messages(ids):
    if not ids:
        return 0
    return Notification.objects.filter(pk__in=ids).update(body="", subject=REMOVED_SUBJECT)


def _remove_audit(ids):
    if not ids:
        return 0
    with append_only_ignored(AuditEvent):
        return _deleted(AuditEvent.objects.filter(pk__in=ids))


def _summary(counts):
    return ", ".join(f"{name.replace('_', ' ')}: {n}" for name, n in counts.items() if n) or (
        "nothing"
    )


@transaction.atomic
def retention_apply(school, now, by=None, *, only=None):
    """Remove what `retention_plan(school, now)` lists (of it, only the keys in `only`, if
    given) and nothing else; record the run and an audit RETENTION event. Returns the run, or
    None if nothing was due."""
    RetentionSchedule.for_school(school)
    RetentionSchedule.objects.select_for_update().filter(school=school).first()
    plan = retention_plan(school, now)
    items = dict(plan.items)
    if only is not None:
        for kind in KINDS:
            allowed = set(only.get(kind, ()))
            items[kind] = [pk for pk in plan.items[kind] if pk in allowed]
    if not any(items.values()):
        return None
    counts = {}
    if items[VISITS]:
        scrubbed = visit_retention.visit_logistics_scrub(visit_ids=items[VISITS])
        counts["visit_logistics"] = scrubbed.pop("visits")
        counts.update(scrubbed)
    counts["pupils"] = len(items[PUPILS])
    for name, n in _remove_files(items[PUPILS]).items():
        counts[name] = counts.get(name, 0) + n
    counts["messages"] = _scrub_messages(items[MESSAGES])
    counts["audit_events"] = _remove_audit(items[AUDIT])
    run = RetentionRun.objects.create(
        school=school, at=now, dry_run=False, by=by, counts=counts, items=items
    )
    audit.record(
        AuditAction.RETENTION,
        actor=by,
        actor_name="" if by else "nightly retention run",
        school=school,
        target=run,
        detail="Removed under the retention schedule: " + _summary(counts),
    )
    return run


# --- Report first --------------------------------------------------------------------------


def _report_recipients(school):
    for roles in REPORT_ROLES:
        people = [person for person in people_with(school, roles) if person.email]
        if people:
            return people
    return []


def retention_page_url(school):
    return settings.SITE_URL + reverse("records-retention", args=[school.slug])


def _report(plan, items, schedule, now):
    """A dry-run run listing `items`, emailed to the DSL (through the outbox)."""
    removable_from = now + datetime.timedelta(days=schedule.notice_days)
    people = _report_recipients(plan.school)
    run = RetentionRun.objects.create(
        school=plan.school,
        at=now,
        dry_run=True,
        counts={kind: len(items[kind]) for kind in KINDS},
        items=items,
        removable_from=removable_from,
        reported_to=", ".join(display_name(person) for person in people),
    )
    lines = [f"- {KIND_LABELS[kind]}: {len(items[kind])}" for kind in KINDS if items[kind]]
    body = (
        f"Records of {plan.school} have reached the end of their retention period:\n\n"
        + "\n".join(lines)
        + f"\n\nThey will be removed on the first nightly run after "
        f"{timezone.localtime(removable_from):%d %B %Y %H:%M}, unless the retention schedule "
        f"is changed before then. See what they are, and the schedule, at "
        f"{retention_page_url(plan.school)}\n"
    )
    recipients = [(p, display_name(p), (Channel.EMAIL, p.email)) for p in people]
    queue(
        rows_for(
            key=f"retention-report:{run.pk}",
            school=plan.school,
            about=run,
            recipients=recipients,
            subject="Records due for removal under the retention schedule",
            body=body,
            now=now,
        )
    )
    audit.record(
        AuditAction.RETENTION,
        actor_name="nightly retention run",
        school=plan.school,
        target=run,
        detail="Report of what falls due (nothing removed): " + _summary(run.counts),
    )
    return run


@dataclasses.dataclass
class CycleResult:
    report: RetentionRun | None = None
    removal: RetentionRun | None = None


@transaction.atomic
def retention_cycle(school, now):
    """One nightly step for one school: remove what a report listed at least `notice_days`
    ago and is still due, then report what has newly fallen due (at most one report per notice
    period). Safe to run twice: the school's schedule row is locked, and what is removed is
    no longer due."""
    RetentionSchedule.for_school(school)
    # Only the schedule's row: the school's row stays free for check-ins and the overdue watch.
    schedule = (
        RetentionSchedule.objects.select_for_update(of=("self",))
        .select_related("school")
        .get(school=school)
    )
    plan = retention_plan(school, now)
    result = CycleResult()
    if plan.is_empty:
        return result
    reports = list(
        RetentionRun.objects.filter(school=school, dry_run=True, at__gt=now - REPORTS_LOOKBACK)
    )
    reported, ripe = {kind: set() for kind in KINDS}, {kind: set() for kind in KINDS}
    notice = datetime.timedelta(days=schedule.notice_days)
    for report in reports:
        for kind in KINDS:
            keys = set(report.items.get(kind, ()))
            reported[kind] |= keys
            if report.at <= now - notice:
                ripe[kind] |= keys
    if any(set(plan.items[kind]) & ripe[kind] for kind in KINDS):
        result.removal = retention_apply(school, now, only={k: sorted(v) for k, v in ripe.items()})
        plan = retention_plan(school, now)
    new = {kind: [pk for pk in plan.items[kind] if pk not in reported[kind]] for kind in KINDS}
    recent_report = any(report.at > now - notice for report in reports)
    if any(new.values()) and not recent_report:
        result.report = _report(plan, new, schedule, now)
    return result


# --- The schedule --------------------------------------------------------------------------


@transaction.atomic
def retention_schedule_update(*, school, by, values, now=None, request=None):
    """The DSL or headteacher changes the school's periods; on the audit trail. Raises
    ValidationError with a message per field for a period out of range."""
    now = now or timezone.now()
    RetentionSchedule.for_school(school)
    schedule = RetentionSchedule.objects.select_for_update().get(school=school)
    changed = []
    for name in RetentionSchedule.PERIOD_FIELDS:
        if name in values and getattr(schedule, name) != values[name]:
            old = getattr(schedule, name)
            setattr(schedule, name, values[name])
            label = RetentionSchedule._meta.get_field(name).verbose_name
            changed.append(f"{label}: {old} to {values[name]}")
    if not changed:
        return schedule
    schedule.full_clean(exclude=["school", "updated_by", "updated_at"])
    schedule.updated_by, schedule.updated_at = by, now
    schedule.save()
    audit.record(
        AuditAction.CHANGED,
        actor=by,
        school=school,
        target=schedule,
        detail="Retention schedule changed: " + "; ".join(changed),
        request=request,
    )
    return schedule


def past_runs(school, limit=30):
    return list(RetentionRun.objects.filter(school=school).select_related("by")[:limit])
