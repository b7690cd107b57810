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
from schools.phones import PhoneField


class Kind(models.TextChoices):
    ARRIVAL = "arrival", "Not arrived"
    RETURN = "return", "Not back"
    HELP = "help", "I need help"
    CODE_WORD = "code_word", "Code word used"
    DRILL = "drill", "Drill: practice overdue alert"


class Step(models.IntegerChoices):
    # E1 and E2/E3; plain words, as the board and the messages show them.
    OFFICE = 1, "Office alert: phone the staff"
    POLICE = 2, "Police step: police-contact instructions"


class CallOutcome(models.TextChoices):
    """E1: what happened when the office phoned the staff."""

    REACHED_SAFE = "reached_safe", "Reached: staff are safe"
    NO_ANSWER = "no_answer", "No answer: try again"
    CONCERN = "concern", "Cause for concern: police step now"
    CODE_WORD = "code_word", "Code word used: call 999 now"


class Whereabouts(models.TextChoices):
    """Where staff are when an alert is resolved: it decides whether the watch goes on."""

    LEFT = "left", "They have left, or are back at base"
    STAYING = "staying", "They are safe and staying until a time"


class Answer(models.TextChoices):
    """How someone answered an alert (its timeline says who, how and when)."""

    BOARD = "board", "on the board"
    CALL_RECORDED = "call", "by recording a call"
    LINK = "link", "by the link in a message"
    KEY_PRESS = "key press", "by pressing 1 on the phone call"
    POLICE_CALLED = "police", "by recording the police call"


class Escalation(models.Model):
    school = models.ForeignKey(School, on_delete=models.PROTECT, related_name="escalations")
    # Null only for a drill, which practises the procedure without a real visit.
    visit = models.ForeignKey(
        "visits.Visit", null=True, blank=True, on_delete=models.PROTECT, related_name="escalations"
    )
    kind = models.CharField(max_length=20, choices=Kind.choices)
    is_drill = models.BooleanField("drill", default=False)
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
    # Step 1 answered: its time to respond is what A9 monitoring reports.
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    acknowledged_how = models.CharField(
        "acknowledged how", max_length=20, choices=Answer.choices, blank=True
    )
    # The police step is a new alert that someone must answer again (E2, E3).
    police_acknowledged_at = models.DateTimeField("police step answered at", null=True, blank=True)
    police_acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name="police step answered by",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    police_acknowledged_how = models.CharField(
        "police step answered how", max_length=20, choices=Answer.choices, blank=True
    )
    # Until someone answers, the current step's messages go again at this time, to one more
    # circle of people each time (services.repeat_batch); cleared once it is answered.
    repeat_due_at = models.DateTimeField("messages go again at", null=True, blank=True)
    rounds = models.PositiveSmallIntegerField(
        default=0, help_text="How many times the current step's messages have gone again."
    )
    circles_told = models.PositiveSmallIntegerField(
        default=1, help_text="How many circles of people the current step has reached."
    )
    # When an unresolved step 1 becomes the police step (E2); read by the sweep, cleared once
    # step 2 is reached or the alert is resolved.
    police_due_at = models.DateTimeField("police step due at", null=True, blank=True)
    police_step_at = models.DateTimeField("police step raised at", null=True, blank=True)
    police_step_reason = models.TextField("why the police step was raised", blank=True)
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
    whereabouts = models.CharField(max_length=10, choices=Whereabouts.choices, blank=True)
    # Why this alert's messages could not be queued, while they cannot (shown on the board and
    # the alert page; the sweep tries again, services.messages_retry).
    messages_error = models.TextField("why its messages could not be sent", blank=True)

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
            # Read by every sweep (services.repeat_batch).
            models.Index(
                fields=["repeat_due_at"],
                name="escalation_repeat_due",
                condition=models.Q(repeat_due_at__isnull=False),
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

    @property
    def is_answered(self):
        """Someone has answered the step the alert is at (the police step must be answered
        afresh: it is a new, louder alert)."""
        if self.at_police_step:
            return self.police_acknowledged_at is not None
        return self.acknowledged_at is not None

    def expected_at(self):
        """When the staff were expected (to arrive, or back): the one clock that every screen
        and message counts "overdue" from; None for a call for help or a drill."""
        if self.visit is None or self.kind not in (Kind.ARRIVAL, Kind.RETURN):
            return None
        visit = self.visit
        return visit.expected_arrival() if self.kind == Kind.ARRIVAL else visit.expected_back()

    def overdue_minutes(self, now):
        expected = self.expected_at()
        if expected is None:
            return None
        return max(0, int((now - expected).total_seconds() // 60))

    def response_seconds(self):
        """A9, drills: how long the office took to acknowledge the alert."""
        if self.acknowledged_at is None:
            return None
        return (self.acknowledged_at - self.raised_at).total_seconds()


class TechnicalContact(models.Model):
    """Who is paged when the overdue watch itself stops (the watchdog): IT staff of a school,
    or of the trust when no school is given."""

    school = models.ForeignKey(
        School,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="technical_contacts",
        help_text="Leave empty for the trust's contacts, paged whichever school's watch stops.",
    )
    name = models.CharField(max_length=200)
    mobile = PhoneField(help_text="Texted and called by the watchdog.")
    is_active = models.BooleanField("paged", default=True)

    class Meta:
        ordering = ["school", "name"]

    def __str__(self):
        return f"{self.name} ({self.school or 'the trust'})"


class WatchdogOutage(models.Model):
    """One stop of the overdue watch, as the watchdog saw it: paged once when it began and
    once when it ended, even if the watchdog itself restarts in between."""

    started_at = models.DateTimeField()
    parts = models.CharField(
        max_length=100, help_text="What was silent: worker, sender, beat, sweep."
    )
    paged_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    recovery_paged_at = models.DateTimeField(null=True, blank=True)
    # "open" while the outage lasts, null after: unique, so two watchdogs never open two.
    open_marker = models.CharField(
        "still open", max_length=4, null=True, blank=True, unique=True, default="open"
    )

    class Meta:
        ordering = ["-started_at"]

    def __str__(self):
        return f"Watch down from {self.started_at:%Y-%m-%d %H:%M} ({self.parts})"


class Heartbeat(models.Model):
    """Who watches the watcher: the worker and beat write here; /healthz and the board read."""

    name = models.CharField(max_length=20, unique=True)
    at = models.DateTimeField()

    def __str__(self):
        return f"{self.name} at {self.at:%H:%M:%S}"
