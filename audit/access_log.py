"""Who opened what (A8): which pages are recorded when someone opens them, and how to tell from
the URL what was shown, whose school it belongs to and which pupil it is about.

The middleware (audit/middleware.py) asks `entries_for(request, response)` after the view has
answered. Only a page the person was actually shown is recorded: a GET answered 200 by a signed-in
person. A refusal (403, 404) shows nothing, so it is not an access. An htmx refresh of the page
already open is not recorded again; the live board's polling is not in the registry.

Each lookup is one query through apps.get_model (audit sits below visits, escalation and
safeguarding, ARCHITECTURE.md), and the rows are written with one INSERT.
"""

import dataclasses
from collections.abc import Callable
from urllib.parse import urlsplit

from django.apps import apps

from schools.models import SCHEDULE_ROLES, Role
from schools.selectors import roles_at

from .models import Action

# Who may take the school-wide exports (safeguarding/services/exports.py CPOMS_BULK_ROLES and
# safeguarding/selectors.py MONITORING_ROLES): used only to say whose school an export was of.
CPOMS_BULK_ROLES = frozenset({Role.DSL, Role.DEPUTY_DSL, Role.HEADTEACHER})
MONITORING_ROLES = frozenset({Role.HEADTEACHER, Role.DSL, Role.DEPUTY_DSL, Role.SLT})


@dataclasses.dataclass(frozen=True)
class Seen:
    """One thing shown: what it was, whose school, which pupil."""

    school_id: int | None
    pupil_id: int | None = None
    target_type: str = ""
    target_id: str = ""
    label: str = ""
    detail: str = ""


@dataclasses.dataclass(frozen=True)
class Logged:
    """How a URL name is recorded."""

    action: str
    find: Callable  # (request, kwargs) -> list[Seen]
    # A GET parameter that makes the page its printable copy: then it is recorded PRINTED.
    print_param: str | None = None


# Lookups ---------------------------------------------------------------------------------------


def _visit(what):
    def find(request, kwargs):
        pk = kwargs["pk"]
        Visit = apps.get_model("visits", "Visit")
        row = Visit.objects.filter(pk=pk).values_list("school_id", "pupil_id").first()
        if row is None:
            return []
        label = f"Visit {pk}" + (f", {what}" if what else "")
        return [Seen(row[0], row[1], "visits.visit", str(pk), label)]

    return find


def _minutes(what):
    def find(request, kwargs):
        pk = kwargs["pk"]
        Visit = apps.get_model("visits", "Visit")
        row = (
            Visit.objects.filter(pk=pk).values_list("school_id", "pupil_id", "minutes__pk").first()
        )
        if row is None:
            return []
        school_id, pupil_id, minutes_id = row
        label = f"Minutes of visit {pk}" + (f", {what(kwargs)}" if what else "")
        if minutes_id is None:
            return [Seen(school_id, pupil_id, "visits.visit", str(pk), label)]
        return [Seen(school_id, pupil_id, "safeguarding.minutes", str(minutes_id), label)]

    return find


def _escalation(what):
    def find(request, kwargs):
        pk = kwargs["pk"]
        Escalation = apps.get_model("escalation", "Escalation")
        row = (
            Escalation.objects.filter(pk=pk)
            .values_list("school_id", "visit_id", "visit__pupil_id", "is_drill")
            .first()
        )
        if row is None:
            return []
        school_id, visit_id, pupil_id, is_drill = row
        about = f"visit {visit_id}" if visit_id else "drill" if is_drill else "no visit"
        label = f"{what} {pk} ({about})"
        return [Seen(school_id, pupil_id, "escalation.escalation", str(pk), label)]

    return find


def _pupil(what):
    def find(request, kwargs):
        pk = kwargs["pk"]
        Pupil = apps.get_model("schools", "Pupil")
        school_id = Pupil.objects.filter(pk=pk).values_list("school_id", flat=True).first()
        if school_id is None:
            return []
        return [Seen(school_id, pk, "schools.pupil", str(pk), f"{what} of pupil {pk}")]

    return find


def _concern(request, kwargs):
    pk = kwargs["pk"]
    Concern = apps.get_model("safeguarding", "Concern")
    row = Concern.objects.filter(pk=pk).values_list("school_id", "pupil_id").first()
    if row is None:
        return []
    return [Seen(row[0], row[1], "safeguarding.concern", str(pk), f"Concern {pk}")]


def _school_ids(user, roles):
    """The schools where `user` holds one of `roles`, from the roles already read for the page."""
    roles_at(user, 0)  # fills the per-request cache, if the view has not
    return sorted(sid for sid, held in user._roles_cache.items() if held & roles)


def _schedule(request, kwargs):
    # The schedule shows every school whose schedule the person holds: one row for each.
    day = request.GET.get("day", "")[:20] or "today"
    return [
        Seen(school_id, None, "", "", "Schedule", f"From {day}")
        for school_id in _school_ids(request.user, SCHEDULE_ROLES)
    ]


def _cpoms_range(request, kwargs):
    period = f"Visits from {request.GET.get('from', '')[:20]} to {request.GET.get('to', '')[:20]}"
    return [
        Seen(school_id, None, "", "", "CPOMS CSV of the minutes", period)
        for school_id in _school_ids(request.user, CPOMS_BULK_ROLES)
    ]


def _monitoring(request, kwargs):
    # The view answers 404 for a school that is not the person's, so a 200 means it was theirs;
    # with none asked for, it shows the first of theirs by name (safeguarding/views/monitoring).
    wanted = request.GET.get("school", "")
    if wanted.isascii() and wanted.isdigit() and len(wanted) < 12:
        school_id = int(wanted)
    else:
        ids = _school_ids(request.user, MONITORING_ROLES)
        if len(ids) > 1:
            School = apps.get_model("schools", "School")
            ids = list(School.objects.filter(pk__in=ids).order_by("name").values_list("pk")[:1])
            ids = [ids[0][0]] if ids else []
        school_id = ids[0] if ids else None
    asked = [
        f"{name} {request.GET[name][:20]}"
        for name in ("term", "date_from", "date_to")
        if request.GET.get(name)
    ]
    return [Seen(school_id, None, "", "", "Monitoring figures CSV", ", ".join(asked))]


def _pdf_version(kwargs):
    return f"PDF, {kwargs.get('version', '')[:20]} copy"


# The registry: URL name -> how it is recorded ---------------------------------------------------

VIEWED, PRINTED, EXPORTED = Action.VIEWED, Action.PRINTED, Action.EXPORTED

REGISTRY = {
    # Visits (visits/urls.py)
    "visit-detail": Logged(VIEWED, _visit("")),
    "visit-on": Logged(VIEWED, _visit("on-visit page")),
    "visit-edit": Logged(VIEWED, _visit("change details")),
    "visit-risk": Logged(VIEWED, _visit("risk assessment")),
    "visit-decide": Logged(VIEWED, _visit("authorisation")),
    "schedule": Logged(VIEWED, _schedule, print_param="print"),
    # Alerts and the police sheet (escalation/urls.py)
    "escalation-detail": Logged(VIEWED, _escalation("Alert")),
    "escalation-police": Logged(VIEWED, _escalation("Police sheet for alert")),
    # Pupils (schools/urls.py, safeguarding/views/pupil_file.py)
    "pupil-detail": Logged(VIEWED, _pupil("Page")),
    "pupil-file": Logged(VIEWED, _pupil("File")),
    # Minutes and concerns (safeguarding/views/minutes.py, concerns.py)
    "minutes-detail": Logged(VIEWED, _minutes(None)),
    "minutes-edit": Logged(VIEWED, _minutes(lambda kwargs: "writing")),
    "concern-detail": Logged(VIEWED, _concern),
    # Downloads of records (safeguarding/views/exports.py, monitoring.py)
    "minutes-pdf": Logged(EXPORTED, _minutes(_pdf_version)),
    "minutes-cpoms-csv": Logged(EXPORTED, _minutes(lambda kwargs: "CPOMS CSV")),
    "cpoms-csv": Logged(EXPORTED, _cpoms_range),
    "monitoring-export": Logged(EXPORTED, _monitoring),
}


def _is_refresh(request):
    """An htmx request for the page already open (a partial refresh), not a navigation."""
    if request.headers.get("HX-Request") != "true" or request.headers.get("HX-Boosted"):
        return False
    current = request.headers.get("HX-Current-URL", "")
    return urlsplit(current).path == request.path


def entries_for(request, response):
    """(action, [Seen, ...]) to record for this request, or None."""
    if request.method != "GET" or response.status_code != 200:
        return None
    user = getattr(request, "user", None)
    match = getattr(request, "resolver_match", None)
    if user is None or not user.is_authenticated or match is None:
        return None
    logged = REGISTRY.get(match.url_name)
    if logged is None or match.namespace or _is_refresh(request):
        return None
    seen = logged.find(request, match.kwargs)
    if not seen:
        return None
    action = logged.action
    if logged.print_param and request.GET.get(logged.print_param):
        action = PRINTED
    return action, seen
