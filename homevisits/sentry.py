"""Errors to the maintainers through Sentry, with nothing personal in them.

Only what a maintainer needs leaves: the exception, its stack (no local variables), the URL
pattern and the release. Request bodies, cookies, headers, user details and breadcrumbs' texts
never leave, and any phone number or email address left in a message is blanked."""

import sentry_sdk
from sentry_sdk.integrations.celery import CeleryIntegration
from sentry_sdk.integrations.django import DjangoIntegration

from .logging import redact


def _scrub(value):
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {key: _scrub(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_scrub(item) for item in value]
    return value


def scrub_event(event, hint=None):
    request = event.get("request")
    if request:
        # The path may hold a token (/a/<token>/): keep only the URL, no query, body or cookies.
        event["request"] = {
            "url": request.get("url", "").split("?")[0],
            "method": request.get("method"),
        }
    event.pop("user", None)
    event.pop("server_name", None)
    for exception in event.get("exception", {}).get("values", []):
        exception["value"] = _scrub(exception.get("value", ""))
        for frame in (exception.get("stacktrace") or {}).get("frames", []):
            frame.pop("vars", None)
    if "logentry" in event:
        event["logentry"] = _scrub(event["logentry"])
    if "message" in event:
        event["message"] = _scrub(event["message"])
    breadcrumbs = event.get("breadcrumbs") or {}
    for crumb in breadcrumbs.get("values", []):
        crumb.pop("data", None)
        if "message" in crumb:
            crumb["message"] = _scrub(crumb["message"])
    event.pop("extra", None)
    return event


def init_sentry(dsn, *, environment, release, traces_sample_rate):
    sentry_sdk.init(
        dsn=dsn,
        environment=environment,
        release=release,
        integrations=[DjangoIntegration(), CeleryIntegration()],
        send_default_pii=False,
        include_local_variables=False,
        max_request_body_size="never",
        traces_sample_rate=traces_sample_rate,
        before_send=scrub_event,
        before_send_transaction=scrub_event,
    )
