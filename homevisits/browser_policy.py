"""What a browser (or a proxy on the way) may keep of this site's pages."""

from django.conf import settings
from django.urls import reverse

# The app's own answers that may carry personal data: pages, CSV and PDF exports, JSON.
PERSONAL_TYPES = ("text/html", "text/csv", "application/pdf", "application/json")


class NoStoreMiddleware:
    """`Cache-Control: no-store` on every answer to a signed-in person and on every page,
    export or JSON of the app: a shared tablet's cache, or its Back button after sign-out, must
    not show a pupil's file to the next person. Static files (served before this by WhiteNoise)
    and the health check keep their own caching."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        # Read before the view: a sign-out's own answer went to a signed-in person.
        was_signed_in = _signed_in(request)
        response = self.get_response(request)
        if _exempt(request):
            return response
        content_type = response.get("Content-Type", "").split(";")[0].strip().lower()
        if was_signed_in or _signed_in(request) or content_type in PERSONAL_TYPES:
            # A view's own "private, no-store" stands; anything weaker (a max-age) is replaced,
            # not patched, as it would contradict it.
            if "no-store" not in response.get("Cache-Control", ""):
                response["Cache-Control"] = "no-store"
            # HTTP/1.0 caches know only this.
            response["Pragma"] = "no-cache"
        return response


def _signed_in(request):
    user = getattr(request, "user", None)
    return bool(user is not None and user.is_authenticated)


def _exempt(request):
    path = request.path_info
    static = "/" + settings.STATIC_URL.lstrip("/")
    return path.startswith(static) or path == reverse("healthz")
