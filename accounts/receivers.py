"""Sign-ins, sign-outs, passwords, second factors and lockouts on the audit trail.

One event per school the person belongs to (none: one event with no school), so each school's
trail is complete on its own. A failed sign-in keeps what was typed as the name, never the
password."""

from django.contrib.auth import get_user_model

from audit.models import Action
from audit.services import record
from schools.models import School

from .lockout import account_username, typed_login


def _schools_of(user):
    if user is None or user.pk is None:
        return [None]
    return list(School.objects.filter(memberships__user=user).distinct().order_by("pk")) or [None]


def _record_for(user, action, *, request=None, detail="", actor_name="", as_actor=True):
    for school in _schools_of(user):
        record(
            action,
            actor=user if as_actor else None,
            actor_name=actor_name,
            school=school,
            target=user if user is not None else None,
            detail=detail,
            request=request,
        )


def _account(typed):
    username = account_username(typed)
    if not username:
        return None
    return get_user_model().objects.filter(username=username).first()


def signed_in(sender, request, user, **kwargs):
    sociallogin = kwargs.get("sociallogin")
    detail = f"with {sociallogin.account.get_provider().name}" if sociallogin else ""
    _record_for(user, Action.SIGNED_IN, request=request, detail=detail)


def sign_in_failed(sender, credentials, request=None, **kwargs):
    typed = (typed_login(request, credentials) or "")[:150]
    user = _account(typed)
    _record_for(
        user,
        Action.SIGN_IN_FAILED,
        request=request,
        detail="wrong username or password",
        actor_name=typed,
        as_actor=False,
    )


def second_factor_failed(sender, request, user, authenticator, **kwargs):
    _record_for(
        user,
        Action.SIGN_IN_FAILED,
        request=request,
        detail=f"wrong {authenticator.get_type_display().lower()} code",
        actor_name=user.get_username(),
        as_actor=False,
    )


def signed_out(sender, request, user, **kwargs):
    if user is not None:
        _record_for(user, Action.SIGNED_OUT, request=request)


def password_changed(sender, request, user, **kwargs):
    _record_for(user, Action.PASSWORD_CHANGED, request=request)


def password_reset(sender, request, user, **kwargs):
    # The person is not signed in: they proved who they are with the emailed link.
    _record_for(user, Action.PASSWORD_RESET, request=request, detail="by the emailed link")


def factor_added(sender, request, user, authenticator, **kwargs):
    _record_for(user, Action.FACTOR_ADDED, request=request, detail=authenticator.get_type_display())


def factor_removed(sender, request, user, authenticator, **kwargs):
    _record_for(
        user, Action.FACTOR_REMOVED, request=request, detail=authenticator.get_type_display()
    )


def recovery_codes_replaced(sender, request, user, authenticator, **kwargs):
    _record_for(user, Action.FACTOR_ADDED, request=request, detail="New recovery codes")


def locked_out(sender, request, username, ip_address=None, **kwargs):
    user = get_user_model().objects.filter(username=username).first() if username else None
    _record_for(
        user,
        Action.LOCKED_OUT,
        request=request,
        detail="too many failed sign-ins",
        actor_name=(username or "")[:150],
        as_actor=False,
    )


def connect():
    from allauth.account import signals as account_signals
    from allauth.mfa import signals as mfa_signals
    from axes.signals import user_locked_out
    from django.contrib.auth import signals as auth_signals

    uid = "accounts.receivers."
    account_signals.user_logged_in.connect(signed_in, dispatch_uid=uid + "signed_in")
    auth_signals.user_login_failed.connect(sign_in_failed, dispatch_uid=uid + "failed")
    auth_signals.user_logged_out.connect(signed_out, dispatch_uid=uid + "signed_out")
    account_signals.password_changed.connect(password_changed, dispatch_uid=uid + "pw_changed")
    account_signals.password_reset.connect(password_reset, dispatch_uid=uid + "pw_reset")
    mfa_signals.authenticator_added.connect(factor_added, dispatch_uid=uid + "factor_added")
    mfa_signals.authenticator_removed.connect(factor_removed, dispatch_uid=uid + "factor_removed")
    mfa_signals.authenticator_reset.connect(
        recovery_codes_replaced, dispatch_uid=uid + "codes_replaced"
    )
    mfa_signals.authentication_failed.connect(
        second_factor_failed, dispatch_uid=uid + "factor_failed"
    )
    user_locked_out.connect(locked_out, dispatch_uid=uid + "locked_out")
