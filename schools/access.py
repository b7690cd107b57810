"""Who may do what in schools/: keep the calendar and on-call rota (E1, A7), see a pupil's
sensitive details (A8, need to know), give, approve and take away roles (A8, separation of
duties).

Anyone who may not know a page or a record exists is answered 404.
"""

import datetime

from django.db.models import BooleanField, Case, Q, Value, When
from django.http import Http404
from django.shortcuts import get_object_or_404
from django.utils import timezone

from .models import (
    APPROVAL_ROLES,
    CALENDAR_ROLES,
    PUPIL_DETAIL_ROLES,
    ClosureDay,
    Membership,
    OnCallShift,
    Pupil,
    Role,
    RoleRequest,
    School,
    Term,
)
from .selectors import roles_at, schools_for


def calendar_schools(user):
    """The schools whose calendar and rota `user` keeps."""
    if not user.is_authenticated:
        return School.objects.none()
    return schools_for(user, roles=CALENDAR_ROLES)


def may_keep_calendar(user, school):
    return bool(roles_at(user, school) & CALENDAR_ROLES)


def get_school_for(user, slug):
    """The school with this slug, or 404 unless `user` keeps its calendar and rota."""
    school = calendar_schools(user).filter(slug=slug).first()
    if school is None:
        raise Http404("No such school.")
    return school


_ENTRIES = {"shift": OnCallShift, "term": Term, "closure": ClosureDay}


def get_entry_for(user, slug, kind, pk):
    """A shift, term or closure day of the school, or 404 unless `user` keeps its calendar."""
    school = get_school_for(user, slug)
    entry = get_object_or_404(_ENTRIES[kind].objects.select_related("school"), school=school, pk=pk)
    return school, entry


# A8, need to know: a pupil's known risks (and the flags for animals and aggression), allocated
# social worker and carers' contact details are seen by the office, the DSL, deputies, the
# headteacher and SLT of the pupil's school (PUPIL_DETAIL_ROLES); anyone else of the school sees
# them only for a pupil they plan or go to see: a visit to the pupil they asked for or are on,
# still open or ended (closed, cancelled, refused) within NEED_TO_KNOW_WINDOW, long enough to
# write the minutes and follow up the actions (A1, A7) with the details at hand.
NEED_TO_KNOW_WINDOW = datetime.timedelta(days=30)


def _pupils_visited_by(user, now):
    """The pupils `user` is on, or asked for, a visit to (open or recently ended).

    Spelled from the Pupil side with the reverse names of visits' foreign keys (Pupil.visits,
    Visit.assignments), so that this rule stays in one place in schools/ without schools
    importing visits (ARCHITECTURE.md: schools is floor 1). Every condition is in one filter()
    call, so all of them hold for the same visit; none is negated, as a negated condition on a
    multi-valued relation would be asked of any visit of the pupil, not of this one.
    """
    since = now - NEED_TO_KNOW_WINDOW
    theirs = Q(visits__assignments__user=user) | Q(visits__created_by=user)
    live = (
        Q(
            visits__closed_at__isnull=True,
            visits__cancelled_at__isnull=True,
            visits__refused_at__isnull=True,
        )
        | Q(visits__closed_at__gte=since)
        | Q(visits__cancelled_at__gte=since)
        | Q(visits__refused_at__gte=since)
    )
    return Pupil.objects.filter(theirs & live).values("pk")


def with_need_to_know(user, pupils, *, now=None):
    """`pupils` with `details_visible` on each: whether `user` may see its known risks, social
    worker and carers' contacts (A8). One query for the whole list."""
    if not user.is_authenticated:
        return pupils.annotate(details_visible=Value(False, output_field=BooleanField()))
    now = now or timezone.now()
    senior = Q(school__in=schools_for(user, roles=PUPIL_DETAIL_ROLES))
    visited = Q(pk__in=_pupils_visited_by(user, now))
    return pupils.annotate(
        details_visible=Case(
            When(senior | visited, then=Value(True)),
            default=Value(False),
            output_field=BooleanField(),
        )
    )


def may_see_pupil_details(user, pupil, *, now=None):
    """A8: whether `user` may see this pupil's known risks, social worker and carers' contacts."""
    if roles_at(user, pupil.school_id) & PUPIL_DETAIL_ROLES:
        return True
    now = now or timezone.now()
    return _pupils_visited_by(user, now).filter(pk=pupil.pk).exists()


# A8, separation of duties (schools/roles.py): who gives, approves and takes away roles.


def may_manage_roles(user, school):
    """Roles at a school are given by its school admin or the trust's admin (a superuser)."""
    return user.is_superuser or Role.SCHOOL_ADMIN in roles_at(user, school)


def may_manage_person(by, user):
    """`by` may look after this person's account (a password reset link): the trust's admin,
    or a school admin of every school where the person has a role (a new starter with no role
    yet: any school admin). Never a superuser's account, unless `by` is one."""
    if by.is_superuser:
        return True
    if user.is_superuser:
        return False
    administered = set(schools_for(by, roles=[Role.SCHOOL_ADMIN]).values_list("pk", flat=True))
    theirs = set(Membership.objects.filter(user=user).values_list("school_id", flat=True))
    return bool(administered) and theirs <= administered


def may_remove_role(by, membership):
    """The school admin and the trust's admin take any role away; the headteacher takes away a
    role that reads safeguarding records (someone should not have it)."""
    if may_manage_roles(by, membership.school_id):
        return True
    return membership.role in APPROVAL_ROLES and Role.HEADTEACHER in roles_at(
        by, membership.school_id
    )


def why_not_decide(user, role_request):
    """None if `user` may approve or refuse the request, else why not, in a sentence (A8)."""
    if user.pk == role_request.asked_by_id:
        return "You asked for this role: a second person must approve or refuse it (A8)."
    if user.pk == role_request.user_id:
        return "Nobody approves or refuses a role for themselves (A8)."
    if role_request.needs_trust_admin:
        if user.is_superuser:
            return None
        if role_request.role == Role.HEADTEACHER:
            return "The headteacher role is approved by the trust's admin (A8)."
        return (
            f"{role_request.school} has no other headteacher: the trust's admin approves this "
            "role (A8)."
        )
    if Role.HEADTEACHER in roles_at(user, role_request.school_id):
        return None
    return f"Only the headteacher of {role_request.school} approves this role (A8)."


def may_see_role_requests(user):
    """The page of roles waiting for approval: headteachers, school admins, the trust's admin."""
    if not user.is_authenticated:
        return False
    if user.is_superuser:
        return True
    return schools_for(user, roles=[Role.HEADTEACHER, Role.SCHOOL_ADMIN]).exists()


def role_requests_for(user):
    """The requests `user` may see: every school's for the trust's admin; their schools' for a
    headteacher or school admin (the school admin sees what they asked for, and what others did)."""
    if not user.is_authenticated:
        return RoleRequest.objects.none()
    requests = RoleRequest.objects.select_related("user", "school", "asked_by", "decided_by")
    if user.is_superuser:
        return requests
    schools = schools_for(user, roles=[Role.HEADTEACHER, Role.SCHOOL_ADMIN])
    return requests.filter(school__in=schools)


def get_role_request_for(user, pk):
    """The request, or 404 for anyone who may not see it."""
    role_request = role_requests_for(user).filter(pk=pk).first()
    if role_request is None:
        raise Http404("No such request.")
    return role_request


def removable_roles_for(user):
    """The safeguarding roles (APPROVAL_ROLES) `user` may take away, for the roles page."""
    roles = Membership.objects.filter(role__in=APPROVAL_ROLES).select_related("user", "school")
    if not user.is_authenticated:
        return roles.none()
    if user.is_superuser:
        return roles
    schools = schools_for(user, roles=[Role.HEADTEACHER, Role.SCHOOL_ADMIN])
    return roles.filter(school__in=schools)


def get_removable_role_for(user, pk):
    membership = removable_roles_for(user).filter(pk=pk).first()
    if membership is None:
        raise Http404("No such role.")
    return membership
