"""Answering a message by its link (/a/<token>/): the link in a text or an email about an
alert lets its person say "I'm dealing with it" from their phone, without signing in first.

The token is random and used once; the page shows nothing about the alert beyond the school's
name (a link can be seen by others), and a GET changes nothing: the answer is a POST.
"""

from django.http import Http404
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from .models import Notification
from .services import record_answer


@never_cache
@require_http_methods(["GET", "POST"])
def answer(request, token):
    notification = (
        Notification.objects.filter(answer_token=token).select_related("school").first()
        if token and len(token) <= 32
        else None
    )
    if notification is None:
        raise Http404("This link is not known: it may have been mistyped.")
    answered = False
    if request.method == "POST" and notification.answered_at is None:
        answered = record_answer(notification=notification, how="link", now=timezone.now())
    return render(
        request,
        "notifications/answer.html",
        {"notification": notification, "answered": answered, "school": notification.school},
    )


@never_cache
def demo_phones(request):
    """The demo's page "What the phones received": each text, call and email the demo's fake
    gateways were given (`manage.py demo_gateways`), with whose phone it is. Only where the
    demo runs them (DEMO_INBOX_URL, set by `make run`)."""
    import json
    import urllib.request

    from django.conf import settings
    from django.contrib.auth.views import redirect_to_login

    from schools.models import StaffProfile
    from schools.phones import e164
    from schools.selectors import display_name

    if not settings.DEMO_INBOX_URL:
        raise Http404("The demo's gateways are not running here.")
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    try:
        with urllib.request.urlopen(settings.DEMO_INBOX_URL, timeout=2) as answer:  # noqa: S310
            inbox = json.load(answer)
    except (OSError, ValueError):
        inbox, error = {"phones": {}, "emails": []}, True
    else:
        error = False
    owners = {}
    for profile in StaffProfile.objects.exclude(mobile="").select_related("user"):
        owners[e164(profile.mobile)] = display_name(profile.user)
    phones = [
        {"number": number, "owner": owners.get(number, ""), **content}
        for number, content in sorted(inbox["phones"].items())
    ]
    return render(
        request,
        "notifications/demo_phones.html",
        {"phones": phones, "emails": list(reversed(inbox["emails"])), "error": error},
    )
