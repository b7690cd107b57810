"""Reads for the office's live board: a fixed number of queries however many visits are out."""

import datetime

from django.db.models import Prefetch, Q
from django.utils import timezone

from visits.access import visible_visits
from visits.models import Status, Visit
from visits.selectors import local_day_bounds, schedule_schools

from .access import visible_escalations
from .models import Escalation

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
