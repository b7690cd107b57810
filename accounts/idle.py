"""Signed out after SESSION_IDLE_MINUTES without a request: tablets and office PCs are shared.

The last request's time is kept in the session. A request that comes after the idle time signs
the person out and sends them to the sign-in page, which says why. What counts as activity:

- any request a person makes (a page, a form, a save of the minutes as they type);
- the live board's polling (SESSION_IDLE_KEEPALIVE_URL_NAMES): the office's board, while it is
  open, keeps the office signed in so an alert is never missed. A board that stopped polling
  (closed, or the computer asleep) for the idle time is signed out like any other page;
- not other polling: a request sent on its own by a page (static/js marks it with the
  BACKGROUND_HEADER) neither keeps the session alive nor is spared the check.

static/js/idle.js warns in the page before the end and asks PING_PATH: a GET says how long is
left without counting as activity; a POST ("Stay signed in") counts as activity.
"""

import time

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.views import redirect_to_login
from django.contrib.messages.storage import default_storage
from django.http import HttpResponse, HttpResponseRedirect, JsonResponse
from django.middleware.csrf import CsrfViewMiddleware
from django.shortcuts import resolve_url
from django.urls import Resolver404, resolve

LAST_ACTIVITY = "idle_last_activity"
# Answered here rather than by a view: it is this middleware's own question (how long is left),
# and a view would be reached only after the check it is asking about.
PING_PATH = "/accounts/still-here/"
BACKGROUND_HEADER = "X-Background-Request"
# The board's rows are polled every few seconds: one session write per this many seconds is
# enough to know when the board stopped.
WRITE_EVERY_SECONDS = 15


def idle_seconds():
    return settings.SESSION_IDLE_MINUTES * 60


def idle_message():
    minutes = settings.SESSION_IDLE_MINUTES
    unit = "minute" if minutes == 1 else "minutes"
    return f"You were signed out after {minutes} {unit} without activity."


def _last_activity(request):
    last = request.session.get(LAST_ACTIVITY)
    if last is None and request.user.last_login is not None:
        # Nothing recorded since signing in: the clock started then (and no write is needed
        # for the board's first polls).
        last = int(request.user.last_login.timestamp())
    return last


def seconds_left(request, now):
    last = _last_activity(request)
    if last is None:
        return idle_seconds()
    return max(0, int(idle_seconds() - (now - last)))


def _keepalive_url_names():
    # The live board's polling (escalation/urls.py), named here rather than imported: accounts/
    # sits below escalation/ (ARCHITECTURE.md).
    return getattr(settings, "SESSION_IDLE_KEEPALIVE_URL_NAMES", ("board-rows",))


def _is_keepalive(request):
    try:
        return resolve(request.path_info).url_name in _keepalive_url_names()
    except Resolver404:
        return False


def _counts_as_activity(request):
    if _is_keepalive(request):
        return True
    return request.headers.get(BACKGROUND_HEADER) != "1"


def _touch(request, now, *, force=False):
    last = _last_activity(request)
    if force or last is None or now - last >= WRITE_EVERY_SECONDS:
        request.session[LAST_ACTIVITY] = now


def _start_clock(request, now):
    # Never signed in through login() (no last sign-in time): the clock starts now.
    if _last_activity(request) is None:
        request.session[LAST_ACTIVITY] = now


def _wants_json(request):
    return request.path_info == PING_PATH or "application/json" in request.headers.get("Accept", "")


def _signed_out_response(request):
    """Where a request that came after the idle time goes: the sign-in page, saying why."""
    login_url = resolve_url(settings.LOGIN_URL)
    if _wants_json(request):
        response = JsonResponse({"signed_in": False, "sign_in": login_url}, status=401)
    elif request.headers.get("HX-Request"):
        # htmx would put the sign-in page inside the board or a card: make it a navigation.
        response = HttpResponse(status=204)
        response["HX-Redirect"] = login_url
    elif request.method in ("GET", "HEAD") and request.path_info != login_url:
        # Back to the page after signing in again.
        response = redirect_to_login(request.get_full_path(), login_url)
    else:
        response = HttpResponseRedirect(login_url)
    # MessageMiddleware runs inside this one and never sees this response: store it here.
    storage = default_storage(request)
    storage.add(messages.WARNING, idle_message())
    storage.update(response)
    return response


def _ping(request, now):
    if not request.user.is_authenticated:
        return JsonResponse({"signed_in": False}, status=401)
    if request.method == "POST":
        # Not yet checked at this point of the chain (process_view comes later): a page of
        # another site must not keep a session alive.
        refused = CsrfViewMiddleware(lambda r: None).process_view(request, None, (), {})
        if refused is not None:
            return refused
        _touch(request, now, force=True)
    elif request.method != "GET":
        return JsonResponse({"error": "GET or POST"}, status=405)
    return JsonResponse({"signed_in": True, "seconds_left": seconds_left(request, now)})


class IdleTimeoutMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        now = int(time.time())
        # For static/js/idle.js, through data attributes of base.html's <body>.
        request.idle_timeout = {"minutes": settings.SESSION_IDLE_MINUTES, "ping_url": PING_PATH}
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            idle = seconds_left(request, now) == 0
            if idle and not (request.path_info == PING_PATH and request.method == "GET"):
                logout(request)
                return _signed_out_response(request)
        if request.path_info == PING_PATH:
            return _ping(request, now)
        response = self.get_response(request)
        # After the view: a sign-in starts the clock, a sign-out has emptied the session.
        if request.user.is_authenticated:
            if _counts_as_activity(request):
                _touch(request, now)
            else:
                _start_clock(request, now)
        return response
