"""The one place that decides whether someone may know a visit exists (A8)."""

from django.contrib.auth import get_user_model
from django.db.models import Count, Exists, OuterRef, Q, Subquery
from django.http import Http404
from guardian.shortcuts import get_objects_for_user

from schools.models import LoneVisitPolicy, Membership, Role
from schools.selectors import schools_for

from .models import Status, Visit, VisitStaff


def visible_visits(user):
    """Every visit the user may see. Superusers get no special pass: A8 applies to all."""
    if not user.is_authenticated:
        return Visit.objects.none()
    # Someone who has left the school keeps their old per-visit grants in guardian's table;
    # A8 still shuts them out, because access also needs a current role at the visit's school.
    return get_objects_for_user(
        user,
        "visits.view_visit",
        klass=Visit,
        accept_global_perms=False,
        with_superuser=False,
    ).filter(school__in=schools_for(user))


def get_visit_for(user, pk):
    """The visit, or 404 for anyone who may not know it exists."""
    visit = (
        visible_visits(user)
        .select_related("school", "pupil", "created_by", "risk_assessment")
        .prefetch_related("assignments__user__staff_profile")
        .filter(pk=pk)
        .first()
    )
    if visit is None:
        raise Http404("No such visit.")
    return visit


def authorisers_of(visit):
    """P1, P3: the people who may decide this visit now: a role the school lets authorise, not
    going on it, and for a lone visit also a role the school lets decide that (the same rule as
    rules.decision_blockers, asked of the school's people rather than of one person)."""
    school = visit.school
    people = (
        get_user_model()
        .objects.filter(is_active=True)
        .filter(memberships__school=school, memberships__role__in=school.authorising_roles())
    )
    if visit.is_lone:
        # A second filter(): the lone-deciding role may be another of the person's roles.
        people = people.filter(
            memberships__school=school,
            memberships__role__in=school.lone_visit_deciding_roles(),
        )
    return people.exclude(pk__in=visit.staff_user_ids()).distinct().order_by("pk")


def awaiting_decision_by(user):
    """P1, P3: the visits waiting for this person's decision (the menu's count), in one query.

    The same rule as authorisers_of and rules.decision_blockers, with the school's settings
    read in SQL (schools.models.School.authorising_roles, lone_visit_deciding_roles): a change
    to those methods is a change here (tests/test_authorisation_notices.py compares them).
    """
    if not user.is_authenticated:
        return Visit.objects.none()
    mine = Membership.objects.filter(user=user, school=OuterRef("school"))
    authorises = (
        Q(role=Role.HEADTEACHER, school__headteacher_may_authorise=True)
        | Q(role__in=(Role.DSL, Role.DEPUTY_DSL), school__dsl_may_authorise=True)
        | Q(role=Role.SLT, school__slt_may_authorise=True)
    )
    decides_lone = Q(
        role__in=(Role.DSL, Role.DEPUTY_DSL),
        school__lone_visit_policy__in=(LoneVisitPolicy.DSL, LoneVisitPolicy.DSL_OR_SLT),
    ) | Q(
        role__in=(Role.HEADTEACHER, Role.SLT),
        school__lone_visit_policy=LoneVisitPolicy.DSL_OR_SLT,
    )
    staff = VisitStaff.objects.filter(visit=OuterRef("pk"))
    staff_count = staff.order_by().values("visit").annotate(n=Count("pk")).values("n")[:1]
    return (
        visible_visits(user)
        .filter(status=Status.SUBMITTED)
        .filter(Exists(mine.filter(authorises)))
        .exclude(Exists(staff.filter(user=user)))
        .alias(staff_count=Subquery(staff_count))
        .filter(Q(staff_count__gte=2) | Exists(mine.filter(decides_lone)))
    )
