"""Escalation when staff on a visit are overdue or in danger (E1-E3), and its notifications.

The database is the source of truth: the sweep (services.overdue_claim_batch) scans
`Visit.next_deadline` and `Escalation.police_due_at`, and notifications are rows (an outbox)
written in the same transaction as the step that needs them (notifications.models).
"""

from django.conf import settings
from django.contrib.contenttypes.fields import GenericRelation
from django.db import models
from django.urls import reverse
from django.utils import timezone

from notifications.models import Notification
from schools.models import School


class Kind(models.TextChoices):
    ARRIVAL = "arrival", "Not arrived"
    RETURN = "return", "Not back"
    HELP = "help", "I need help"
    CODE_WORD = "code_word", "Code word used"
    DRILL = "drill", "Drill: practice overdue alert"


class Step(models.IntegerChoices):
    OFFICE = 1, "Step 1: office phones staff (E1)"
    POLICE = 2, "Step 2: police-contact instructions (E2, E3)"


class CallOutcome(models.TextChoices):
    """E1: what happened when the office phoned the staff."""

    REACHED_SAFE = "reached_safe", "Reached: staff are safe"
    NO_ANSWER = "no_answer", "No answer: try again"
    CONCERN = "concern", "Cause for concern: police step now (E2)"
    CODE_WORD = "code_word", "Code word used: call 999 now (E3)"


class Escalation(models.Model):
    school = models.ForeignKey(School, on_delete=models.PROTECT, related_name="escalations")
    # Null only for a drill, which practises the procedure without a real visit.
    visit = models.ForeignKey(
        "visits.Visit", null=True, blank=True, on_delete=models.PROTECT, related_name="escalations"
    )
    kind = models.CharField(max_length=20, choices=Kind.choices)
    is_drill = models.BooleanField(default=False)
    # The missed deadline it was raised for (arrival or return); null for help and drills.
    deadline = models.DateTimeField(null=True, blank=True)
    step = models.PositiveSmallIntegerField(choices=Step.choices, default=Step.OFFICE)
    out_of_hours = models.BooleanField(
        default=False, help_text="Step 1 went to the on-call senior: the office was closed."
    )

    raised_at = models.DateTimeField(default=timezone.now)
    raised_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    # When an unresolved step 1 becomes the police step (E2); read by the sweep, cleared once
    # step 2 is reached or the alert is resolved.
    police_due_at = models.DateTimeField(null=True, blank=True)
    police_step_at = models.DateTimeField(null=True, blank=True)
    police_step_reason = models.TextField(blank=True)
    police_called_at = models.DateTimeField(null=True, blank=True)
    police_reference = models.CharField(max_length=100, blank=True)
    police_called_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    resolution = models.TextField(blank=True)
    # Why this alert's messages could not be queued, while they cannot (shown on the board and
    # the alert page; the sweep tries again, services.messages_retry).
    messages_error = models.TextField(blank=True)

    notifications = GenericRelation(
        Notification, content_type_field="about_type", object_id_field="about_id"
    )

    class Meta:
        ordering = ["-raised_at"]
        constraints = [
            # Each missed deadline escalates once, whichever worker claims it.
            models.UniqueConstraint(
                fields=["visit", "kind", "deadline"],
                condition=models.Q(deadline__isnull=False),
                name="one_escalation_per_deadline",
            ),
            # One open alert per visit: a later deadline or "I need help" joins the open one.
            models.UniqueConstraint(
                fields=["visit"],
                condition=models.Q(resolved_at__isnull=True, visit__isnull=False),
                name="one_open_escalation_per_visit",
            ),
            models.CheckConstraint(
                condition=models.Q(visit__isnull=False) | models.Q(is_drill=True),
                name="only_a_drill_has_no_visit",
            ),
        ]
        indexes = [
            # Read every few seconds by the sweep (services.police_step_due).
            models.Index(
                fields=["police_due_at"],
                name="escalation_police_due",
                condition=models.Q(police_due_at__isnull=False),
            ),
            models.Index(
                fields=["school", "resolved_at"],
                name="escalation_open_by_school",
            ),
            # Read by every sweep (services.messages_retry_batch).
            models.Index(
                fields=["raised_at"],
                name="escalation_messages_unqueued",
                condition=~models.Q(messages_error="") & models.Q(resolved_at__isnull=True),
            ),
        ]

    def __str__(self):
        drill = "DRILL " if self.is_drill else ""
        return f"{drill}{self.get_kind_display()} – {self.school} at {self.raised_at:%H:%M}"

    def get_absolute_url(self):
        return reverse("escalation-detail", args=[self.pk])

    @property
    def is_open(self):
        return self.resolved_at is None

    @property
    def at_police_step(self):
        return self.step == Step.POLICE

    def response_seconds(self):
        """A9, drills: how long the office took to acknowledge the alert."""
        if self.acknowledged_at is None:
            return None
        return (self.acknowledged_at - self.raised_at).total_seconds()


class Heartbeat(models.Model):
    """Who watches the watcher: the worker and beat write here; /healthz and the board read."""

    name = models.CharField(max_length=20, unique=True)
    at = models.DateTimeField()

    def __str__(self):
        return f"{self.name} at {self.at:%H:%M:%S}"
