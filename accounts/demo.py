"""The demo's second factors (visits/management/commands/load_demo.py): a fixed TOTP secret,
printed in the README, so anyone trying the demo can add it to an authenticator app, and the
current codes shown on the sign-in page when DEBUG is on."""

import time

from django.conf import settings

# Base32, as authenticator apps take it; the README prints it. Never used outside the demo.
DEMO_TOTP_SECRET = "HOMEVISITSDEMOTOTPSECRETFORSTAFF"


def current_code(secret, *, at=None):
    from allauth.mfa import app_settings
    from allauth.mfa.totp.internal.auth import format_hotp_value, hotp_value

    counter = int(at if at is not None else time.time()) // app_settings.TOTP_PERIOD
    return format_hotp_value(hotp_value(secret, counter))


def enrol_demo_factor(user):
    """Give `user` the demo's authenticator app (once), marked as the demo's."""
    from allauth.mfa.models import Authenticator
    from allauth.mfa.utils import encrypt

    Authenticator.objects.get_or_create(
        user=user,
        type=Authenticator.Type.TOTP,
        defaults={"data": {"secret": encrypt(DEMO_TOTP_SECRET), "demo": True}},
    )


def demo_codes():
    """(username, code) of every account holding the demo's authenticator: only with DEBUG on,
    and only once the demo is loaded (nothing is marked otherwise)."""
    if not settings.DEBUG:
        return []
    from allauth.mfa.models import Authenticator
    from allauth.mfa.utils import decrypt

    rows = (
        Authenticator.objects.filter(type=Authenticator.Type.TOTP, data__demo=True)
        .select_related("user")
        .order_by("user__username")
    )
    now = time.time()
    return [
        (row.user.get_username(), current_code(decrypt(row.data["secret"]), at=now)) for row in rows
    ]
