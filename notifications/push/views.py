"""Push subscriptions (called by static/js/push.js) and the service worker."""

import json

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.contrib.staticfiles import finders
from django.core.exceptions import RequestDataTooBig
from django.http import Http404, HttpResponse, JsonResponse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST, require_safe

from .services import BadSubscription, push_subscribe, push_unsubscribe, subscription_from

# A subscription's JSON is a few hundred bytes; an endpoint is at most 2000 characters.
MAX_BODY_BYTES = 4096
SERVICE_WORKER = "js/sw.js"


def _refused(reason, status=400):
    return JsonResponse({"error": reason}, status=status)


def _json_body(request):
    try:
        body = request.body
    except RequestDataTooBig as exc:
        raise BadSubscription("The request is too long.") from exc
    if len(body) > MAX_BODY_BYTES:
        raise BadSubscription("The request is too long.")
    try:
        return json.loads(body)
    except (UnicodeDecodeError, ValueError) as exc:
        raise BadSubscription("The request is not JSON.") from exc


@login_required
@require_POST
def subscribe(request):
    try:
        endpoint, p256dh, auth = subscription_from(_json_body(request))
    except BadSubscription as exc:
        return _refused(str(exc))
    _, created = push_subscribe(
        user=request.user,
        endpoint=endpoint,
        p256dh=p256dh,
        auth=auth,
        user_agent=request.headers.get("User-Agent", ""),
        now=timezone.now(),
    )
    return JsonResponse({"subscribed": True}, status=201 if created else 200)


@login_required
@require_POST
def unsubscribe(request):
    try:
        data = _json_body(request)
        endpoint = data.get("endpoint") if isinstance(data, dict) else None
        if not isinstance(endpoint, str) or not endpoint:
            raise BadSubscription("Send the endpoint to stop.")
    except BadSubscription as exc:
        return _refused(str(exc))
    if not push_unsubscribe(user=request.user, endpoint=endpoint):
        return _refused("This browser is not subscribed for you.", status=404)
    return JsonResponse({"subscribed": False})


@login_required
@require_GET
@never_cache
def public_key(request):
    """The key the browser subscribes with; 404 where push is not set up, and the page then
    offers nothing."""
    if not (settings.VAPID_PUBLIC_KEY and settings.VAPID_PRIVATE_KEY):
        return _refused("Push notifications are not set up on this site.", status=404)
    return JsonResponse({"publicKey": settings.VAPID_PUBLIC_KEY})


@require_safe
@never_cache
def service_worker(request):
    """static/js/sw.js, served from the root so that it may handle the whole site, and never
    cached, so that a new version reaches the browsers at once."""
    found = finders.find(SERVICE_WORKER)
    if not found:
        raise Http404("No service worker")
    with open(found, "rb") as script:
        response = HttpResponse(script.read(), content_type="application/javascript")
    response["Service-Worker-Allowed"] = "/"
    return response
