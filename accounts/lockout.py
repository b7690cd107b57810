"""The lockout by account (django-axes): which account a sign-in names, and who is locked now.

A school's staff share one public address, so an account is locked, never an address: a
colleague signing in from the same office is not affected.
"""

import datetime

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db.models import Sum
from django.utils import timezone


def account_username(typed):
    """The username of the account a person typed (their username or their email), so the
    account is locked however it is named; what was typed, when it names no single account."""
    typed = (typed or "").strip()
    if not typed:
        return None
    users = get_user_model().objects
    field = "email__iexact" if "@" in typed else "username__iexact"
    matches = list(users.filter(**{field: typed}).values_list("username", flat=True)[:2])
    if len(matches) == 1:
        return matches[0]
    return typed


def typed_login(request, credentials=None):
    """What was typed in the sign-in form's one box (`login`), or handed to authenticate()."""
    credentials = credentials or {}
    typed = credentials.get("username") or credentials.get("email") or credentials.get("login")
    if not typed and request is not None:
        data = getattr(request, "data", None) or getattr(request, "POST", {})
        typed = data.get(settings.AXES_USERNAME_FORM_FIELD)
    return typed


def axes_username(request, credentials=None):
    """AXES_USERNAME_CALLABLE: allauth hands authenticate() `username=` or `email=` (never
    `login=`), so axes's own lookup of AXES_USERNAME_FORM_FIELD in the credentials finds
    nothing; this reads either and names the account behind an email."""
    return account_username(typed_login(request, credentials))


def cool_off():
    return datetime.timedelta(minutes=settings.AXES_COOLOFF_MINUTES)


def locked_usernames(*, now=None):
    """Usernames with AXES_FAILURE_LIMIT or more failures within the cool-off period."""
    from axes.models import AccessAttempt

    now = now or timezone.now()
    rows = (
        AccessAttempt.objects.filter(attempt_time__gte=now - cool_off())
        .values("username")
        .annotate(failures=Sum("failures_since_start"))
        .filter(failures__gte=settings.AXES_FAILURE_LIMIT)
    )
    return {row["username"] for row in rows if row["username"]}


def locked_colleagues(schools, *, now=None):
    """People of these schools whose accounts are locked now, with when they may try again."""
    from axes.models import AccessAttempt

    now = now or timezone.now()
    names = locked_usernames(now=now)
    if not names:
        return []
    people = list(
        get_user_model()
        .objects.filter(username__in=names, memberships__school__in=schools)
        .distinct()
        .order_by("first_name", "last_name", "username")
    )
    last = dict(
        AccessAttempt.objects.filter(username__in=[p.username for p in people])
        .order_by("attempt_time")
        .values_list("username", "attempt_time")
    )
    for person in people:
        person.locked_until = last[person.username] + cool_off()
    return people
