"""The audit trail: who opened, printed, exported or changed what, and every sign-in.

Rows are only ever added: audit.record() is the one way in, Python refuses to save a row twice
or delete one, and on PostgreSQL a trigger refuses an UPDATE or DELETE (audit/triggers.py)."""

from django.conf import settings
from django.db import models
from django.utils import timezone

from .triggers import is_ignored


class Action(models.TextChoices):
    VIEWED = "viewed", "Opened"
    PRINTED = "printed", "Printed"
    EXPORTED = "exported", "Exported"
    CHANGED = "changed", "Changed"
    SIGNED_IN = "signed_in", "Signed in"
    SIGN_IN_FAILED = "sign_in_failed", "Sign-in failed"
    LOCKED_OUT = "locked_out", "Locked out"
    UNLOCKED = "unlocked", "Unlocked"
    SIGNED_OUT = "signed_out", "Signed out"
    PASSWORD_CHANGED = "password_changed", "Password changed"
    PASSWORD_RESET = "password_reset", "Password reset"
    FACTOR_ADDED = "factor_added", "Second factor added"
    FACTOR_REMOVED = "factor_removed", "Second factor removed"
    FACTORS_RESET = "factors_reset", "Second factors reset"
    ROLE_REQUESTED = "role_requested", "Role asked for"
    ROLE_GRANTED = "role_granted", "Role given"
    ROLE_REFUSED = "role_refused", "Role refused"
    ROLE_REMOVED = "role_removed", "Role removed"
    RETENTION = "retention", "Removed under the retention schedule"
    TRANSFERRED = "transferred", "File transferred"


class AuditEvent(models.Model):
    at = models.DateTimeField(default=timezone.now, db_index=True)
    school = models.ForeignKey(
        "schools.School",
        null=True,
        blank=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        related_name="+",
    )
    # The account as it was (the row outlives a renamed or removed account); for a failed
    # sign-in, what was typed.
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        related_name="+",
    )
    actor_name = models.CharField(max_length=150, blank=True)
    action = models.CharField(max_length=20, choices=Action.choices, db_index=True)
    # What was touched: a model's label and key, and how it read then ("Visit 12", "Police
    # sheet for visit 12"), so the trail reads without the row.
    target_type = models.CharField(max_length=100, blank=True)
    target_id = models.CharField(max_length=64, blank=True)
    target_label = models.CharField(max_length=200, blank=True)
    pupil = models.ForeignKey(
        "schools.Pupil",
        null=True,
        blank=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        related_name="+",
    )
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    detail = models.TextField(blank=True)

    class Meta:
        ordering = ["-at", "-pk"]
        indexes = [models.Index(fields=["school", "-at"], name="audit_school_at")]

    def __str__(self):
        what = f"{self.get_action_display()} {self.target_label}"
        return f"{self.at:%d %b %Y %H:%M} {self.actor_name} {what}"

    def save(self, *args, **kwargs):
        # The retention schedule anonymises old rows inside pgtrigger.ignore (audit/triggers.py).
        if self.pk is not None and not _retention_at_work():
            raise ValueError("Audit events are append-only.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        if not _retention_at_work():
            raise ValueError("Audit events are append-only.")
        return super().delete(*args, **kwargs)


def _retention_at_work():
    return is_ignored(AuditEvent)
