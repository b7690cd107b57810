"""Who must have a second factor, and who may help a colleague sign in (A8: their own school).

Everyone else is answered 404 for a colleague they may not help, as if the page did not exist.
"""

from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.http import Http404

from schools.models import Role, School
from schools.selectors import all_roles, roles_at, schools_for

# The roles that read safeguarding records (concerns, minutes, the pupil's file) or give roles:
# their accounts need more than a password.
SECOND_FACTOR_ROLES = frozenset(
    {Role.DSL, Role.DEPUTY_DSL, Role.HEADTEACHER, Role.SLT, Role.SCHOOL_ADMIN}
)
# Who may reset a colleague's second factors (a lost phone) at their own school.
FACTOR_RESET_ROLES = frozenset({Role.DSL, Role.SCHOOL_ADMIN})
# Who may unlock a colleague locked out after too many failed sign-ins.
UNLOCK_ROLES = frozenset({Role.DSL, Role.SCHOOL_ADMIN, Role.HEADTEACHER})
# Enough to pass as a second factor; recovery codes only stand in for one.
SECOND_FACTOR_TYPES = ("totp", "webauthn")


def needs_second_factor(user):
    """Superusers, and anyone holding a senior or admin role at any school."""
    if not user.is_authenticated or not user.is_active:
        return False
    return user.is_superuser or bool(all_roles(user) & SECOND_FACTOR_ROLES)


def has_second_factor(user):
    from allauth.mfa.models import Authenticator

    return Authenticator.objects.filter(user=user, type__in=SECOND_FACTOR_TYPES).exists()


def second_factor_reason(user):
    """Why this account must have a second factor, in plain words."""
    if all_roles(user) & SECOND_FACTOR_ROLES:
        return (
            "Your role reads safeguarding records, so your account needs a second factor "
            "before you can go on: set up an authenticator app or a passkey below."
        )
    return (
        "Your account runs the whole site, so it needs a second factor before you can go on: "
        "set up an authenticator app or a passkey below."
    )


def helping_schools(user, roles):
    """The schools where `user` holds one of `roles`."""
    if not user.is_authenticated:
        return School.objects.none()
    return schools_for(user, roles=roles)


def may_help_anyone(user):
    """Whether the page of colleagues' sign-in help is for `user` at all."""
    return bool(all_roles(user) & (FACTOR_RESET_ROLES | UNLOCK_ROLES))


def may_unlock(user, school):
    return bool(roles_at(user, school) & UNLOCK_ROLES)


def may_reset_factors(user, school):
    return bool(roles_at(user, school) & FACTOR_RESET_ROLES)


def colleagues_of(schools):
    """Active people holding any role at these schools."""
    return (
        get_user_model()
        .objects.filter(is_active=True, memberships__school__in=schools)
        .distinct()
        .order_by("first_name", "last_name", "username")
    )


def get_person_for_factor_reset(user, pk):
    """The colleague whose second factors `user` may reset, with the school they share.

    404 for anyone not at a school where `user` resets factors (A8); refused with a reason for
    oneself (another DSL or admin must do it, so a stolen session cannot strip its own factor)
    and for a superuser (only another superuser, in the admin)."""
    schools = helping_schools(user, FACTOR_RESET_ROLES)
    person = colleagues_of(schools).filter(pk=pk).first()
    if person is None:
        raise Http404("No such person at your school.")
    if person.pk == user.pk:
        raise PermissionDenied(
            "You cannot reset your own second factor here: ask another DSL or school admin."
        )
    if person.is_superuser:
        raise PermissionDenied(
            "A superuser's second factor is reset by another superuser, not from a school."
        )
    school = schools.filter(memberships__user=person).order_by("name").first()
    return person, school
