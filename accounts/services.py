"""Changes to a colleague's sign-in made by a DSL, a school admin or a headteacher: each checks
who may, records who and when on the audit trail, and tells the person where it matters."""

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.core.mail import send_mail
from django.db import transaction
from django.template.loader import render_to_string

from audit.models import Action
from audit.services import record
from schools.selectors import display_name

from . import access
from .lockout import locked_usernames


def factors_reset(*, person, school, by, request=None):
    """Remove every second factor of `person` (a lost or replaced phone), at `by`'s school.

    A person who needs a factor is brought back to enrolment at their next request
    (accounts/middleware.py). Returns how many authenticators were removed."""
    from allauth.mfa.models import Authenticator

    if not access.may_reset_factors(by, school) or person.pk == by.pk or person.is_superuser:
        raise PermissionDenied("You may not reset this person's second factor.")
    with transaction.atomic():
        removed = Authenticator.objects.filter(user=person).delete()[0]
        record(
            Action.FACTORS_RESET,
            actor=by,
            school=school,
            target=person,
            target_label=f"{display_name(person)} ({person.get_username()})",
            detail=f"{removed} removed",
            request=request,
        )
    if person.email:
        context = {"person": person, "by": by, "school": school, "site_url": settings.SITE_URL}
        transaction.on_commit(
            lambda: send_mail(
                render_to_string("account/email/factors_reset_subject.txt", context).strip(),
                render_to_string("account/email/factors_reset_message.txt", context),
                None,
                [person.email],
                fail_silently=True,
            )
        )
    return removed


def account_unlock(*, person, school, by, request=None):
    """Lift the lockout of `person`'s account (django-axes), at `by`'s school.

    Returns False when the account was not locked (a repeat of the same click does nothing)."""
    from axes.utils import reset

    if not access.may_unlock(by, school):
        raise PermissionDenied("You may not unlock accounts at this school.")
    if person.get_username() not in locked_usernames():
        return False
    reset(username=person.get_username())
    if request is not None:
        _clear_allauth_throttle(request, person)
    record(
        Action.UNLOCKED,
        actor=by,
        school=school,
        target=person,
        target_label=f"{display_name(person)} ({person.get_username()})",
        request=request,
    )
    return True


def _clear_allauth_throttle(request, person):
    """allauth counts failed sign-ins by what was typed as well (ACCOUNT_RATE_LIMITS): clear
    that count too, for the username and the email, or the unlocked person is still refused."""
    from allauth.account.adapter import get_adapter

    adapter = get_adapter(request)
    adapter._delete_login_attempts_cached_email(request, username=person.get_username())
    if person.email:
        adapter._delete_login_attempts_cached_email(request, email=person.email)
