"""Data-protection duties: how long each kind of record is kept (the retention schedule), what
each retention run removed, and the transfer of a pupil's child-protection file to their next
school (Keeping Children Safe in Education). Imported at the end of safeguarding/models.py.

The defaults follow the IRMS Information Management Toolkit for Schools; each is explained in
its help text and kept per school by the DSL or headteacher (safeguarding/services/retention.py).
"""

import uuid

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone

from schools.models import Pupil, School


class RetentionSchedule(models.Model):
    school = models.OneToOneField(
        School, on_delete=models.CASCADE, related_name="retention_schedule"
    )
    child_protection_birthday = models.PositiveSmallIntegerField(
        "child-protection records kept until the pupil's birthday",
        default=25,
        validators=[MinValueValidator(18), MaxValueValidator(100)],
        help_text="IRMS toolkit: child-protection files are kept until the pupil is 25 (date of "
        "birth + 25 years), then removed: minutes, concerns, actions, debriefs, copies sent, "
        "the visits' narrative and risk assessments, and file transfers (A1-A8).",
    )
    logistics_days = models.PositiveSmallIntegerField(
        "visit logistics kept for (days after the visit ends)",
        default=30,
        validators=[MinValueValidator(1), MaxValueValidator(3650)],
        help_text="Check-in positions, code word, vehicle, staff mobiles and reporting-in "
        "arrangements (P7, P12-P14, E2) keep staff safe during the visit only. 30 days leaves "
        "time to look into an incident and for the DSL to read the record; the fact of the "
        "visit, its dates and outcome stay.",
    )
    notification_days = models.PositiveSmallIntegerField(
        "message text kept for (days)",
        default=90,
        validators=[MinValueValidator(7), MaxValueValidator(3650)],
        help_text="The words of alerts, reminders and emails (names, addresses) are removed; "
        "who was told, how, when and whether it was delivered stay (E1, A7). 90 days covers "
        "a term's questions about who was told what.",
    )
    audit_years = models.PositiveSmallIntegerField(
        "audit trail kept for (years)",
        default=6,
        validators=[MinValueValidator(1), MaxValueValidator(100)],
        help_text="Who opened, exported or changed what (A8). Six years: the Limitation Act "
        "1980's period for most claims, the IRMS toolkit's period for the records of a claim.",
    )
    notice_days = models.PositiveSmallIntegerField(
        "days between the report and the removal",
        default=7,
        validators=[MinValueValidator(1), MaxValueValidator(90)],
        help_text="Nothing is removed the first time it falls due: the DSL is emailed a report "
        "first, and only what that report listed is removed once it has been out this long.",
    )
    transfer_link_days = models.PositiveSmallIntegerField(
        "a file transfer link works for (days)",
        default=7,
        validators=[MinValueValidator(1), MaxValueValidator(30)],
        help_text="KCSIE: the file goes to the new school within 5 school days; the link in "
        "the email to their DSL stops working after this many days.",
    )
    updated_at = models.DateTimeField(null=True, blank=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    # The periods people set, in the order the page shows them.
    PERIOD_FIELDS = (
        "child_protection_birthday",
        "logistics_days",
        "notification_days",
        "audit_years",
        "notice_days",
        "transfer_link_days",
    )

    class Meta:
        verbose_name = "retention schedule"

    def __str__(self):
        return f"Retention schedule of {self.school}"

    @classmethod
    def for_school(cls, school):
        """The school's schedule, created with the toolkit's defaults the first time."""
        schedule, _ = cls.objects.get_or_create(school=school)
        return schedule


class RetentionRun(models.Model):
    """What one retention run reported or removed, kind by kind: the record of what went.

    `items` holds the keys of what was listed ({"pupils": [..], "visits": [..], ...}); a dry run
    is the report the DSL is emailed, and only what a report listed is removed later.
    """

    school = models.ForeignKey(School, on_delete=models.CASCADE, related_name="retention_runs")
    at = models.DateTimeField(default=timezone.now)
    dry_run = models.BooleanField(
        default=True, help_text="A report of what falls due; nothing was removed."
    )
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="Empty when the nightly run made it.",
    )
    counts = models.JSONField(default=dict)
    items = models.JSONField(default=dict)
    removable_from = models.DateTimeField(
        null=True, blank=True, help_text="A report: what it lists may be removed from this time."
    )
    reported_to = models.TextField(blank=True, help_text="A report: who was emailed it.")

    class Meta:
        ordering = ["-at", "-pk"]
        indexes = [models.Index(fields=["school", "dry_run", "at"], name="retention_run_school")]

    def __str__(self):
        what = "Report" if self.dry_run else "Removal"
        return f"{what} of {timezone.localtime(self.at):%d %b %Y %H:%M} at {self.school}"

    @property
    def total(self):
        return sum(self.counts.values())


class TransferStatus(models.TextChoices):
    WAITING = "waiting", "Waiting for the new school"
    COLLECTED = "collected", "Received by the new school"
    CANCELLED = "cancelled", "Cancelled"
    EXPIRED = "expired", "Link expired"


class TransferManager(models.Manager):
    def keeper_school_ids(self):
        """For the pupil's file only, as `request.user.records_transfers_started.keeper_school_ids`:
        the schools where this person may export and transfer records (the rule is
        safeguarding/access.py; the house's pattern is schools' `keeps_calendar`)."""
        from .access import records_school_ids

        if not hasattr(self, "instance"):
            raise TypeError("Ask a person: user.records_transfers_started.keeper_school_ids.")
        return records_school_ids(self.instance)


class FileTransfer(models.Model):
    """KCSIE: the child-protection file sent to the pupil's next school, separately from the
    main record, with confirmation of receipt. The link's token is stored only as its SHA-256."""

    school = models.ForeignKey(School, on_delete=models.PROTECT, related_name="file_transfers")
    pupil = models.ForeignKey(Pupil, on_delete=models.PROTECT, related_name="file_transfers")
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    token_hash = models.CharField(max_length=64)
    receiving_school = models.CharField("the new school", max_length=200)
    recipient_email = models.EmailField("their DSL's email")
    status = models.CharField(
        max_length=10, choices=TransferStatus.choices, default=TransferStatus.WAITING
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="records_transfers_started"
    )
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    collected_at = models.DateTimeField(null=True, blank=True)
    collected_by_name = models.CharField(max_length=200, blank=True)
    collected_by_role = models.CharField(max_length=200, blank=True)
    collected_from = models.GenericIPAddressField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    cancelled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    objects = TransferManager()

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            # One link out at a time per pupil: a second would be a second copy of the file.
            models.UniqueConstraint(
                fields=["pupil"],
                condition=models.Q(status="waiting"),
                name="one_waiting_transfer_per_pupil",
            )
        ]

    def __str__(self):
        return f"Transfer of {self.pupil}'s file to {self.receiving_school}"

    def is_open(self, now):
        return self.status == TransferStatus.WAITING and now < self.expires_at

    def shown_status(self, now):
        if self.status == TransferStatus.WAITING and now >= self.expires_at:
            return TransferStatus.EXPIRED.label
        return self.get_status_display()

    @property
    def is_waiting(self):
        """Whether the page offers to cancel it (expiry is checked when it is cancelled)."""
        return self.status == TransferStatus.WAITING
