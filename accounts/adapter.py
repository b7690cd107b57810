"""How allauth behaves here: accounts are made by the school, never by signing up.

Sign-in through the school's directory (Microsoft Entra ID, Google Workspace) only reaches an
account the school already made: the directory's verified email must be that of exactly one
active account here. Anything else is a plain refusal, never a new account."""

from allauth.account.adapter import DefaultAccountAdapter
from allauth.core.exceptions import ImmediateHttpResponse
from allauth.socialaccount.adapter import DefaultSocialAccountAdapter
from django.contrib.auth import get_user_model
from django.db.models import Q
from django.shortcuts import render

from audit.models import Action
from audit.services import record

# Microsoft's shared endpoints let any organisation's directory (or a personal account) sign in,
# and an email there is whatever that directory's admin typed: only a school's own tenant
# (its id or domain, MICROSOFT_TENANT) vouches for the address.
SHARED_MICROSOFT_TENANTS = frozenset({"", "common", "organizations", "consumers"})


class AccountAdapter(DefaultAccountAdapter):
    def is_open_for_signup(self, request):
        return False


def refusal(request, provider_name, reason):
    record(
        Action.SIGN_IN_FAILED,
        actor_name=f"{provider_name} sign-in",
        detail=reason,
        request=request,
    )
    response = render(
        request,
        "socialaccount/refused.html",
        {"provider_name": provider_name, "reason": reason},
        status=403,
    )
    return ImmediateHttpResponse(response)


class SocialAccountAdapter(DefaultSocialAccountAdapter):
    def is_open_for_signup(self, request, sociallogin):
        return False

    def is_email_verified(self, provider, email):
        if provider.id == "microsoft":
            tenant = (provider.app.settings or {}).get("tenant", "") if provider.app else ""
            return tenant.lower() not in SHARED_MICROSOFT_TENANTS
        return super().is_email_verified(provider, email)

    def pre_social_login(self, request, sociallogin):
        provider_name = sociallogin.account.get_provider().name
        if sociallogin.is_existing:
            if not sociallogin.user.is_active:
                raise refusal(request, provider_name, "This account has been switched off.")
            return
        verified = {a.email.lower() for a in sociallogin.email_addresses if a.verified}
        account = matching_account(verified)
        if account is None:
            raise refusal(
                request,
                provider_name,
                "No account here has that email address. Ask your school's admin to check "
                "the email on your account, or sign in with your username and password.",
            )
        sociallogin.connect(request, account)


def matching_account(verified_emails):
    """The one active account whose email is one of `verified_emails`, or None."""
    if not verified_emails:
        return None
    any_of = Q()
    for email in verified_emails:
        any_of |= Q(email__iexact=email)
    matches = list(get_user_model().objects.filter(any_of, is_active=True)[:2])
    return matches[0] if len(matches) == 1 else None
