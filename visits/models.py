import datetime

from django.conf import settings
from django.db import models
from django.urls import reverse
from django.utils import timezone

from schools.models import Pupil, Role, School
from schools.phones import PhoneField, uk


class Purpose(models.TextChoices):
    """P4: the reasons for a home visit named in the policies."""

    WELFARE_CHECK = "welfare_check", "Welfare check after absence"
    ATTENDANCE = "attendance", "Attendance support"
    RETURN_AFTER_ABSENCE = "return_after_absence", "School refusal / return after absence"
    REFERRAL_OBSERVATION = "referral_observation", "Observation as part of a referral"
    BEHAVIOUR_PROGRAMME = "behaviour_programme", "Behaviour or communication programme"
    PRE_RECEPTION = "pre_reception", "Pre-Reception induction"
    INFORM_PARENTS = "inform_parents", "Informing parents of meetings or progress"
    SENSITIVE_SUPPORT = "sensitive_support", "Sensitive family support"
    OTHER = "other", "Other"


class VisitType(models.TextChoices):
    DOORSTOP = "doorstop", "Doorstop (staff stay at the door)"
    ENTER_HOME = "enter_home", "Entering the home"


class Status(models.TextChoices):
    DRAFT = "draft", "Draft"
    SUBMITTED = "submitted", "Awaiting authorisation"
    CHANGES_REQUESTED = "changes_requested", "Changes requested"
    AUTHORISED = "authorised", "Authorised"
    REFUSED = "refused", "Refused"
    ON_THE_WAY = "on_the_way", "On the way"
    ON_SITE = "on_site", "Arrived"
    COMPLETED = "completed", "Completed"
    CLOSED = "closed", "Closed"
    CANCELLED = "cancelled", "Cancelled"


# States in which the request itself may still be edited.
EDITABLE_STATES = frozenset(
    {Status.DRAFT, Status.CHANGES_REQUESTED, Status.SUBMITTED, Status.AUTHORISED}
)
# States from which a visit may be cancelled from the office or the visit page (every open one
# before staff set off). Once staff are out, only they end it: at the door or by leaving (D1, D3).
CANCELLABLE_STATES = frozenset(
    {Status.DRAFT, Status.SUBMITTED, Status.CHANGES_REQUESTED, Status.AUTHORISED}
)
# The overdue watch runs on these: from authorisation until staff report out (D1, E1).
WATCHED_STATES = frozenset({Status.AUTHORISED, Status.ON_THE_WAY, Status.ON_SITE})


class DeadlineKind(models.TextChoices):
    ARRIVAL = "arrival", "Arrival check-in"
    RETURN = "return", "Leaving check-out"


class DoorReason(models.TextChoices):
    """D3-D6: why a visit was called off at the door; the policies' own reasons."""

    PARENT_ABSENT = "parent_absent", "Parent/carer not present after 10 minutes (D3)"
    PARENT_LATE = "parent_late", "Parent/carer more than 30 minutes late (D3)"
    ANIMALS = "animals", "Dangerous animals not shut away (D4)"
    FELT_UNSAFE = "felt_unsafe", "Felt unsafe: left at once (D5)"
    CHILD_ALONE = "child_alone", "Child found alone or at risk: DSL contacted (D6)"
    OTHER = "other", "Other"

    @classmethod
    def safety_reasons(cls):
        """D5, D6: reasons the headteacher (and for a child at risk, the DSL) must hear of."""
        return {cls.ANIMALS, cls.FELT_UNSAFE, cls.CHILD_ALONE}


class Visit(models.Model):
    school = models.ForeignKey(School, on_delete=models.PROTECT, related_name="visits")
    pupil = models.ForeignKey(Pupil, on_delete=models.PROTECT, related_name="visits")
    status = models.CharField(
        max_length=20, choices=Status.choices, default=Status.DRAFT, db_index=True
    )
    # Bumped on every change; an authoriser's decision names the version they read, so a
    # decision on a request that changed under them is refused (P2).
    version = models.PositiveIntegerField(default=1)

    purpose = models.CharField(max_length=30, choices=Purpose.choices)
    purpose_detail = models.TextField(
        "what the visit is for", help_text="P4: the reason in your own words."
    )
    parent_could_come_to_school = models.BooleanField(
        "could the parent come into school instead?",
        null=True,
        help_text="P4: answer before asking for a home visit.",
    )
    why_not_in_school = models.TextField(
        "why a home visit rather than a meeting in school", blank=True
    )

    planned_start = models.DateTimeField(help_text="P7")
    expected_end = models.DateTimeField(help_text="P7")
    reporting_arrangements = models.TextField(
        "return-to-base and reporting-in arrangements",
        help_text="P7, D1: how staff report in on arrival and on leaving, and where they go after.",
    )
    address = models.TextField(help_text="Where the visit happens; the pupil's address by default.")
    visit_type = models.CharField(max_length=20, choices=VisitType.choices)

    announced = models.BooleanField(
        "parent/carer told in advance", null=True, help_text="P8: announced or unannounced."
    )
    parent_told_how = models.CharField("how the parent/carer was told", max_length=200, blank=True)
    parent_told_at = models.DateTimeField("when the parent/carer was told", null=True, blank=True)
    unannounced_reason = models.TextField("reason for an unannounced visit", blank=True)

    la_told = models.BooleanField(
        "Local Authority / Social Services told",
        default=False,
        help_text="P9: where relevant, told by telephone and confirmed by email or letter.",
    )
    la_contact = models.CharField("who was told", max_length=200, blank=True)
    la_told_at = models.DateTimeField("told by telephone at", null=True, blank=True)
    la_confirmed_at = models.DateTimeField("confirmed by email/letter at", null=True, blank=True)
    joint_professional = models.CharField(
        "joint visit with another professional",
        max_length=200,
        blank=True,
        help_text="Name and agency, if another professional goes too (not school staff).",
    )

    vehicle_description = models.CharField(
        max_length=100, blank=True, help_text="P12: make, model and colour."
    )
    vehicle_registration = models.CharField(max_length=12, blank=True, help_text="P12")
    code_word = models.CharField(
        "emergency code word",
        max_length=50,
        blank=True,
        help_text="P14: agreed by staff and the office; said on the phone, it means call 999.",
    )
    # P16: what staff take with them.
    takes_id_badge = models.BooleanField("official ID badge", default=False)
    takes_charged_mobile = models.BooleanField("charged mobile phone", default=False)
    takes_school_numbers = models.BooleanField("school contact numbers", default=False)
    resources_note = models.CharField("other resources", max_length=200, blank=True)

    created_at = models.DateTimeField(default=timezone.now)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    submitted_at = models.DateTimeField(null=True, blank=True)
    authorised_at = models.DateTimeField(null=True, blank=True)
    refused_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    cancel_reason = models.TextField(blank=True)
    door_reason = models.CharField(
        "called off at the door because", max_length=20, choices=DoorReason.choices, blank=True
    )

    # During the visit (D1, D2): one timestamp per check-in, and the last known position.
    set_off_at = models.DateTimeField(null=True, blank=True)
    arrived_at = models.DateTimeField(null=True, blank=True)
    left_at = models.DateTimeField(null=True, blank=True)
    extended_until = models.DateTimeField(
        null=True, blank=True, help_text="D2: the visit runs on to this time, by extension."
    )
    last_seen_at = models.DateTimeField("last check-in", null=True, blank=True)
    last_position = models.JSONField(
        "last known location", null=True, blank=True, help_text="E2: latitude, longitude, accuracy."
    )
    # The overdue watch (E1). Recomputed by Visit.refresh_deadline() on every change and cleared
    # when the sweep (escalation/services.py: overdue_claim_batch) raises its escalation.
    next_deadline = models.DateTimeField(null=True, blank=True)
    deadline_kind = models.CharField(
        "next deadline is for", max_length=10, choices=DeadlineKind.choices, blank=True
    )

    class Meta:
        ordering = ["planned_start"]
        indexes = [
            models.Index(fields=["school", "planned_start"], name="visit_school_start"),
            # Read every few seconds by the overdue sweep; only watched visits are in it.
            models.Index(
                fields=["next_deadline"],
                name="visit_watched_deadline",
                condition=models.Q(next_deadline__isnull=False),
            ),
        ]

    def __str__(self):
        local = timezone.localtime(self.planned_start)
        return f"Visit to {self.pupil} on {local:%a %d %b %Y %H:%M}"

    def get_absolute_url(self):
        return reverse("visit-detail", args=[self.pk])

    @property
    def is_editable(self):
        return self.status in EDITABLE_STATES

    @property
    def is_cancellable(self):
        return self.status in CANCELLABLE_STATES

    @property
    def is_watched(self):
        """The overdue watch applies: authorised and not yet reported out (D1, E1)."""
        return self.status in WATCHED_STATES

    def expected_back(self):
        """When staff are due to leave the address: the expected end or its extension (D2)."""
        if self.extended_until and self.extended_until > self.expected_end:
            return self.extended_until
        return self.expected_end

    def expected_arrival(self):
        if self.extended_until and self.extended_until > self.planned_start:
            return self.extended_until
        return self.planned_start

    def expected(self):
        """The one clock (E1): (when staff are expected, "arrive" or "back"), for a watched visit.

        Every screen and message counts "overdue" from this moment, the plan (or its extension),
        not from the deadline: the deadline is this plus the school's tolerance or grace, the
        moment the office is alerted.
        """
        if self.status in (Status.AUTHORISED, Status.ON_THE_WAY):
            return self.expected_arrival(), "arrive"
        return self.expected_back(), "back"

    def overdue_minutes(self, now):
        """Whole minutes past the expected moment (0 when not yet due)."""
        expected, _ = self.expected()
        return max(0, int((now - expected).total_seconds() // 60))

    def compute_deadline(self):
        """The next moment a missing check-in alerts the office (D1, E1), or (None, "").

        Arrival: the planned start (or an extension the office agreed) plus the school's
        tolerance. Return: the expected end (or its extension) plus the grace period.
        """
        school = self.school
        if self.status in (Status.AUTHORISED, Status.ON_THE_WAY):
            tolerance = datetime.timedelta(minutes=school.arrival_tolerance_minutes)
            return self.expected_arrival() + tolerance, DeadlineKind.ARRIVAL
        if self.status == Status.ON_SITE:
            grace = datetime.timedelta(minutes=school.grace_minutes)
            return self.expected_back() + grace, DeadlineKind.RETURN
        return None, ""

    def refresh_deadline(self):
        """Set the watched deadline from the visit's state; return the fields to save."""
        self.next_deadline, self.deadline_kind = self.compute_deadline()
        return ["next_deadline", "deadline_kind"]

    @property
    def is_lone(self):
        return len(self.staff_members()) == 1

    def staff_members(self):
        """The one or two staff going, in the order they were named (prefetch-friendly)."""
        return [assignment.user for assignment in self.assignments.all()]

    def staff_user_ids(self):
        return {assignment.user_id for assignment in self.assignments.all()}

    def current_authorisation(self):
        return self.authorisations.filter(
            decision=Decision.APPROVED, withdrawn_at__isnull=True
        ).first()


class VisitStaff(models.Model):
    """One of the (at most two, P3) members of staff on a visit, with the mobile they carry."""

    visit = models.ForeignKey(Visit, on_delete=models.CASCADE, related_name="assignments")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    mobile = PhoneField(help_text="P13: the mobile carried on this visit.")
    position = models.PositiveSmallIntegerField(default=1)

    class Meta:
        ordering = ["position"]
        constraints = [
            models.UniqueConstraint(fields=["visit", "user"], name="unique_staff_per_visit"),
            models.UniqueConstraint(fields=["visit", "position"], name="unique_position_per_visit"),
            # P3: never more than two staff; the database refuses a third whatever the path.
            models.CheckConstraint(
                condition=models.Q(position__gte=1, position__lte=2), name="at_most_two_staff"
            ),
        ]
        verbose_name = "member of staff on a visit"
        verbose_name_plural = "staff on visits"

    def __str__(self):
        return f"{self.user.get_full_name() or self.user} ({uk(self.mobile)})"


class RiskAssessment(models.Model):
    """P5: the questions of the policies, answered before authorisation."""

    visit = models.OneToOneField(Visit, on_delete=models.CASCADE, related_name="risk_assessment")
    known_about_family = models.TextField("what is known about the child and family")
    unknowns = models.TextField("what is unknown, and how could that increase the risk", blank=True)
    little_known = models.BooleanField(
        "little is known about this family", null=True, help_text="P6"
    )
    other_professionals = models.TextField(
        "allocated social worker / other professionals involved", blank=True
    )
    joint_visit_considered = models.BooleanField(
        "a joint visit with another professional was considered", null=True
    )
    joint_visit_notes = models.TextField("joint visit: decision and why", blank=True)
    previous_aggression = models.BooleanField(
        "previous contact led to anger, aggression or distress", null=True, help_text="P6"
    )
    previous_aggression_details = models.TextField(blank=True)
    contentious_issues = models.BooleanField(
        "the visit is likely to address contentious issues", null=True, help_text="P6"
    )
    contentious_details = models.TextField(blank=True)
    animals = models.BooleanField("animals at the home", null=True, help_text="D4")
    animals_details = models.TextField(blank=True)
    parking_and_valuables = models.TextField(
        "parking and valuables", blank=True, help_text="Where to park for a quick exit; valuables."
    )
    vehicle_insured = models.BooleanField("vehicle insurance covers business use", null=True)
    completed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    completed_at = models.DateTimeField(default=timezone.now)

    # The answers an authorisation covers (P2): a change to any of them withdraws it.
    ANSWER_FIELDS = (
        "known_about_family",
        "unknowns",
        "little_known",
        "other_professionals",
        "joint_visit_considered",
        "joint_visit_notes",
        "previous_aggression",
        "previous_aggression_details",
        "contentious_issues",
        "contentious_details",
        "animals",
        "animals_details",
        "parking_and_valuables",
        "vehicle_insured",
    )

    # P5: yes/no questions that must be answered; an unanswered one is None, never "no".
    YES_NO_QUESTIONS = (
        "little_known",
        "joint_visit_considered",
        "previous_aggression",
        "contentious_issues",
        "animals",
        "vehicle_insured",
    )

    def __str__(self):
        return f"Risk assessment for {self.visit}"

    def unanswered(self):
        return [
            self._meta.get_field(name).verbose_name
            for name in self.YES_NO_QUESTIONS
            if getattr(self, name) is None
        ]

    def needs_two_staff_to_enter(self):
        """P6: entering the home in these circumstances always needs two staff.

        The pupil's record counts as well as the answers: a flag of previous aggression on the
        record cannot be unticked away on one visit's form.
        """
        return bool(
            self.little_known
            or self.previous_aggression
            or self.contentious_issues
            or self.visit.pupil.previous_aggression
        )

    def risk_flags(self):
        flags = []
        if self.little_known:
            flags.append("Little is known about the family")
        if self.previous_aggression or self.visit.pupil.previous_aggression:
            flags.append("Previous anger or aggression")
        if self.contentious_issues:
            flags.append("Contentious issues")
        if self.animals:
            flags.append("Animals at the home")
        elif self.visit.pupil.has_animals:
            # An explained "no" against the pupil's record: the authoriser reads why (D4).
            flags.append(
                "The pupil's record says animals; the planner says none now: "
                f"{self.animals_details}"
            )
        if self.vehicle_insured is not True:
            flags.append("Vehicle insurance for business use not confirmed")
        return flags

    def answers(self):
        return {name: getattr(self, name) for name in self.ANSWER_FIELDS}


class Decision(models.TextChoices):
    APPROVED = "approved", "Authorised"
    REFUSED = "refused", "Refused"
    CHANGES_REQUESTED = "changes_requested", "Sent back for changes"


class Authorisation(models.Model):
    """An authoriser's decision on a visit, with exactly what they decided on (P1, P2, P10)."""

    visit = models.ForeignKey(Visit, on_delete=models.CASCADE, related_name="authorisations")
    decision = models.CharField(max_length=20, choices=Decision.choices)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    decided_as = models.CharField("role of the authoriser", max_length=20, choices=Role.choices)
    decided_at = models.DateTimeField()
    reason = models.TextField(blank=True)
    lone_visit_reason = models.TextField(
        blank=True, help_text="P3: the recorded reason a DSL/SLT allowed this visit as lone."
    )
    visit_version = models.PositiveIntegerField()
    snapshot = models.JSONField(help_text="P2: staff, times, address, type and risk answers.")
    withdrawn_at = models.DateTimeField(null=True, blank=True)
    withdrawn_reason = models.TextField(blank=True)

    class Meta:
        ordering = ["-decided_at"]
        constraints = [
            # One decision per version: two authorisers acting at once cannot both win.
            models.UniqueConstraint(
                fields=["visit", "visit_version"], name="one_decision_per_visit_version"
            )
        ]

    def __str__(self):
        return (
            f"{self.get_decision_display()} by {self.decided_by} "
            f"{timezone.localtime(self.decided_at):%Y-%m-%d %H:%M}"
        )

    def covered(self):
        """P2: what this decision covered, read back from its snapshot for people to see."""
        snap = self.snapshot or {}
        parse = datetime.datetime.fromisoformat
        return {
            "staff": [person["name"] for person in snap.get("staff", [])],
            "planned_start": parse(snap["planned_start"]) if snap.get("planned_start") else None,
            "expected_end": parse(snap["expected_end"]) if snap.get("expected_end") else None,
            "address": snap.get("address", ""),
            "visit_type": VisitType(snap["visit_type"]).label
            if snap.get("visit_type") in VisitType.values
            else "",
            "risk_answers_recorded": snap.get("risk_answers") is not None,
        }


class EventKind(models.TextChoices):
    CREATED = "created", "Visit requested"
    UPDATED = "updated", "Details changed"
    RISK_ASSESSED = "risk_assessed", "Risk assessment recorded"
    SUBMITTED = "submitted", "Submitted for authorisation"
    AUTHORISED = "authorised", "Authorised"
    REFUSED = "refused", "Refused"
    CHANGES_REQUESTED = "changes_requested", "Sent back for changes"
    AUTHORISATION_WITHDRAWN = "authorisation_withdrawn", "Authorisation withdrawn"
    COMPLETED = "completed", "Completed"
    CLOSED = "closed", "Closed"
    CANCELLED = "cancelled", "Cancelled"
    SET_OFF = "set_off", "Set off"
    ARRIVED = "arrived", "Arrived (D1)"
    EXTENDED = "extended", "Visit extended (D2)"
    LEFT = "left", "Left safely (D1)"
    CANCELLED_AT_DOOR = "cancelled_at_door", "Called off at the door"
    HELP = "help", "I need help (E3)"
    ESCALATION_RAISED = "escalation_raised", "Office alerted (E1)"
    POLICE_STEP = "police_step", "Police step raised (E2)"
    ACKNOWLEDGED = "acknowledged", "Alert acknowledged"
    CALL = "call", "Office call recorded"
    POLICE_CALLED = "police_called", "Police called (E2)"
    ESCALATION_RESOLVED = "escalation_resolved", "Alert resolved"
    NOTIFICATION_SENT = "notification_sent", "Message sent"
    NOTIFICATION_DELIVERED = "notification_delivered", "Message delivered"
    NOTIFICATION_FAILED = "notification_failed", "Message failed"
    SAFETY_REPORTED = "safety_reported", "Reported to the headteacher (D5)"
    MINUTES_SUBMITTED = "minutes_submitted", "Minutes submitted (A1)"
    DEBRIEF_RECORDED = "debrief_recorded", "Debrief recorded (A6)"


class VisitEvent(models.Model):
    """The visit's timeline: who did what, when, and what changed. Append-only."""

    # Null only for a drill's events, which belong to its escalation alone.
    visit = models.ForeignKey(Visit, null=True, on_delete=models.CASCADE, related_name="events")
    escalation = models.ForeignKey(
        "escalation.Escalation",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="events",
    )
    kind = models.CharField(max_length=40, choices=EventKind.choices)
    at = models.DateTimeField(default=timezone.now, db_index=True)
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+"
    )
    from_status = models.CharField("status before", max_length=20, blank=True)
    to_status = models.CharField("status after", max_length=20, blank=True)
    message = models.TextField(blank=True)
    data = models.JSONField("details", default=dict, blank=True)

    class Meta:
        ordering = ["at", "pk"]
        verbose_name = "timeline entry"
        verbose_name_plural = "timeline entries"

    def __str__(self):
        when = timezone.localtime(self.at)
        about = f"visit {self.visit_id}" if self.visit_id else f"drill {self.escalation_id}"
        return f"{self.get_kind_display()} – {about} at {when:%Y-%m-%d %H:%M}"
