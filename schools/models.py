import datetime

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models, transaction
from django.urls import reverse
from django.utils import timezone

from .phones import PhoneField


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
# E1, A7: the roles that keep the school's calendar and on-call rota (schools/access.py).
CALENDAR_ROLES = frozenset({Role.HEADTEACHER, Role.OFFICE})
# A8: the roles that read safeguarding records (concerns, minutes, the pupil's file). Given only
# with a second person's approval (schools/roles.py), never by the school admin alone.
APPROVAL_ROLES = frozenset({Role.DSL, Role.DEPUTY_DSL, Role.HEADTEACHER})
# A8: the roles that see every pupil's known risks, social worker and carers' contacts; anyone
# else sees them only for pupils they plan or go to see (schools/access.py).
PUPIL_DETAIL_ROLES = OVERSIGHT_ROLES


class LoneVisitPolicy(models.TextChoices):
    NEVER = "never", "Never: every visit has two staff"
    DSL = "dsl", "Only by decision of the DSL or a deputy DSL"
    DSL_OR_SLT = "dsl_or_slt", "By decision of the DSL, a deputy DSL, the headteacher or SLT"


class Nation(models.TextChoices):
    """The UK nation whose bank holidays close the school (schools/calendar.py)."""

    ENGLAND = "england", "England"
    WALES = "wales", "Wales"
    SCOTLAND = "scotland", "Scotland"
    NORTHERN_IRELAND = "northern_ireland", "Northern Ireland"


class School(models.Model):
    name = models.CharField(max_length=200)
    slug = models.SlugField(unique=True, help_text="Short code used in CSV imports.")
    nation = models.CharField(
        max_length=20,
        choices=Nation.choices,
        default=Nation.ENGLAND,
        help_text="E1, A7: its bank holidays are not school days: the office is closed (alerts "
        "go to whoever is on call) and reminders wait for the next school day.",
    )

    # P1: which roles may authorise a visit.
    headteacher_may_authorise = models.BooleanField(
        "the headteacher may authorise",
        default=True,
        help_text="P1: the Principal/Headteacher may authorise visits.",
    )
    dsl_may_authorise = models.BooleanField(
        "the DSL may authorise",
        default=True,
        help_text="P1: the DSL and deputy DSLs may authorise visits.",
    )
    slt_may_authorise = models.BooleanField(
        "SLT may authorise", default=True, help_text="P1: members of SLT may authorise visits."
    )
    # P3: whether a lone visit may ever be approved, and by whom.
    lone_visit_policy = models.CharField(
        "who may allow a lone visit",
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
    office_phone = PhoneField(
        blank=True,
        help_text="E2: printed on the police-contact instructions and said on alert calls.",
    )
    office_opens_at = models.TimeField(
        default=datetime.time(8, 0),
        help_text="E1: the office is open between these times on school days only; at other "
        "times (evenings, weekends, holidays, bank holidays, INSET days) alerts go on call.",
    )
    office_closes_at = models.TimeField(default=datetime.time(17, 0))
    # Used by check-in and escalation (D1, E1, E2).
    arrival_tolerance_minutes = models.PositiveSmallIntegerField(
        "minutes to wait for an arrival",
        default=15,
        help_text="D1: minutes after the planned start before a missing arrival alerts.",
    )
    grace_minutes = models.PositiveSmallIntegerField(
        "minutes to wait for staff back",
        default=15,
        help_text="E1: minutes after the expected end before the office is alerted.",
    )
    escalation_step2_minutes = models.PositiveSmallIntegerField(
        "minutes before the police step",
        default=15,
        help_text="E2: minutes an unresolved office alert waits before the police step.",
    )
    alert_repeat_minutes = models.PositiveSmallIntegerField(
        "minutes before an unanswered alert goes again",
        default=5,
        validators=[MinValueValidator(1), MaxValueValidator(30)],
        help_text="E1-E3: minutes an alert nobody has answered waits before its messages go "
        "again, each time to more people, until someone answers.",
    )

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name

    def refresh_from_db(self, *args, **kwargs):
        # office_is_open keeps the school's calendar on the instance (schools/calendar.py).
        self.__dict__.pop("_calendar", None)
        super().refresh_from_db(*args, **kwargs)

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
        """E1: open on a school day between its opening and closing times, London time; out of
        hours (evenings, weekends, holidays) step 1 goes to whoever is on call instead.

        Called by the overdue sweep for every alert: the time of day is checked first, so only
        an alert in office hours reads the calendar (bank holidays are cached per process; the
        terms and closure days are one query per school instance, none if prefetched).
        """
        from .calendar import is_school_day, local

        moment = local(at)
        if not self.office_opens_at <= moment.time() < self.office_closes_at:
            return False
        return is_school_day(self, moment.date())

    def lone_visit_deciding_roles(self):
        """P3: the roles whose explicit decision allows a lone visit (empty: never)."""
        if self.lone_visit_policy == LoneVisitPolicy.DSL:
            return {Role.DSL, Role.DEPUTY_DSL}
        if self.lone_visit_policy == LoneVisitPolicy.DSL_OR_SLT:
            return {Role.DSL, Role.DEPUTY_DSL, Role.HEADTEACHER, Role.SLT}
        return set()


class MembershipManager(models.Manager):
    def keeps_calendar(self):
        """For the menu only, as `user.memberships.keeps_calendar`: whether this person keeps a
        school's calendar and on-call rota (E1, A7; the rule is schools/access.py). Read from the
        roles the menu has already loaded (schools.selectors.all_roles): no query."""
        from .selectors import all_roles

        if not hasattr(self, "instance"):
            raise TypeError("Ask a person's memberships: user.memberships.keeps_calendar().")
        return bool(all_roles(self.instance) & CALENDAR_ROLES)

    def sees_role_requests(self):
        """For the menu only, as `user.memberships.sees_role_requests`: whether the page of
        roles waiting for approval is for this person (A8; the rule is schools/access.py
        may_see_role_requests). Read from the roles the menu has already loaded: no query."""
        from .selectors import all_roles

        if not hasattr(self, "instance"):
            raise TypeError("Ask a person's memberships: user.memberships.sees_role_requests().")
        user = self.instance
        return user.is_superuser or bool(all_roles(user) & {Role.HEADTEACHER, Role.SCHOOL_ADMIN})


class Membership(models.Model):
    """A person's role at a school; a person may hold several roles at several schools."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    school = models.ForeignKey(School, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=20, choices=Role.choices)

    objects = MembershipManager()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["user", "school", "role"], name="unique_membership_role"
            )
        ]
        ordering = ["school", "user__last_name", "role"]
        # The README's words: people hold "roles at schools".
        verbose_name = "role at a school"
        verbose_name_plural = "roles at schools"

    def __str__(self):
        return f"{self.user} – {self.get_role_display()} at {self.school}"


class RoleRequestOutcome(models.TextChoices):
    WAITING = "waiting", "Waiting for approval"
    APPROVED = "approved", "Approved"
    REFUSED = "refused", "Refused"


class RoleRequest(models.Model):
    """A8: a role that reads safeguarding records (APPROVAL_ROLES), asked for by one person and
    given only when a second approves it (schools/roles.py). Kept after the decision: who asked,
    who decided, when, and why a refusal."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="role_requests",
        verbose_name="for",
    )
    school = models.ForeignKey(School, on_delete=models.CASCADE, related_name="role_requests")
    role = models.CharField(max_length=20, choices=Role.choices)
    asked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    asked_at = models.DateTimeField(default=timezone.now)
    outcome = models.CharField(
        max_length=10,
        choices=RoleRequestOutcome.choices,
        default=RoleRequestOutcome.WAITING,
        db_index=True,
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    reason = models.TextField(blank=True, help_text="Why it was refused.")

    class Meta:
        ordering = ["-asked_at", "-pk"]
        constraints = [
            # One open question per person, school and role: asking twice is the same request.
            models.UniqueConstraint(
                fields=["user", "school", "role"],
                condition=models.Q(outcome="waiting"),
                name="one_waiting_role_request",
            )
        ]

    def __str__(self):
        return f"{self.get_role_display()} for {self.user} at {self.school}"

    @property
    def is_waiting(self):
        return self.outcome == RoleRequestOutcome.WAITING

    @property
    def needs_trust_admin(self):
        """A8: the headteacher approves, except the headteacher role itself, or where the
        school has no headteacher but the person it is for (nobody approves their own role):
        then the trust's admin (a superuser) does."""
        if self.role == Role.HEADTEACHER:
            return True
        heads = Membership.objects.filter(
            school_id=self.school_id, role=Role.HEADTEACHER, user__is_active=True
        )
        return not heads.exclude(user_id=self.user_id).exists()


class StaffProfile(models.Model):
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="staff_profile"
    )
    mobile = PhoneField(
        blank=True,
        help_text="P13: the mobile the member of staff carries on visits; the office sees it. "
        "Alerts are texted and, out of hours, rung to it (E1).",
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
        "UPN (unique pupil number)", max_length=20, help_text="The key for CSV imports."
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
    phone = PhoneField(blank=True)
    email = models.EmailField(blank=True)
    address = models.TextField(blank=True, help_text="Only if different from the pupil's.")
    lives_with_pupil = models.BooleanField(default=True)

    class Meta:
        ordering = ["pupil", "-parental_responsibility", "name"]

    def __str__(self):
        return f"{self.name} ({self.relationship or 'carer'} of {self.pupil})"


# The school calendar (schools/calendar.py decides what a school day is) and the on-call rota.


class ChangeAction(models.TextChoices):
    ADDED = "added", "Added"
    CHANGED = "changed", "Changed"
    DELETED = "deleted", "Deleted"


class CalendarChange(models.Model):
    """Who changed the rota or the calendar, and when; a deleted entry leaves this row behind."""

    school = models.ForeignKey(School, on_delete=models.CASCADE, related_name="calendar_changes")
    action = models.CharField(max_length=10, choices=ChangeAction.choices)
    what = models.CharField(max_length=300)
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-at", "-pk"]

    def __str__(self):
        return f"{self.get_action_display()}: {self.what}"


class CalendarEntry(models.Model):
    """A row of a school's calendar or rota: it records who added and last changed it, and
    every change (deletion included) leaves a CalendarChange."""

    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        abstract = True

    def save_by(self, *, by, now):
        """Save, stamped with who and when, and record the change."""
        action = ChangeAction.CHANGED if self.pk else ChangeAction.ADDED
        if not self.pk:
            self.created_by, self.created_at = by, now
        self.updated_by, self.updated_at = by, now
        with transaction.atomic():
            self.save()
            self._record(action, by=by, now=now)
        return self

    def delete_by(self, *, by, now):
        with transaction.atomic():
            self._record(ChangeAction.DELETED, by=by, now=now)
            self.delete()

    def _record(self, action, *, by, now):
        what = f"{self._meta.verbose_name.capitalize()}: {self}"
        CalendarChange.objects.create(
            school_id=self.school_id, action=action, what=what[:300], by=by, at=now
        )


class Term(CalendarEntry):
    """A7, E1: a term or half term; the days between terms are holidays."""

    school = models.ForeignKey(School, on_delete=models.CASCADE, related_name="terms")
    name = models.CharField(max_length=100, help_text="As the school calls it, e.g. Autumn 1.")
    starts_on = models.DateField("first day")
    ends_on = models.DateField("last day")

    class Meta:
        ordering = ["school", "starts_on"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(ends_on__gte=models.F("starts_on")),
                name="term_ends_on_or_after_start",
                violation_error_message="The last day of a term cannot be before its first day.",
            )
        ]

    def __str__(self):
        return f"{self.name}, {self.starts_on:%a %d %b %Y} to {self.ends_on:%a %d %b %Y}"

    def clean(self):
        super().clean()
        first, last = self.starts_on, self.ends_on
        if first is None or last is None or self.school_id is None:
            return
        if last < first:
            raise ValidationError({"ends_on": "The last day cannot be before the first day."})
        if (last - first).days > 366:
            raise ValidationError({"ends_on": "A term cannot be longer than a year."})
        clash = (
            Term.objects.filter(school_id=self.school_id, starts_on__lte=last, ends_on__gte=first)
            .exclude(pk=self.pk)
            .first()
        )
        if clash:
            raise ValidationError(
                f"These dates overlap {clash}. Terms cannot overlap: change that term instead (A7)."
            )


class ClosureReason(models.TextChoices):
    INSET = "inset", "INSET (training) day"
    OTHER = "other", "Other closure"


class ClosureDay(CalendarEntry):
    """A7, E1: a weekday in term when the school is closed to pupils: not a school day."""

    school = models.ForeignKey(School, on_delete=models.CASCADE, related_name="closure_days")
    date = models.DateField()
    reason = models.CharField(max_length=10, choices=ClosureReason.choices)
    note = models.CharField(
        max_length=200, blank=True, help_text="What it is for, e.g. polling station."
    )

    class Meta:
        ordering = ["school", "date"]
        constraints = [
            models.UniqueConstraint(fields=["school", "date"], name="unique_closure_day")
        ]

    def __str__(self):
        return f"{self.get_reason_display()}, {self.date:%a %d %b %Y}"

    def clean(self):
        super().clean()
        if self.date is None or self.school_id is None:
            return
        from .calendar import bank_holidays

        if self.date.weekday() >= 5:
            raise ValidationError(
                {"date": f"{self.date:%A %d %B %Y} is a weekend day: it is never a school day."}
            )
        holiday = bank_holidays(self.school.nation, self.date.year).get(self.date)
        if holiday:
            raise ValidationError(
                {
                    "date": f"{self.date:%A %d %B %Y} is a bank holiday ({holiday}): the school is "
                    "closed anyway."
                }
            )
        taken = ClosureDay.objects.filter(school_id=self.school_id, date=self.date)
        if taken.exclude(pk=self.pk).exists():
            raise ValidationError({"date": f"{self.date:%A %d %B %Y} is already a closure day."})


class ShiftKind(models.TextChoices):
    ROTA = "rota", "Rota"
    OVERRIDE = "override", "Cover or swap"


class OnCallShift(CalendarEntry):
    """E1: a person on call for the school, from one instant to another.

    The usual pattern is made of `rota` shifts. Cover and swaps are `override` shifts: for
    their times the person on the override is called before anyone on the rota
    (schools.selectors.on_call_at).
    """

    school = models.ForeignKey(School, on_delete=models.CASCADE, related_name="on_call_shifts")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="on_call_shifts",
        verbose_name="person on call",
    )
    starts_at = models.DateTimeField("from")
    ends_at = models.DateTimeField("until")
    kind = models.CharField(
        max_length=10,
        choices=ShiftKind.choices,
        default=ShiftKind.ROTA,
        help_text="E1: Rota for the usual pattern. Cover or swap for a change to it: for its "
        "times this person is called first, before whoever is on the rota. A swap is recorded "
        "as cover: one entry for each person, each for the other's times.",
    )
    note = models.CharField(max_length=200, blank=True, help_text="E.g. swap with Helen.")

    class Meta:
        verbose_name = "on-call shift"
        ordering = ["school", "starts_at"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(ends_at__gt=models.F("starts_at")),
                name="on_call_shift_ends_after_start",
                violation_error_message="An on-call shift must end after it starts.",
            )
        ]
        indexes = [
            # schools.selectors.on_call_at and the gap check: a school's shifts not yet over.
            models.Index(fields=["school", "ends_at"], name="on_call_school_ends_idx")
        ]

    def __str__(self):
        start, end = timezone.localtime(self.starts_at), timezone.localtime(self.ends_at)
        who = self.user.get_full_name() or self.user.get_username()
        kind = " (cover or swap)" if self.kind == ShiftKind.OVERRIDE else ""
        return f"{who}, {start:%a %d %b %Y %H:%M} to {end:%a %d %b %Y %H:%M}{kind}"

    def clean(self):
        super().clean()
        start, end = self.starts_at, self.ends_at
        if start is not None and end is not None:
            if end <= start:
                raise ValidationError({"ends_at": "The end must be after the start."})
            if end - start > MAX_SHIFT:
                raise ValidationError(
                    {"ends_at": "A shift can be at most 31 days long: enter it as several shifts."}
                )
        if self.user_id is None or self.school_id is None:
            return
        person = self.user.get_full_name() or self.user.get_username()
        if not (
            self.user.is_active
            and Membership.objects.filter(user_id=self.user_id, school_id=self.school_id).exists()
        ):
            raise ValidationError(
                {
                    "user": f"{person} has no role at {self.school}: only its staff can be on call "
                    "(E1)."
                }
            )
        if start is None or end is None or end <= start:
            return
        clash = (
            OnCallShift.objects.filter(
                school_id=self.school_id,
                user_id=self.user_id,
                kind=self.kind,
                starts_at__lt=end,
                ends_at__gt=start,
            )
            .exclude(pk=self.pk)
            .order_by("starts_at")
            .first()
        )
        if clash:
            when = (
                f"{timezone.localtime(clash.starts_at):%a %d %b %H:%M} to "
                f"{timezone.localtime(clash.ends_at):%a %d %b %H:%M}"
            )
            what = "on the rota" if self.kind == ShiftKind.ROTA else "covering"
            raise ValidationError(
                f"{person} is already {what} from {when}, which overlaps these times. Change "
                "that shift instead (E1)."
            )


# A typing slip (a year for a day) would otherwise put someone on call for months.
MAX_SHIFT = datetime.timedelta(days=31)
