"""GOV.UK Notify's delivery-status callbacks: Notify posts each text's final status here, with
the bearer token the service was given (NOTIFY_CALLBACK_TOKEN), checked in constant time."""

import hmac
import json

from django.conf import settings
from django.http import HttpResponse, HttpResponseForbidden
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from ..models import Channel, Notification
from ..services import record_status

# Notify's words (its callbacks' "status") and what they mean here.
DELIVERED = {"delivered"}
FAILED = {"permanent-failure", "temporary-failure", "technical-failure"}
DETAIL = {
    "delivered": "delivered",
    "permanent-failure": "the number is not in use",
    "temporary-failure": "the phone was off or out of signal for 72 hours",
    "technical-failure": "the network failed to deliver it",
}


def _authorised(request):
    token = settings.NOTIFY_CALLBACK_TOKEN
    sent = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
    return bool(token) and hmac.compare_digest(sent.encode(), token.encode())


@csrf_exempt
@require_POST
def status(request):
    if not _authorised(request):
        return HttpResponseForbidden("A valid bearer token is needed.")
    try:
        report = json.loads(request.body or b"{}")
    except ValueError:
        return HttpResponse("Not JSON.", status=400)
    if not isinstance(report, dict):
        return HttpResponse("Not a report.", status=400)
    word = str(report.get("status", ""))
    if word not in DELIVERED | FAILED:
        return HttpResponse(status=204)  # still on its way: nothing to record
    found = Notification.objects.filter(channel=Channel.SMS)
    notification = (
        found.filter(provider_ref=str(report.get("id", ""))).exclude(provider_ref="").first()
        or found.filter(key=str(report.get("reference", ""))).first()
    )
    if notification is not None:
        record_status(
            notification=notification,
            status="delivered" if word in DELIVERED else "failed",
            detail=DETAIL[word],
            now=timezone.now(),
        )
    # Unknown ids are answered the same: the caller learns nothing about which exist.
    return HttpResponse(status=204)
