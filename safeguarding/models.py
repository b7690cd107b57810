"""What is learnt on a visit and where it goes (A1-A9).

Safeguarding concerns (A5, A8): raised by any member of staff, seen only by the DSL, deputies,
headteacher and whoever raised them, triaged and closed by the DSL or a deputy. The minutes
models (A1-A4, A6, A7) are in safeguarding/minutes_models.py and imported at the end of this
module, so Django finds them in this app.
"""

from django.conf import settings
from django.db import models
from django.urls import reverse
from django.utils import timezone

from schools.models import Pupil, School

from .append_only import AppendOnly


class Category(models.TextChoices):
    NEGLECT = "neglect", "Neglect"
    PHYSICAL = "physical", "Physical abuse"
    EMOTIONAL = "emotional", "Emotional abuse"
    SEXUAL = "sexual", "Sexual abuse"
    DOMESTIC_ABUSE = "domestic_abuse", "Domestic abuse"
    CHILD_ALONE = "child_alone", "Child left alone or unsupervised"
    HOME_CONDITIONS = "home_conditions", "Home conditions"
    MENTAL_HEALTH = "mental_health", "Mental health"
    OTHER = "other", "Other"


class ConcernStatus(models.TextChoices):
    RAISED = "raised", "Raised: awaiting the DSL"
    IN_HAND = "in_hand", "Triaged: in hand"
    CLOSED = "closed", "Closed"


class Referral(models.TextChoices):
    NONE = "none", "No referral"
    EARLY_HELP = "early_help", "Early help"
    CHILDRENS_SOCIAL_CARE = "childrens_social_care", "Children's social care"
    POLICE = "police", "Police"


class Concern(models.Model):
    school = models.ForeignKey(School, on_delete=models.PROTECT, related_name="concerns")
    pupil = models.ForeignKey(Pupil, on_delete=models.PROTECT, related_name="concerns")
    visit = models.ForeignKey(
        "visits.Visit",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="concerns",
        help_text="The home visit it arose from, if any.",
    )
    account = models.TextField(
        "what was seen or heard",
        help_text="A5: facts, in the words used; who said what, when. Seen only by the DSL, "
        "deputies, headteacher and you (A8).",
    )
    status = models.CharField(
        max_length=20, choices=ConcernStatus.choices, default=ConcernStatus.RAISED, db_index=True
    )
    raised_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    raised_at = models.DateTimeField(default=timezone.now)

    category = models.CharField(max_length=20, choices=Category.choices, blank=True)
    referral = models.CharField(max_length=30, choices=Referral.choices, blank=True)
    referral_reference = models.CharField(max_length=100, blank=True)
    triaged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    triaged_at = models.DateTimeField(null=True, blank=True)
    outcome = models.TextField(blank=True)
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-raised_at"]
        indexes = [models.Index(fields=["school", "status"], name="concern_school_status")]

    def __str__(self):
        return f"Concern about {self.pupil} raised {timezone.localtime(self.raised_at):%d %b %Y}"

    def get_absolute_url(self):
        return reverse("concern-detail", args=[self.pk])


class ConcernEventKind(models.TextChoices):
    RAISED = "raised", "Raised"
    VIEWED = "viewed", "Viewed"
    TRIAGED = "triaged", "Triaged"
    CLOSED = "closed", "Closed"


class ConcernEvent(AppendOnly):
    """Who read or changed a concern, and when (A8 audit). Append-only."""

    concern = models.ForeignKey(Concern, on_delete=models.PROTECT, related_name="events")
    kind = models.CharField(max_length=20, choices=ConcernEventKind.choices)
    by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    at = models.DateTimeField(default=timezone.now)
    message = models.TextField(blank=True)

    class Meta:
        ordering = ["at", "pk"]

    def __str__(self):
        return f"{self.get_kind_display()} by {self.by} at {timezone.localtime(self.at):%H:%M}"


from .minutes_models import (  # noqa: E402,F401  (models of this app, kept in their own module)
    Action,
    ActionStatus,
    Addendum,
    CopyMethod,
    CopyRecipient,
    CopySent,
    CopyVersion,
    Debrief,
    DebriefWith,
    Minutes,
    MinutesEvent,
    MinutesEventKind,
    MinutesStatus,
    Signature,
    SignerRole,
)
from .models_records import FileTransfer, RetentionRun, RetentionSchedule  # noqa: E402,F401
