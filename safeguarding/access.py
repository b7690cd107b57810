"""Who may know a concern exists (A8): the DSL, deputies and headteacher of its school, and
the person who raised it. Everyone else gets a 404."""

from django.db.models import Q
from django.http import Http404

from schools.models import Pupil, Role, School
from schools.selectors import roles_at, schools_for

from .models import Concern
from .services import READING_ROLES


def visible_concerns(user):
    if not user.is_authenticated:
        return Concern.objects.none()
    # The raiser keeps sight of their concern only while they hold a role at the school.
    return Concern.objects.filter(
        Q(school__in=schools_for(user, roles=READING_ROLES))
        | Q(raised_by=user, school__in=schools_for(user))
    )


def get_concern_for(user, pk):
    concern = (
        visible_concerns(user)
        .select_related("school", "pupil", "visit", "raised_by", "triaged_by", "closed_by")
        .filter(pk=pk)
        .first()
    )
    if concern is None:
        raise Http404("No such concern.")
    return concern


def visible_minutes(user):
    """A8: minutes are read by the staff on the visit and by the DSL, deputies, headteacher and
    SLT of its school; not by the office, nor by other staff."""
    from .models import Minutes
    from .services.minutes import MINUTES_READING_ROLES

    if not user.is_authenticated:
        return Minutes.objects.none()
    return Minutes.objects.filter(
        Q(visit__school__in=schools_for(user, roles=MINUTES_READING_ROLES))
        | Q(visit__assignments__user=user, visit__school__in=schools_for(user))
    ).distinct()


def get_visit_for_minutes(user, pk):
    """The visit whose minutes `user` may read or write, or 404 (A8). Works before the minutes
    exist, so the staff on the visit can start them."""
    from visits.access import visible_visits

    from .services.minutes import may_read_minutes

    visit = (
        visible_visits(user)
        .select_related("school", "pupil")
        .prefetch_related("assignments__user__staff_profile")
        .filter(pk=pk)
        .first()
    )
    if visit is None or not may_read_minutes(user, visit):
        raise Http404("No such visit.")
    return visit


# --- Data-protection duties: subject access, transfer of the file, retention ----------------

# KCSIE: the DSL (or a deputy, so the 5-school-day transfer does not wait for one person) and
# the headteacher export a pupil's whole record and send the file to the next school (A8).
RECORDS_ROLES = frozenset({Role.DSL, Role.DEPUTY_DSL, Role.HEADTEACHER})
# The retention schedule is kept by the DSL and the headteacher.
RETENTION_ROLES = frozenset({Role.DSL, Role.HEADTEACHER})


def records_school_ids(user):
    """The schools where `user` may export and transfer pupils' records (for menus and the
    pupil's file; the views ask get_pupil_for_records)."""
    if not user.is_authenticated:
        return set()
    # Read from the roles the menu has already loaded (schools.selectors.roles_at): no query.
    roles_at(user, 0)
    return {school_id for school_id, roles in user._roles_cache.items() if roles & RECORDS_ROLES}


def get_pupil_for_records(user, pk):
    """The pupil whose whole record `user` may export or transfer, or 404 (A8)."""
    if not user.is_authenticated:
        raise Http404("No such pupil.")
    pupil = (
        Pupil.objects.filter(pk=pk, school__in=schools_for(user, roles=RECORDS_ROLES))
        .select_related("school")
        .first()
    )
    if pupil is None:
        raise Http404("No such pupil.")
    return pupil


def get_transfer_for(user, pk):
    """A file transfer of a school where `user` may transfer records, or 404 (A8)."""
    from .models import FileTransfer

    if not user.is_authenticated:
        raise Http404("No such transfer.")
    transfer = (
        FileTransfer.objects.filter(pk=pk, school__in=schools_for(user, roles=RECORDS_ROLES))
        .select_related("school", "pupil")
        .first()
    )
    if transfer is None:
        raise Http404("No such transfer.")
    return transfer


def retention_schools(user):
    if not user.is_authenticated:
        return School.objects.none()
    return schools_for(user, roles=RETENTION_ROLES).order_by("name")


def get_school_for_retention(user, slug):
    """The school whose retention schedule `user` keeps, or 404."""
    school = retention_schools(user).filter(slug=slug).first()
    if school is None:
        raise Http404("No such school.")
    return school
