"""Reads the pupil's file (A2) and the policy monitoring page (A9) share.

Both pages cost a fixed number of queries however many records there are: the file reads at
most two queries a source and merges them in Python; the monitoring figures are aggregates
worked out by the database. bench/records_pages.py times both with ten years of records.
"""

import dataclasses
import datetime
import functools
import heapq
import statistics

from django.db import models
from django.db.models import (
    BooleanField,
    Count,
    Exists,
    ExpressionWrapper,
    F,
    OuterRef,
    Q,
    prefetch_related_objects,
)
from django.urls import NoReverseMatch, reverse
from django.utils import timezone

from escalation.models import Escalation, Step
from schools.models import Role
from schools.selectors import schools_for
from visits.access import visible_visits
from visits.models import Authorisation, Decision, DoorReason, Status, Visit, VisitStaff
from visits.selectors import local_day_bounds

from .access import visible_concerns, visible_minutes
from .models import Action, ActionStatus, Addendum, CopySent, Debrief, Minutes, MinutesStatus
from .services.minutes import MINUTES_READING_ROLES

# --- The pupil's file (A2) -------------------------------------------------------------------


class EntryKind(models.TextChoices):
    VISIT = "visit", "Visits"
    MINUTES = "minutes", "Minutes"
    ADDENDUM = "addendum", "Addenda"
    CONCERN = "concern", "Concerns"
    ACTION = "action", "Actions"
    COPY = "copy", "Copies sent"
    DEBRIEF = "debrief", "Debriefs"
    ESCALATION = "escalation", "Overdue alerts"


PER_PAGE = 50


@dataclasses.dataclass(frozen=True)
class FileFilters:
    kinds: frozenset = frozenset()  # empty: every kind
    date_from: datetime.date | None = None
    date_to: datetime.date | None = None
    open_actions_only: bool = False
    page: int = 1
    per_page: int = PER_PAGE

    def wanted(self, kind):
        if self.open_actions_only:
            return kind == EntryKind.ACTION
        return not self.kinds or kind in self.kinds


@dataclasses.dataclass(frozen=True)
class FileEntry:
    kind: str
    at: datetime.datetime
    obj: object
    url: str = ""
    # Actions only: "open", "done" or "overdue".
    state: str = ""

    @property
    def template(self):
        return f"safeguarding/pupil_file/_{self.kind}.html"

    @property
    def kind_label(self):
        return EntryKind(self.kind).label


@dataclasses.dataclass(frozen=True)
class PupilFile:
    entries: list
    page: int
    per_page: int
    has_next: bool

    @property
    def has_previous(self):
        return self.page > 1

    @property
    def first_number(self):
        return (self.page - 1) * self.per_page + 1 if self.entries else 0


def _url(name, *args):
    """A link to a page another area provides; no link rather than a 500 if it is missing."""
    try:
        return reverse(name, args=args)
    except NoReverseMatch:
        return ""


def _minutes_url(visit_id):
    return _url("minutes-detail", visit_id)


def minutes_readable_visits(user):
    """Visits whose minutes and debrief `user` may read (A8): as visible_minutes, by visit, so
    a debrief recorded before its minutes exist is covered too."""
    if not user.is_authenticated:
        return Visit.objects.none()
    # "On the visit" as a subquery, not a join: joined, the OR made PostgreSQL read every
    # assignment of the school (42 ms with ten years of visits; bench/records_pages.py).
    return Visit.objects.filter(
        Q(school__in=schools_for(user, roles=MINUTES_READING_ROLES))
        | Q(
            pk__in=VisitStaff.objects.filter(user=user).values("visit_id"),
            school__in=schools_for(user),
        )
    )


class _Sources:
    """For each kind of entry: what `user` may see of it about `pupil` (A8), the date it is
    filed under, and how a row becomes an entry. Built only for the kinds asked for."""

    def __init__(self, user, pupil, filters, today):
        self.user, self.pupil, self.filters, self.today = user, pupil, filters, today

    # The access rules are worked out once for this pupil, and their answer reused by every
    # query: as subqueries over the whole school's records they were recomputed by each one,
    # 30-200 ms apiece with ten years of records (bench/records_pages.py).
    @functools.cached_property
    def readable_minutes(self):
        return list(
            visible_minutes(self.user)
            .filter(visit__pupil=self.pupil)
            .order_by()
            .values_list("pk", flat=True)
        )

    @functools.cached_property
    def readable_concerns(self):
        return visible_concerns(self.user).filter(pupil=self.pupil).values("pk")

    @functools.cached_property
    def readable_visits(self):
        return list(visible_visits(self.user).filter(pupil=self.pupil).values_list("pk", flat=True))

    def get(self, kind):
        """(queryset, date field, row -> entry)."""
        return getattr(self, kind)()

    def visit(self):
        def entry(v):
            return FileEntry(EntryKind.VISIT, v.planned_start, v, v.get_absolute_url())

        queryset = (
            Visit.objects.filter(pk__in=self.readable_visits)
            .exclude(status=Status.DRAFT)
            .select_related("created_by")
            .prefetch_related("assignments__user")
        )
        return queryset, "planned_start", entry

    def minutes(self):
        def entry(m):
            return FileEntry(EntryKind.MINUTES, m.submitted_at, m, _minutes_url(m.visit_id))

        queryset = Minutes.objects.filter(
            visit__pupil=self.pupil, status=MinutesStatus.SUBMITTED, pk__in=self.readable_minutes
        ).select_related("visit", "submitted_by")
        return queryset, "submitted_at", entry

    def addendum(self):
        def entry(a):
            return FileEntry(EntryKind.ADDENDUM, a.at, a, _minutes_url(a.minutes.visit_id))

        queryset = Addendum.objects.filter(
            minutes__visit__pupil=self.pupil, minutes__in=self.readable_minutes
        ).select_related("minutes__visit", "by")
        return queryset, "at", entry

    def concern(self):
        def entry(c):
            return FileEntry(EntryKind.CONCERN, c.raised_at, c, c.get_absolute_url())

        # The account is never shown here; it stays behind the concern's own page.
        queryset = visible_concerns(self.user).filter(pupil=self.pupil).select_related("raised_by")
        return queryset, "raised_at", entry

    def action(self):
        def entry(a):
            if a.concern_id:
                url = _url("concern-detail", a.concern_id)
            elif a.minutes_id:
                url = _minutes_url(a.minutes.visit_id)
            else:
                url = ""
            state = "overdue" if a.is_overdue(self.today) else a.status
            return FileEntry(EntryKind.ACTION, a.created_at, a, url, state)

        queryset = Action.objects.filter(pupil=self.pupil).filter(
            # A8: an action is as confidential as the minutes or the concern it came from.
            Q(minutes__in=self.readable_minutes)
            | Q(concern__in=self.readable_concerns)
            | Q(
                minutes__isnull=True,
                concern__isnull=True,
                school__in=schools_for(self.user, roles=MINUTES_READING_ROLES),
            )
        )
        if self.filters.open_actions_only:
            queryset = queryset.filter(status=ActionStatus.OPEN)
        queryset = queryset.select_related("owner", "minutes__visit", "concern", "done_by")
        return queryset, "created_at", entry

    def copy(self):
        def entry(c):
            return FileEntry(EntryKind.COPY, c.sent_at, c, _minutes_url(c.minutes.visit_id))

        queryset = CopySent.objects.filter(
            minutes__visit__pupil=self.pupil, minutes__in=self.readable_minutes
        ).select_related("minutes__visit", "recorded_by")
        return queryset, "sent_at", entry

    def debrief(self):
        def entry(d):
            return FileEntry(EntryKind.DEBRIEF, d.held_at, d, d.visit.get_absolute_url())

        queryset = Debrief.objects.filter(
            visit__pupil=self.pupil,
            visit__in=minutes_readable_visits(self.user).filter(pupil=self.pupil).values("pk"),
        ).select_related("visit", "led_by")
        return queryset, "held_at", entry

    def escalation(self):
        def entry(e):
            return FileEntry(EntryKind.ESCALATION, e.raised_at, e, e.visit.get_absolute_url())

        queryset = Escalation.objects.filter(
            visit__pupil=self.pupil,
            is_drill=False,
            visit__in=self.readable_visits,
        ).select_related("visit", "acknowledged_by")
        return queryset, "raised_at", entry


def pupil_file(user, pupil, filters=FileFilters(), *, now=None):
    """A2: the pupil's chronology, newest first, of what `user` may see of each source (A8).

    Two queries a source at most, whatever the number of records: first the dates of its
    newest `page * per_page` rows (the page's entries are among them), merged to find the
    page; then the rows on the page, with their joins.
    """
    now = now or timezone.now()
    today = timezone.localdate(now)
    page = max(1, filters.page)
    upto = page * filters.per_page
    available = _Sources(user, pupil, filters, today)
    sources, streams = {}, []
    for kind in EntryKind.values:
        if not filters.wanted(kind):
            continue
        queryset, field, to_entry = available.get(kind)
        if filters.date_from:
            queryset = queryset.filter(**{f"{field}__gte": local_day_bounds(filters.date_from)[0]})
        if filters.date_to:
            queryset = queryset.filter(**{f"{field}__lt": local_day_bounds(filters.date_to)[1]})
        queryset = queryset.exclude(**{f"{field}__isnull": True})
        sources[kind] = (queryset, to_entry)
        dates = (
            queryset.prefetch_related(None)
            .order_by(f"-{field}", "-pk")
            .values_list(field, "pk")[: upto + 1]
        )
        streams.append([(at, pk, kind) for at, pk in dates])
    merged = list(heapq.merge(*streams, reverse=True))
    on_page = merged[(page - 1) * filters.per_page : upto]
    wanted = {}
    for _, pk, kind in on_page:
        wanted.setdefault(kind, []).append(pk)
    rows = {}
    for kind, pks in wanted.items():
        queryset, to_entry = sources[kind]
        for row in queryset.filter(pk__in=pks):
            rows[kind, row.pk] = to_entry(row)
    return PupilFile(
        entries=[rows[kind, pk] for _, pk, kind in on_page if (kind, pk) in rows],
        page=page,
        per_page=filters.per_page,
        has_next=len(merged) > upto,
    )


# --- Policy monitoring (A9) ------------------------------------------------------------------

# A9: principals monitor how the policy is followed.
MONITORING_ROLES = frozenset({Role.HEADTEACHER, Role.DSL, Role.DEPUTY_DSL, Role.SLT})
# Lists on the page stop here; the CSV has every row.
LIST_LIMIT = 25


@dataclasses.dataclass(frozen=True)
class Period:
    start: datetime.date
    end: datetime.date  # inclusive
    label: str
    key: str = ""  # "2026-autumn"; empty for a custom range

    def bounds(self):
        return local_day_bounds(self.start)[0], local_day_bounds(self.end)[1]


TERMS = {  # name -> (first month, last month, last day)
    "spring": (1, 3, 31),
    "summer": (4, 8, 31),
    "autumn": (9, 12, 31),
}


def term(year, name):
    first, last, last_day = TERMS[name]
    return Period(
        start=datetime.date(year, first, 1),
        end=datetime.date(year, last, last_day),
        label=f"{name.capitalize()} {year}",
        key=f"{year}-{name}",
    )


def term_of(day):
    name = next(n for n, (first, last, _) in TERMS.items() if first <= day.month <= last)
    return term(day.year, name)


def term_from_key(key):
    """The term named "2026-autumn", or None."""
    year, _, name = (key or "").partition("-")
    if not year.isdigit() or name not in TERMS or not 2000 <= int(year) <= 2100:
        return None
    return term(int(year), name)


def recent_terms(today, count=30):
    """The current term and the ones before it, newest first (30: ten school years)."""
    terms, current = [], term_of(today)
    while len(terms) < count:
        terms.append(current)
        current = term_of(current.start - datetime.timedelta(days=1))
    return terms


def monitoring_schools(user):
    return schools_for(user, roles=MONITORING_ROLES)


# Periods longer than this are counted with joins; shorter ones visit by visit (see below).
LONG_PERIOD_DAYS = 400


def _conditions(school, period):
    """What each figure counts, as conditions on the school's visits in the period.

    For a term, a correlated EXISTS per visit is fastest (an index probe each: 14 ms for a term
    of 750 visits in bench/records_pages.py, against 50 ms with joins, which hash whole
    tables). Over several years the EXISTS' estimated cost sets off PostgreSQL's JIT
    compilation (0.8 s a request), so longer periods use joins and hashed subqueries.
    """
    start, end = period.bounds()
    if (period.end - period.start).days > LONG_PERIOD_DAYS:
        approved = Authorisation.objects.filter(
            visit__school=school,
            visit__planned_start__gte=start,
            visit__planned_start__lt=end,
            decision=Decision.APPROVED,
        )
        arrived_at = F("visit__arrived_at")
        lone = Q(pk__in=approved.exclude(lone_visit_reason="").values("visit_id"))
        has_minutes = Q(minutes__status=MinutesStatus.SUBMITTED)
        has_debrief = Q(debrief__isnull=False)
    else:
        approved = Authorisation.objects.filter(visit=OuterRef("pk"), decision=Decision.APPROVED)
        arrived_at = OuterRef("arrived_at")
        lone = Q(Exists(approved.exclude(lone_visit_reason="")))
        has_minutes = Q(
            Exists(Minutes.objects.filter(visit=OuterRef("pk"), status=MinutesStatus.SUBMITTED))
        )
        has_debrief = Q(Exists(Debrief.objects.filter(visit=OuterRef("pk"))))
    # P1: an approval in force when staff arrived: decided before, not withdrawn by then.
    in_force = approved.filter(decided_at__lte=arrived_at).filter(
        Q(withdrawn_at__isnull=True) | Q(withdrawn_at__gt=arrived_at)
    )
    if isinstance(arrived_at, F):
        authorised = Q(pk__in=in_force.values("visit_id"))
    else:
        authorised = Q(Exists(in_force))
    completed = Q(status=Status.COMPLETED)
    return {
        "lone": lone,
        "safety": Q(status=Status.CANCELLED, door_reason__in=DoorReason.safety_reasons()),
        "unauthorised": Q(arrived_at__isnull=False) & ~authorised,
        # A6: as safeguarding.services.minutes.record_missing, for every completed visit at once.
        "missing_record": completed & (~has_minutes | ~has_debrief),
        "missing_minutes": completed & ~has_minutes,
        "missing_debrief": completed & ~has_debrief,
        "has_minutes": has_minutes,
        "has_debrief": has_debrief,
    }


def _visits_in(school, period):
    start, end = period.bounds()
    return Visit.objects.filter(
        school=school, planned_start__gte=start, planned_start__lt=end
    ).exclude(status=Status.DRAFT)


# The lists on the page, each a condition in _conditions.
VISIT_LISTS = ("lone", "safety", "unauthorised", "missing_record")
COUNTS = (*VISIT_LISTS, "missing_minutes", "missing_debrief")


@dataclasses.dataclass
class Monitoring:
    school: object
    period: Period
    today: datetime.date
    total: int
    by_reason: list  # [(purpose label, {outcome label: n}, total)]
    outcomes: list  # outcome labels in the order shown
    counts: dict  # name in COUNTS -> n
    lists: dict  # name in VISIT_LISTS -> visits (at most LIST_LIMIT)
    incidents: list  # the most recent, at most LIST_LIMIT
    response: dict  # n, acknowledged, median_seconds, worst_seconds, police_step, police_called
    overdue_actions: list
    overdue_actions_count: int
    # A8: SLT see the monitoring page but not concerns, nor the wording of their actions.
    reads_concerns: bool = True

    def reason_rows(self):
        """The reason-by-outcome table: (reason, [count per outcome], total)."""
        return [
            (label, [cells.get(outcome, 0) for outcome in self.outcomes], total)
            for label, cells, total in self.by_reason
        ]

    def outcome_totals(self):
        return [sum(cells.get(o, 0) for _, cells, _ in self.by_reason) for o in self.outcomes]

    def chart_data(self):
        """What the charts draw: the same figures as the tables beside them."""
        return {
            "reasons": [label for label, _, _ in self.by_reason],
            "outcomes": [
                {"label": outcome, "counts": [row.get(outcome, 0) for _, row, _ in self.by_reason]}
                for outcome in self.outcomes
            ],
            "bands": {
                "labels": [label for label, _, _ in self.response["bands"]],
                "office": [office for _, office, _ in self.response["bands"]],
                "police": [police for _, _, police in self.response["bands"]],
            },
        }


def _outcome(status, at_door):
    if status == Status.CANCELLED and at_door:
        return "Called off at the door"
    return Status(status).label


def _by_reason(visits):
    rows = (
        visits.order_by()
        .annotate(at_door=ExpressionWrapper(Q(door_reason__gt=""), output_field=BooleanField()))
        .values("purpose", "status", "at_door")
        .annotate(n=Count("pk"))
    )
    table, outcomes = {}, {}
    for row in rows:
        outcome = _outcome(row["status"], row["at_door"])
        outcomes[outcome] = _outcome_order(row["status"], row["at_door"])
        cells = table.setdefault(row["purpose"], {})
        cells[outcome] = cells.get(outcome, 0) + row["n"]
    purposes = Visit._meta.get_field("purpose").choices
    by_reason = [
        (label, table[value], sum(table[value].values()))
        for value, label in purposes
        if value in table
    ]
    return by_reason, sorted(outcomes, key=outcomes.get)


def _outcome_order(status, at_door):
    order = list(Status.values)
    return order.index(status) + (0.5 if at_door else 0)


def incidents_in(school, period):
    start, end = period.bounds()
    return (
        Escalation.objects.filter(
            school=school, is_drill=False, raised_at__gte=start, raised_at__lt=end
        )
        .select_related("visit__pupil", "acknowledged_by")
        .order_by("-raised_at")
    )


# The office's time to respond, in bands a chart shows at a glance whatever the period.
RESPONSE_BANDS = (
    (60, "under 1 min"),
    (120, "1-2 min"),
    (300, "2-5 min"),
    (600, "5-10 min"),
    (900, "10-15 min"),
    (None, "15 min or more"),
)


def _band(seconds):
    if seconds is None:
        return "not acknowledged"
    return next(label for limit, label in RESPONSE_BANDS if limit is None or seconds < limit)


def incident_figures(school, period):
    """A9, E1, E2: the office's response to every incident of the period, from one query of
    four columns (no model rows: over ten years there are hundreds)."""
    rows = incidents_in(school, period).values_list(
        "raised_at", "acknowledged_at", "step", "police_called_at"
    )
    times, bands = [], {label: [0, 0] for _, label in RESPONSE_BANDS}
    bands["not acknowledged"] = [0, 0]
    police_step = police_called = n = 0
    for raised_at, acknowledged_at, step, police_called_at in rows:
        n += 1
        seconds = (acknowledged_at - raised_at).total_seconds() if acknowledged_at else None
        if seconds is not None:
            times.append(seconds)
        police = step == Step.POLICE
        police_step += police
        police_called += police_called_at is not None
        bands[_band(seconds)][1 if police else 0] += 1
    return {
        "n": n,
        "acknowledged": len(times),
        "median_seconds": statistics.median(times) if times else None,
        "worst_seconds": max(times) if times else None,
        "police_step": police_step,
        "police_called": police_called,
        # (band, incidents that stayed with the office, incidents that reached the police step)
        "bands": [(label, office, police) for label, (office, police) in bands.items()],
    }


CONCERN_ACTION_TEXT = "An action on a safeguarding concern (its wording is for the DSL, A8)"


def action_text(action, *, reads_concerns):
    """An action's wording, unless it comes from a concern this person may not read (A8)."""
    if action.concern_id and not reads_concerns:
        return CONCERN_ACTION_TEXT
    return action.description


def overdue_actions(school, period, today):
    """A7: open actions past their due date, of those due by the end of the period."""
    return (
        Action.objects.filter(
            school=school,
            status=ActionStatus.OPEN,
            due_on__lt=today,
            due_on__lte=period.end,
        )
        .select_related("owner", "pupil")
        .order_by("due_on", "pk")
    )


def visit_list(school, period, name, *, conditions=None, staff=True):
    conditions = conditions or _conditions(school, period)
    visits = _visits_in(school, period).filter(conditions[name])
    if name == "missing_record":
        visits = visits.annotate(
            has_minutes=ExpressionWrapper(conditions["has_minutes"], output_field=BooleanField()),
            has_debrief=ExpressionWrapper(conditions["has_debrief"], output_field=BooleanField()),
        )
    visits = visits.select_related("pupil").order_by("planned_start", "pk")
    return visits.prefetch_related("assignments__user") if staff else visits


def monitoring(school, period, *, now=None, with_lists=True, reads_concerns=False):
    """A9: how the policy was kept at `school` in `period`, from aggregate queries; with the
    first LIST_LIMIT rows of each list for the page (the CSV reads the lists whole)."""
    now = now or timezone.now()
    today = timezone.localdate(now)
    visits = _visits_in(school, period)
    conditions = _conditions(school, period)
    counts = visits.aggregate(
        total=Count("pk"), **{name: Count("pk", filter=conditions[name]) for name in COUNTS}
    )
    by_reason, outcomes = _by_reason(visits)
    lists = {name: [] for name in VISIT_LISTS}
    if with_lists:
        for name in VISIT_LISTS:
            lists[name] = list(
                visit_list(school, period, name, conditions=conditions, staff=False)[:LIST_LIMIT]
            )
        # The staff of every listed visit in one go, not a prefetch per list.
        prefetch_related_objects(
            [visit for shown in lists.values() for visit in shown], "assignments__user"
        )
    incidents = list(incidents_in(school, period)[:LIST_LIMIT]) if with_lists else []
    actions = overdue_actions(school, period, today)
    shown_actions = list(actions[:LIST_LIMIT]) if with_lists else []
    for action in shown_actions:
        action.shown_description = action_text(action, reads_concerns=reads_concerns)
    return Monitoring(
        school=school,
        period=period,
        today=today,
        total=counts.pop("total"),
        by_reason=by_reason,
        outcomes=outcomes,
        counts=counts,
        lists=lists,
        incidents=incidents,
        response=incident_figures(school, period),
        overdue_actions=shown_actions,
        overdue_actions_count=actions.count(),
        reads_concerns=reads_concerns,
    )
