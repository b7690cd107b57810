"""Who may read a school's audit trail (A8): the one place that decides it.

The DSL and the headteacher read their school's whole trail. The school admin reads only the
account events (sign-ins, lockouts, second factors, passwords, roles) of people of their school.
Anyone else, at this school or another, is answered 404, as if the page did not exist.
"""

from django.db.models import Q
from django.http import Http404

from schools.models import Membership, Role
from schools.selectors import roles_at, schools_for

from .models import Action

TRAIL_ROLES = frozenset({Role.DSL, Role.HEADTEACHER})
ACCOUNT_ROLES = frozenset({Role.SCHOOL_ADMIN})

ACCOUNT_ACTIONS = frozenset(
    {
        Action.SIGNED_IN,
        Action.SIGN_IN_FAILED,
        Action.LOCKED_OUT,
        Action.UNLOCKED,
        Action.SIGNED_OUT,
        Action.PASSWORD_CHANGED,
        Action.PASSWORD_RESET,
        Action.FACTOR_ADDED,
        Action.FACTOR_REMOVED,
        Action.FACTORS_RESET,
        Action.ROLE_REQUESTED,
        Action.ROLE_GRANTED,
        Action.ROLE_REFUSED,
        Action.ROLE_REMOVED,
    }
)


def audit_schools(user):
    """The schools whose trail (or its account events) `user` may read."""
    if not user.is_authenticated:
        return schools_for(user).none()
    return schools_for(user, roles=TRAIL_ROLES | ACCOUNT_ROLES).order_by("name")


def get_school_for(user, slug):
    """The school with this slug, or 404 unless `user` may read its trail."""
    school = audit_schools(user).filter(slug=slug).first()
    if school is None:
        raise Http404("No such page.")
    return school


def reads_whole_trail(user, school):
    return bool(roles_at(user, school) & TRAIL_ROLES)


def actions_for(user, school):
    """The kinds of event `user` may see at `school`, in the order of Action."""
    if reads_whole_trail(user, school):
        return list(Action)
    return [action for action in Action if action in ACCOUNT_ACTIONS]


def visible_events(user, school):
    """A Q of the events of `school` that `user` may see. An account event counts as the
    school's when it is recorded under the school or its person has a role there."""
    people = Membership.objects.filter(school=school).values("user_id")
    accounts = Q(action__in=ACCOUNT_ACTIONS) & (Q(school=school) | Q(actor_id__in=people))
    if reads_whole_trail(user, school):
        return Q(school=school) | accounts
    if roles_at(user, school) & ACCOUNT_ROLES:
        return accounts
    return Q(pk__in=[])
