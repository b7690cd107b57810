"""Copies and exports of the minutes (A2, A4): thin views over safeguarding/services/exports.py.

Anyone who may not read the minutes gets a 404 (A8); someone who may read them but not have
this export gets a 403 with the reason; a draft is refused with a 400.
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils import timezone
from django.utils.http import content_disposition_header
from django.views.decorators.http import require_GET, require_http_methods

from visits.rules import RuleBroken

from ..access import get_visit_for_minutes
from ..forms_exports import CopySentForm
from ..models import CopyVersion, Minutes
from ..services import exports as service

NO_STORE = "private, no-store"


def _minutes_for(user, pk):
    visit = get_visit_for_minutes(user, pk)
    minutes = Minutes.objects.filter(visit=visit).select_related("visit").first()
    if minutes is None:
        raise Http404("No minutes yet.")
    minutes.visit = visit
    return minutes


def _refused(request, error, status):
    context = {"reason": " ".join(error.messages), "status": status}
    response = render(request, "safeguarding/exports/refused.html", context, status=status)
    response["Cache-Control"] = NO_STORE
    return response


def _download(body, *, content_type, filename):
    response = HttpResponse(body, content_type=content_type)
    response["Content-Disposition"] = content_disposition_header(True, filename)
    response["Cache-Control"] = NO_STORE
    return response


@login_required
@require_GET
def minutes_pdf(request, pk, version):
    minutes = _minutes_for(request.user, pk)
    if version not in CopyVersion.values:
        raise Http404("No such copy.")
    try:
        pdf = service.minutes_pdf(minutes=minutes, version=version, by=request.user)
    except service.PdfUnavailable as error:
        return _refused(request, error, 503)
    except service.ExportRefused as error:
        return _refused(request, error, 403)
    except RuleBroken as error:
        return _refused(request, error, 400)
    return _download(
        pdf, content_type="application/pdf", filename=service.pdf_filename(minutes, version)
    )


@login_required
@require_GET
def minutes_cpoms_csv(request, pk):
    minutes = _minutes_for(request.user, pk)
    try:
        lines = service.cpoms_export_one(minutes=minutes, by=request.user)
    except service.ExportRefused as error:
        return _refused(request, error, 403)
    except RuleBroken as error:
        return _refused(request, error, 400)
    return _download(
        "".join(lines),
        content_type="text/csv; charset=utf-8",
        filename=service.csv_filename(minutes),
    )


@login_required
@require_GET
def cpoms_csv(request):
    """A4: the DSL's export of every submitted minutes record of visits between two dates."""
    start, end = request.GET.get("from", ""), request.GET.get("to", "")
    try:
        lines = service.cpoms_export_range(by=request.user, start=start, end=end)
    except service.ExportRefused as error:
        return _refused(request, error, 403)
    except RuleBroken as error:
        response = HttpResponse(
            " ".join(error.messages), status=400, content_type="text/plain; charset=utf-8"
        )
        response["Cache-Control"] = NO_STORE
        return response
    response = StreamingHttpResponse(lines, content_type="text/csv; charset=utf-8")
    filename = f"cpoms-home-visits-{start}-to-{end}.csv"
    response["Content-Disposition"] = content_disposition_header(True, filename)
    response["Cache-Control"] = NO_STORE
    return response


def _minutes_page(visit):
    return reverse("minutes-detail", args=[visit.pk]) + "#copies"


def copies_panel_context(request, minutes, form=None):
    """The copies-and-exports panel for the minutes page: add it to that page's context as
    `copies_panel` and `_minutes_copies.html` shows it in place."""
    panel = service.copies_panel(user=request.user, minutes=minutes)
    if form is None:
        initial = {"sent_at": timezone.localtime().replace(second=0, microsecond=0)}
        form = CopySentForm(versions=panel["versions"], initial=initial)
    panel["form"] = form
    return panel


@login_required
@require_http_methods(["GET", "POST"])
def minutes_copies(request, pk):
    """A2: the copies-and-exports panel on a page of its own; a POST records a copy sent."""
    minutes = _minutes_for(request.user, pk)
    form, status = None, 200
    if request.method == "POST":
        versions = service.versions_for(request.user, minutes.visit)
        form = CopySentForm(request.POST, versions=versions)
        if form.is_valid():
            try:
                service.copy_sent_record(minutes=minutes, by=request.user, **form.cleaned_data)
            except RuleBroken as error:
                form.add_error(None, error)
            else:
                messages.success(request, "Copy sent recorded (A2).")
                return redirect(_minutes_page(minutes.visit))
        status = 400
    context = {"copies_panel": copies_panel_context(request, minutes, form)}
    template = (
        "safeguarding/exports/_copies_panel.html"
        if request.htmx
        else "safeguarding/exports/copies.html"
    )
    return render(request, template, context, status=status)


urlpatterns = [
    path("visits/<int:pk>/minutes/pdf/<str:version>/", minutes_pdf, name="minutes-pdf"),
    path("visits/<int:pk>/minutes/cpoms.csv", minutes_cpoms_csv, name="minutes-cpoms-csv"),
    path("visits/<int:pk>/minutes/copies/", minutes_copies, name="minutes-copy-sent"),
    path("minutes/cpoms.csv", cpoms_csv, name="cpoms-csv"),
]
