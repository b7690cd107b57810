"""Push subscriptions and the service worker."""

from django.http import HttpResponse


def service_worker(request):
    return HttpResponse("", content_type="application/javascript")
