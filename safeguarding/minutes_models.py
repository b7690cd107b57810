"""The record after a visit: minutes (A1, A3), their addenda and signatures, actions (A7), the
debrief (A6), copies sent (A2) and the audit of who read or changed the minutes (A8).

Submitted minutes are a record, not a document: the services never change a submitted row, the
admin shows them read-only, and corrections are Addendum rows with who and when.
"""

from django.conf import settings
from django.db import models
from django.urls import reverse
from django.utils import timezone

from schools.models import Pupil, School

from .append_only import AppendOnly


class MinutesStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    SUBMITTED = "submitted", "Submitted"


class Minutes(models.Model):
    """A1, A3: what happened on the visit, written on a tablet during or straight after it.

    While a draft, the form saves as the person types. `revision` goes up on every save: a save
    names the revision it started from, and a field someone else changed since is a conflict,
    never silently overwritten (safeguarding/services/minutes.py: minutes_save_draft).
    """

    visit = models.OneToOneField("visits.Visit", on_delete=models.PROTECT, related_name="minutes")
    status = models.CharField(
        max_length=10, choices=MinutesStatus.choices, default=MinutesStatus.DRAFT, db_index=True
    )
    revision = models.PositiveIntegerField(default=0)

    # A1: [{"name": ..., "relationship": ..., "parental_responsibility": true/false}, ...]
    present = models.JSONField(
        "who was present",
        default=list,
        blank=True,
        help_text="A1: everyone at the visit, and whether they hold parental responsibility.",
    )
    child_seen = models.BooleanField("the child was seen", null=True, help_text="A1")
    child_spoken_to = models.BooleanField("the child was spoken to", null=True, help_text="A1")
    child_voice = models.TextField(
        "the child's voice", blank=True, help_text="What the child said or showed, in their words."
    )
    discussed = models.TextField("what was discussed", blank=True, help_text="A1")
    # A7: [{"description": ..., "owner": <user id>, "due_on": "YYYY-MM-DD"}, ...]; each becomes
    # an Action row when the minutes are submitted.
    action_plan = models.JSONField(
        default=list, blank=True, help_text="A1, A7: each action with an owner and a due date."
    )
    follow_up = models.TextField("follow-up", blank=True, help_text="A1, A7")
    referrals = models.TextField(
        "referrals made or needed", blank=True, help_text="A7: to which service, and why."
    )
    further_visit_on = models.DateField("date of a further visit", null=True, blank=True)
    signatures_note = models.TextField(
        "why a signature is missing",
        blank=True,
        help_text="A3: for an attendance visit, say why the parent/carer did not sign.",
    )

    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    started_at = models.DateTimeField(default=timezone.now)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    updated_at = models.DateTimeField(default=timezone.now)
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    submitted_at = models.DateTimeField(null=True, blank=True, db_index=True)

    # The fields the tablet form writes, in the order it shows them.
    DRAFT_FIELDS = (
        "present",
        "child_seen",
        "child_spoken_to",
        "child_voice",
        "discussed",
        "action_plan",
        "follow_up",
        "referrals",
        "further_visit_on",
        "signatures_note",
    )

    class Meta:
        verbose_name_plural = "minutes"

    def __str__(self):
        return f"Minutes of {self.visit}"

    def get_absolute_url(self):
        return reverse("minutes-detail", args=[self.visit_id])

    @property
    def is_submitted(self):
        return self.status == MinutesStatus.SUBMITTED


class SignerRole(models.TextChoices):
    CARER = "carer", "Parent/carer"
    STAFF = "staff", "Member of staff"


class Signature(models.Model):
    """A3: a signature drawn on the screen, kept as a PNG in the database (never a public file:
    it is served only to people who may read the minutes)."""

    minutes = models.ForeignKey(Minutes, on_delete=models.PROTECT, related_name="signatures")
    signer_role = models.CharField(max_length=10, choices=SignerRole.choices)
    signer_name = models.CharField(max_length=200)
    image = models.BinaryField(help_text="PNG")
    signed_at = models.DateTimeField(default=timezone.now)
    captured_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["minutes", "signer_role"], name="one_signature_per_role"
            )
        ]

    def __str__(self):
        return f"{self.get_signer_role_display()} signature: {self.signer_name}"


class Addendum(AppendOnly):
    """A correction or later note on submitted minutes, with who and when."""

    minutes = models.ForeignKey(Minutes, on_delete=models.PROTECT, related_name="addenda")
    text = models.TextField()
    by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["at", "pk"]
        verbose_name_plural = "addenda"

    def __str__(self):
        return f"Addendum by {self.by} at {timezone.localtime(self.at):%d %b %Y %H:%M}"


class ActionStatus(models.TextChoices):
    OPEN = "open", "Open"
    DONE = "done", "Done"


class Action(models.Model):
    """A7: something to be done after a visit or a concern, by a named owner, by a date."""

    school = models.ForeignKey(School, on_delete=models.PROTECT, related_name="actions")
    pupil = models.ForeignKey(Pupil, on_delete=models.PROTECT, related_name="actions")
    minutes = models.ForeignKey(
        Minutes, null=True, blank=True, on_delete=models.PROTECT, related_name="actions"
    )
    # An action agreed in a concern's triage is as confidential as the concern (A8).
    concern = models.ForeignKey(
        "safeguarding.Concern",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="actions",
    )
    description = models.TextField()
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    due_on = models.DateField()
    status = models.CharField(max_length=10, choices=ActionStatus.choices, default="open")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    done_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    done_at = models.DateTimeField(null=True, blank=True)
    outcome = models.TextField(blank=True)

    class Meta:
        ordering = ["due_on", "pk"]
        indexes = [
            # Read by the daily reminders (A7) and the monitoring page (A9).
            models.Index(fields=["school", "status", "due_on"], name="action_school_open_due"),
        ]

    def __str__(self):
        return f"{self.description[:60]} (due {self.due_on:%d %b %Y})"

    def is_overdue(self, today):
        return self.status == ActionStatus.OPEN and self.due_on < today


class DebriefWith(models.TextChoices):
    """A6: who the debrief was held with."""

    DSL = "dsl", "DSL"
    DEPUTY_DSL = "deputy_dsl", "Deputy DSL"
    HEADTEACHER = "headteacher", "Headteacher / Principal"
    SLT = "slt", "Senior leadership team (SLT)"
    LINE_MANAGER = "line_manager", "Line manager"


class Debrief(models.Model):
    """A6: the visiting staff talked the visit through with the DSL, a deputy, SLT or their
    line manager; what was agreed."""

    visit = models.OneToOneField("visits.Visit", on_delete=models.PROTECT, related_name="debrief")
    led_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    led_as = models.CharField(max_length=20, choices=DebriefWith.choices)
    held_at = models.DateTimeField()
    agreed = models.TextField("what was agreed")
    # A6: the staff on the visit who were debriefed; at least one (the service checks).
    debriefed = models.ManyToManyField(
        settings.AUTH_USER_MODEL,
        related_name="+",
        blank=True,
        verbose_name="staff debriefed",
        help_text="A6: the staff on the visit who talked it through.",
    )
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    recorded_at = models.DateTimeField(default=timezone.now)

    def __str__(self):
        return f"Debrief of {self.visit}"


class CopyVersion(models.TextChoices):
    FULL = "full", "Full record"
    REDACTED = "redacted", "Copy for parents / Local Authority (staff-safety details left out)"


class CopyRecipient(models.TextChoices):
    PARENT = "parent", "Parent/carer"
    LOCAL_AUTHORITY = "local_authority", "Local Authority"
    SOCIAL_CARE = "social_care", "Children's social care"
    SAFEGUARDING_RECORD = "safeguarding_record", "School safeguarding record (CPOMS or similar)"
    OTHER = "other", "Other professional"


class CopyMethod(models.TextChoices):
    EMAIL = "email", "Email"
    POST = "post", "Post"
    BY_HAND = "by_hand", "By hand"
    UPLOADED = "uploaded", "Uploaded"


class CopySent(AppendOnly):
    """A2: who was sent which copy of the minutes, how and when."""

    minutes = models.ForeignKey(Minutes, on_delete=models.PROTECT, related_name="copies")
    version = models.CharField(max_length=10, choices=CopyVersion.choices)
    recipient = models.CharField(max_length=30, choices=CopyRecipient.choices)
    recipient_name = models.CharField(max_length=200)
    method = models.CharField(max_length=10, choices=CopyMethod.choices)
    sent_at = models.DateTimeField()
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    recorded_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-sent_at", "-pk"]
        verbose_name = "copy sent"
        verbose_name_plural = "copies sent"

    def __str__(self):
        return f"{self.get_version_display()} to {self.recipient_name}"


class MinutesEventKind(models.TextChoices):
    STARTED = "started", "Started"
    EDITED = "edited", "Draft edited"
    CONFLICT = "conflict", "Edit conflict shown"
    SIGNED = "signed", "Signature captured"
    SUBMITTED = "submitted", "Submitted"
    VIEWED = "viewed", "Viewed"
    ADDENDUM = "addendum", "Addendum added"
    EXPORTED = "exported", "Exported"
    COPY_SENT = "copy_sent", "Copy sent recorded"


class MinutesEvent(AppendOnly):
    """Who read or changed a minutes record, and when (A8 audit, for the DSL and headteacher)."""

    minutes = models.ForeignKey(Minutes, on_delete=models.PROTECT, related_name="events")
    kind = models.CharField(max_length=20, choices=MinutesEventKind.choices)
    by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    at = models.DateTimeField(default=timezone.now)
    message = models.TextField(blank=True)

    class Meta:
        ordering = ["at", "pk"]
        indexes = [models.Index(fields=["minutes", "by", "kind", "at"], name="minutes_event_by")]

    def __str__(self):
        return f"{self.get_kind_display()} by {self.by} at {timezone.localtime(self.at):%H:%M}"
