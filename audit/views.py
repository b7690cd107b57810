"""The audit trail for the DSL and the headteacher, and the account events for the school admin
(audit/access.py decides who sees what)."""

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import content_disposition_header
from django.views.decorators.http import require_GET

from homevisits.csv_safe import csv_lines

from . import access
from .forms import TrailFilterForm
from .models import Action
from .selectors import trail
from .services import record

PER_PAGE = 50
NO_STORE = "private, no-store"
CSV_TYPE = "text/csv; charset=utf-8"
CSV_HEADER = ["When", "Person", "What happened", "What", "Pupil", "Detail", "From address"]


def _filters(request, school):
    whole = access.reads_whole_trail(request.user, school)
    form = TrailFilterForm(
        request.GET or None,
        school=school,
        actions=access.actions_for(request.user, school),
        with_pupils=whole,
    )
    return form, whole


def _person(event):
    if event.actor is not None:
        return event.actor.get_full_name() or event.actor_name
    return event.actor_name


def _csv_row(event, *, with_pupil):
    row = [
        f"{timezone.localtime(event.at):%Y-%m-%d %H:%M:%S}",
        _person(event),
        event.get_action_display(),
        event.target_label,
    ]
    if with_pupil:
        row.append(str(event.pupil) if event.pupil_id and event.pupil else "")
    return [*row, event.detail, event.ip_address or ""]


@login_required
@require_GET
def audit_home(request):
    """With one school, its trail; with several, a list to choose from; with none, 404."""
    schools = list(access.audit_schools(request.user))
    if not schools:
        raise Http404("No such page.")
    if len(schools) == 1:
        return redirect("audit-trail", school=schools[0].slug)
    links = [(school, reverse("audit-trail", kwargs={"school": school.slug})) for school in schools]
    return render(request, "schools/choose_school.html", {"links": links, "title": "Audit trail"})


@login_required
@require_GET
def audit_trail(request, school):
    school = access.get_school_for(request.user, school)
    form, whole = _filters(request, school)
    valid = not request.GET or form.is_valid()
    page = None
    if valid:
        filters = form.cleaned_data if request.GET else {}
        paginator = Paginator(trail(request.user, school, filters), PER_PAGE)
        page = paginator.get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    context = {
        "school": school,
        "form": form,
        "page": page,
        "whole_trail": whole,
        "query": query.urlencode(),
    }
    response = render(request, "audit/trail.html", context, status=200 if valid else 400)
    response["Cache-Control"] = NO_STORE
    return response


@login_required
@require_GET
def audit_export(request, school):
    """The filtered trail as CSV; taking it is itself on the trail."""
    school = access.get_school_for(request.user, school)
    form, whole = _filters(request, school)
    if request.GET and not form.is_valid():
        errors = "; ".join(" ".join(messages) for messages in form.errors.values())
        response = HttpResponse(
            f"Bad filter: {errors}", status=400, content_type="text/plain; charset=utf-8"
        )
        response["Cache-Control"] = NO_STORE
        return response
    filters = form.cleaned_data if request.GET else {}
    events = trail(request.user, school, filters)
    what = "Audit trail CSV" if whole else "Account events CSV"
    record(
        Action.EXPORTED,
        request=request,
        school=school,
        target_label=what,
        detail=form.described() if request.GET else "Filters: none",
    )
    header = CSV_HEADER if whole else [name for name in CSV_HEADER if name != "Pupil"]
    rows = (_csv_row(event, with_pupil=whole) for event in events.iterator(chunk_size=2000))
    response = StreamingHttpResponse(csv_lines(header, rows), content_type=CSV_TYPE)
    filename = f"audit-{school.slug}-{timezone.localdate():%Y-%m-%d}.csv"
    response["Content-Disposition"] = content_disposition_header(True, filename)
    response["Cache-Control"] = NO_STORE
    return response
