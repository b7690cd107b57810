from django.conf import settings
from django.shortcuts import redirect
from django.urls import reverse
from django_htmx.http import HttpResponseClientRedirect

from . import access

# Setting up a factor (an authenticator app, a passkey, recovery codes), confirming one's
# password again first when allauth asks, and signing out.
ENROLMENT_URL_NAMES = frozenset(
    {
        "mfa_index",
        "mfa_activate_totp",
        "mfa_reauthenticate",
        "mfa_add_webauthn",
        "mfa_list_webauthn",
        "mfa_view_recovery_codes",
        "mfa_generate_recovery_codes",
        "mfa_download_recovery_codes",
        "account_reauthenticate",
        "account_logout",
    }
)


class RequireSecondFactorMiddleware:
    """Seniors, admins and superusers without an authenticator app or a passkey reach nothing
    but enrolment, sign-out and static files (accounts/access.py says who)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        if request.path_info.startswith("/" + settings.STATIC_URL.lstrip("/")):
            return None
        match = request.resolver_match
        if match is not None and match.url_name in ENROLMENT_URL_NAMES:
            return None
        user = getattr(request, "user", None)
        if user is None or not access.needs_second_factor(user):
            return None
        if access.has_second_factor(user):
            return None
        # The page says why (templates/mfa/index.html), however many requests were turned back.
        if request.headers.get("HX-Request") == "true":
            return HttpResponseClientRedirect(reverse("mfa_index"))
        return redirect("mfa_index")
