"""Reads for the office's live board: a fixed number of queries however many visits are out."""

import datetime
import re

from django.contrib.auth import get_user_model
from django.db.models import Prefetch, Q
from django.utils import timezone

from schools.models import Role
from schools.selectors import display_name
from visits.access import visible_visits
from visits.models import EventKind, Status, Visit
from visits.selectors import local_day_bounds, schedule_schools

from .access import visible_escalations
from .models import Escalation, Kind

DUE_SOON = datetime.timedelta(minutes=15)

# How the board sorts: the most urgent first.
URGENCY = ["police", "alert", "overdue", "due_soon", "on_time", "upcoming", "done"]
URGENCY_LABELS = {
    "police": "Police step",
    "alert": "Office alerted",
    "overdue": "Overdue: no word yet",
    "due_soon": "Due soon",
    "on_time": "On time",
    "upcoming": "Later today",
    "done": "Back / ended",
}


class BoardRow:
    """One visit on the board, with its urgency worked out once."""

    def __init__(self, visit, *, now):
        self.visit = visit
        open_alerts = visit.open_escalations
        self.alert = open_alerts[0] if open_alerts else None
        deadline, _ = visit.compute_deadline()
        self.deadline = deadline
        # The one clock: "overdue" counts from when staff were expected, not from the deadline
        # (expected + the school's grace), which is when the office is alerted.
        self.expected, self.expected_kind = visit.expected() if visit.is_watched else (None, "")
        self.overdue_minutes = visit.overdue_minutes(now) if visit.is_watched else 0
        self.urgency = self._urgency(now)
        self.label = URGENCY_LABELS[self.urgency]

    def _urgency(self, now):
        if self.alert is not None:
            return "police" if self.alert.at_police_step else "alert"
        if not self.visit.is_watched:
            return "done"
        if self.expected <= now:
            return "overdue"
        if self.visit.status == Status.AUTHORISED and self.visit.planned_start > now + DUE_SOON:
            return "upcoming"
        if self.expected - now <= DUE_SOON:
            return "due_soon"
        return "on_time"

    def sort_key(self):
        return (URGENCY.index(self.urgency), self.deadline or self.visit.planned_start)


def board_visits(user, *, now):
    """Every visit active today at the schools whose schedule this person holds (P11)."""
    start, end = local_day_bounds(timezone.localdate(now))
    out = Q(status__in=[Status.ON_THE_WAY, Status.ON_SITE])
    today = Q(
        planned_start__gte=start,
        planned_start__lt=end,
        status__in=[Status.AUTHORISED, Status.COMPLETED, Status.CANCELLED],
    )
    # A visit whose authorised start has passed but was never started stays on until dealt with.
    late = Q(status=Status.AUTHORISED, planned_start__lt=start)
    alerting = Q(escalations__isnull=False, escalations__resolved_at__isnull=True)
    visits = (
        visible_visits(user)
        .filter(school__in=schedule_schools(user))
        .filter(out | today | late | alerting)
        .exclude(status=Status.CANCELLED, left_at__isnull=True)
        .distinct()
        .select_related("pupil", "school")
        .prefetch_related(
            "assignments__user__staff_profile",
            Prefetch(
                "escalations",
                queryset=Escalation.objects.filter(resolved_at__isnull=True),
                to_attr="open_escalations",
            ),
        )
    )
    return sorted((BoardRow(v, now=now) for v in visits), key=BoardRow.sort_key)


def open_alerts(user):
    """Open alerts, drills included, the most serious and oldest first."""
    return list(
        visible_escalations(user)
        .filter(resolved_at__isnull=True)
        .select_related("visit__pupil", "school", "acknowledged_by")
        .prefetch_related("visit__assignments__user")
        .order_by("-step", "raised_at")
    )


def alert_timeline(esc):
    return esc.events.select_related("by").order_by("at", "pk")


def on_visit_alert(visit):
    """The open alert on a visit, for its staff's screen (a partner's help call shows there)."""
    return (
        Escalation.objects.filter(visit=visit, resolved_at__isnull=True)
        .select_related("raised_by")
        .first()
    )


def staff_today(user, *, now):
    """'My visits today' for staff on a phone: what they go on today, or are still out on."""
    start, end = local_day_bounds(timezone.localdate(now))
    return (
        Visit.objects.filter(assignments__user=user)
        .filter(
            Q(status__in=[Status.ON_THE_WAY, Status.ON_SITE])
            | Q(status=Status.AUTHORISED, planned_start__lt=end)
            | Q(planned_start__gte=start, planned_start__lt=end, left_at__isnull=False)
        )
        .select_related("pupil", "school")
        .prefetch_related("assignments__user")
        .order_by("planned_start")
        .distinct()
    )


def messages_for_visit(visit):
    """Every message about a visit: its own (a safety report) and its alerts'."""
    from django.contrib.contenttypes.models import ContentType

    from notifications.models import Notification

    return Notification.objects.filter(
        Q(about_type=ContentType.objects.get_for_model(Visit), about_id=visit.pk)
        | Q(
            about_type=ContentType.objects.get_for_model(Escalation),
            about_id__in=Escalation.objects.filter(visit=visit).values("pk"),
        )
    )


# The police sheet (E2) -------------------------------------------------------------------------

# A rule ID in brackets ("(D4)") means nothing to a 999 call-taker; it is left out of what is
# read out, with the full stop it may carry, so that two sentences never meet as "(D4).."
_RULE_ID = re.compile(r"\s*\((?:[PDEA][0-9]+(?:[,/ -]+[PDEA]?[0-9]+)*)\)")


def spoken(text):
    """`text` as it is read out on the phone: no rule IDs, no trailing full stop (the sheet puts
    one sentence on each line, so nothing joins two stops)."""
    return _RULE_ID.sub("", (text or "").strip()).strip().rstrip(".").strip()


def _same(a, b):
    return (
        re.sub(r"[^a-z0-9]+", " ", a.lower()).strip()
        == re.sub(r"[^a-z0-9]+", " ", b.lower()).strip()
    )


def known_risks(visit, risk):
    """E2: each known risk once: the risk assessment's answers with their details, then what the
    pupil's record adds that the assessment has not already said."""
    pupil = visit.pupil
    found = []

    def add(label, details=""):
        line = spoken(label)
        details = spoken(details)
        if details and not _same(details, line):
            line = f"{line}: {details}"
        if line and not any(_same(line, seen) or _same(spoken(label), seen) for seen in found):
            found.append(line)

    if risk is not None:
        if risk.little_known:
            add("Little is known about the family")
        if risk.previous_aggression or pupil.previous_aggression:
            add("Previous anger or aggression", risk.previous_aggression_details)
        if risk.contentious_issues:
            add("Contentious issues", risk.contentious_details)
        if risk.animals or pupil.has_animals:
            add("Animals at the home", risk.animals_details)
    else:
        if pupil.previous_aggression:
            add("Previous anger or aggression")
        if pupil.has_animals:
            add("Animals at the home")
    extra = spoken(pupil.known_risks)
    if extra and not any(_same(extra, line) or extra.lower() in line.lower() for line in found):
        found.append(extra)
    return found


def headteacher_contact(school):
    """Who to tell (E2: "the headteacher is told") and the number to ring: the headteacher's
    mobile, or the school office when none is recorded."""
    User = get_user_model()
    head = (
        User.objects.filter(
            is_active=True, memberships__school=school, memberships__role=Role.HEADTEACHER
        )
        .select_related("staff_profile")
        .order_by("pk")
        .first()
    )
    profile = getattr(head, "staff_profile", None) if head is not None else None
    mobile = profile.mobile if profile is not None and profile.mobile else ""
    if mobile:
        return {"name": display_name(head), "number": mobile, "where": "mobile"}
    return {
        "name": display_name(head) if head is not None else "",
        "number": school.office_phone or "",
        "where": "school office",
    }


def police_sheet_times(esc):
    """E2: the times the police ask for, in order: expected, alerted, each call, police step."""
    times = []
    expected = esc.expected_at()
    if expected is not None:
        what = "Expected to arrive" if esc.kind == Kind.ARRIVAL else "Expected back"
        times.append((expected, what))
    times.append((esc.raised_at, f"Alert raised: {spoken(esc.get_kind_display())}"))
    calls = esc.events.filter(kind=EventKind.CALL).select_related("by").order_by("at", "pk")
    for call in calls:
        who = f" by {display_name(call.by)}" if call.by_id else ""
        times.append((call.at, f"Call to the staff recorded{who}: {spoken(call.message)}"))
    if esc.police_step_at is not None:
        times.append((esc.police_step_at, "Police step raised"))
    if esc.police_called_at is not None:
        times.append((esc.police_called_at, "Police called"))
    return times


def last_position(visit):
    """The last position staff sent, as numbers for the sheet and a geo: link (no map is
    fetched: the sheet is printed and the page loads nothing from outside, CSP)."""
    position = visit.last_position if visit is not None else None
    if not isinstance(position, dict):
        return None
    try:
        lat, lng = float(position["lat"]), float(position["lng"])
    except (KeyError, TypeError, ValueError):
        return None
    accuracy = position.get("accuracy")
    return {
        "lat": f"{lat:.5f}",
        "lng": f"{lng:.5f}",
        "geo": f"geo:{lat:.6f},{lng:.6f}",
        "accuracy": round(float(accuracy)) if isinstance(accuracy, (int, float)) else None,
    }


def police_sheet(esc, *, now):
    """Everything the caller reads out to 999 and needs beside them (E2), read once."""
    visit = esc.visit
    risk = getattr(visit, "risk_assessment", None) if visit is not None else None
    return {
        "esc": esc,
        "visit": visit,
        "staff": list(visit.assignments.all()) if visit else [],
        "carers": list(visit.pupil.carers.all()) if visit else [],
        "known_risks": known_risks(visit, risk) if visit else [],
        "headteacher": headteacher_contact(esc.school),
        "times": police_sheet_times(esc),
        "position": last_position(visit),
        "why": spoken(esc.police_step_reason) or spoken(esc.get_kind_display()),
        # The one clock: overdue counted from when they were expected, as everywhere else.
        "overdue_minutes": esc.overdue_minutes(now),
        "now": now,
    }
