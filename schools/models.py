import datetime

from django.conf import settings
from django.db import models
from django.urls import reverse
from django.utils import timezone

from .validators import validate_phone_number


class Role(models.TextChoices):
    OFFICE = "office", "Office"
    VISITING_STAFF = "visiting_staff", "Visiting staff"
    DSL = "dsl", "Designated safeguarding lead (DSL)"
    DEPUTY_DSL = "deputy_dsl", "Deputy DSL"
    HEADTEACHER = "headteacher", "Headteacher / Principal"
    SLT = "slt", "Senior leadership team (SLT)"
    SCHOOL_ADMIN = "school_admin", "School admin"


# A8: the roles that see every visit of their school, beside the staff on the visit.
OVERSIGHT_ROLES = frozenset({Role.OFFICE, Role.DSL, Role.DEPUTY_DSL, Role.HEADTEACHER, Role.SLT})
# P11: the roles that hold the day's schedule are the same people.
SCHEDULE_ROLES = OVERSIGHT_ROLES
# Roles that may authorise, if the school's settings let them (P1).
AUTHORISING_ROLES = frozenset({Role.HEADTEACHER, Role.DSL, Role.DEPUTY_DSL, Role.SLT})
# Everyone but the school admin may plan a visit.
PLANNING_ROLES = frozenset(set(Role) - {Role.SCHOOL_ADMIN})
# Roles that may be sent on a visit.
VISITING_ROLES = frozenset(
    {Role.VISITING_STAFF, Role.DSL, Role.DEPUTY_DSL, Role.HEADTEACHER, Role.SLT}
)


class LoneVisitPolicy(models.TextChoices):
    NEVER = "never", "Never: every visit has two staff"
    DSL = "dsl", "Only by decision of the DSL or a deputy DSL"
    DSL_OR_SLT = "dsl_or_slt", "By decision of the DSL, a deputy DSL, the headteacher or SLT"


class School(models.Model):
    name = models.CharField(max_length=200)
    slug = models.SlugField(unique=True, help_text="Short code used in CSV imports.")

    # P1: which roles may authorise a visit.
    headteacher_may_authorise = models.BooleanField(
        default=True, help_text="P1: the Principal/Headteacher may authorise visits."
    )
    dsl_may_authorise = models.BooleanField(
        default=True, help_text="P1: the DSL and deputy DSLs may authorise visits."
    )
    slt_may_authorise = models.BooleanField(
        default=True, help_text="P1: members of SLT may authorise visits."
    )
    # P3: whether a lone visit may ever be approved, and by whom.
    lone_visit_policy = models.CharField(
        max_length=20,
        choices=LoneVisitPolicy.choices,
        default=LoneVisitPolicy.DSL_OR_SLT,
        help_text="P3: staff go in pairs; a lone visit only by explicit decision of these roles.",
    )
    # P15: no lone evening visit when nobody is at school to back up.
    evening_starts_at = models.TimeField(
        default=datetime.time(17, 0),
        help_text="P15: a lone visit may not run past this time (school's local time).",
    )
    office_phone = models.CharField(
        max_length=40, blank=True, help_text="Printed on the police-contact instructions (E2)."
    )
    out_of_hours_phone = models.CharField(
        max_length=40, blank=True, help_text="On-call senior's mobile when the office is closed."
    )
    office_opens_at = models.TimeField(
        default=datetime.time(8, 0),
        help_text="E1: outside office hours (and at weekends) alerts go to the on-call mobile.",
    )
    office_closes_at = models.TimeField(default=datetime.time(17, 0))
    # Used by check-in and escalation (D1, E1, E2).
    arrival_tolerance_minutes = models.PositiveSmallIntegerField(
        default=15, help_text="D1: minutes after the planned start before a missing arrival alerts."
    )
    grace_minutes = models.PositiveSmallIntegerField(
        default=15, help_text="E1: minutes after the expected end before the office is alerted."
    )
    escalation_step2_minutes = models.PositiveSmallIntegerField(
        default=15,
        help_text="E2: minutes an unresolved office alert waits before the police step.",
    )

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name

    def authorising_roles(self):
        """P1: the roles this school lets authorise a visit."""
        roles = set()
        if self.headteacher_may_authorise:
            roles.add(Role.HEADTEACHER)
        if self.dsl_may_authorise:
            roles |= {Role.DSL, Role.DEPUTY_DSL}
        if self.slt_may_authorise:
            roles.add(Role.SLT)
        return roles

    def office_is_open(self, at):
        """Out of hours (evenings and weekends) step 1 goes to the on-call senior instead (E1)."""
        local = timezone.localtime(at)
        return local.weekday() < 5 and self.office_opens_at <= local.time() < self.office_closes_at

    def lone_visit_deciding_roles(self):
        """P3: the roles whose explicit decision allows a lone visit (empty: never)."""
        if self.lone_visit_policy == LoneVisitPolicy.DSL:
            return {Role.DSL, Role.DEPUTY_DSL}
        if self.lone_visit_policy == LoneVisitPolicy.DSL_OR_SLT:
            return {Role.DSL, Role.DEPUTY_DSL, Role.HEADTEACHER, Role.SLT}
        return set()


class Membership(models.Model):
    """A person's role at a school; a person may hold several roles at several schools."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    school = models.ForeignKey(School, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=20, choices=Role.choices)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["user", "school", "role"], name="unique_membership_role"
            )
        ]
        ordering = ["school", "user__last_name", "role"]

    def __str__(self):
        return f"{self.user} – {self.get_role_display()} at {self.school}"


class StaffProfile(models.Model):
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="staff_profile"
    )
    mobile = models.CharField(
        max_length=40,
        blank=True,
        validators=[validate_phone_number],
        help_text="P13: the mobile the member of staff carries on visits; the office sees it.",
    )
    job_title = models.CharField(max_length=100, blank=True)
    vehicle_description = models.CharField(
        max_length=100, blank=True, help_text="P12: make, model and colour of the usual vehicle."
    )
    vehicle_registration = models.CharField(max_length=12, blank=True)

    def __str__(self):
        return f"Profile of {self.user}"


class Pupil(models.Model):
    school = models.ForeignKey(School, on_delete=models.PROTECT, related_name="pupils")
    upn = models.CharField(
        "UPN", max_length=20, help_text="Unique pupil number; the key for CSV imports."
    )
    first_name = models.CharField(max_length=100)
    last_name = models.CharField(max_length=100)
    date_of_birth = models.DateField()
    year_group = models.CharField(max_length=20, blank=True)
    address = models.TextField(help_text="Home address, one line per line of the address.")
    postcode = models.CharField(max_length=12, blank=True)
    key_worker = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="key_worker_for",
    )
    social_worker_name = models.CharField("allocated social worker", max_length=200, blank=True)
    social_worker_contact = models.CharField(max_length=200, blank=True)
    has_animals = models.BooleanField(default=False, help_text="Known animals at the home (D4).")
    previous_aggression = models.BooleanField(
        default=False, help_text="Previous anger or aggression towards staff (P5, P6)."
    )
    known_risks = models.TextField(blank=True, help_text="Anything staff should know before going.")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["school", "upn"], name="unique_pupil_upn_per_school")
        ]
        ordering = ["last_name", "first_name"]

    def __str__(self):
        return f"{self.first_name} {self.last_name}"

    def get_absolute_url(self):
        return reverse("pupil-detail", args=[self.pk])

    @property
    def full_address(self):
        return "\n".join(part for part in (self.address.strip(), self.postcode.strip()) if part)


class Carer(models.Model):
    pupil = models.ForeignKey(Pupil, on_delete=models.CASCADE, related_name="carers")
    name = models.CharField(max_length=200)
    relationship = models.CharField(max_length=100, blank=True)
    parental_responsibility = models.BooleanField(default=True)
    phone = models.CharField(max_length=40, blank=True)
    email = models.EmailField(blank=True)
    address = models.TextField(blank=True, help_text="Only if different from the pupil's.")
    lives_with_pupil = models.BooleanField(default=True)

    class Meta:
        ordering = ["pupil", "-parental_responsibility", "name"]

    def __str__(self):
        return f"{self.name} ({self.relationship or 'carer'} of {self.pupil})"
