"""Data-protection duties, thin views over safeguarding/services/{retention,subject_access,
transfer}.py: the retention schedule's page, the pupil's record as a zip (subject access), and
the transfer of the child-protection file to the next school with its one-time link.

Anyone who may not do these at the school gets a 404 (A8, safeguarding/access.py); the link's
page is public (the new school's DSL has no account here) and says plainly when it is gone (410).
"""

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import FileResponse, Http404
from django.shortcuts import redirect, render
from django.urls import path
from django.utils import timezone
from django.utils.http import content_disposition_header
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from visits.rules import RuleBroken

from ..access import (
    get_pupil_for_records,
    get_school_for_retention,
    get_transfer_for,
    retention_schools,
)
from ..models import RetentionSchedule
from ..services import exports, retention, subject_access, transfer

NO_STORE = "private, no-store"


def _client_address(request):
    # As audit.services: behind the production proxy the first X-Forwarded-For is the client.
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    return forwarded.split(",")[0].strip() or request.META.get("REMOTE_ADDR") or None


def _zip_response(record):
    response = FileResponse(record.file, content_type="application/zip")
    response["Content-Disposition"] = content_disposition_header(True, record.filename)
    response["Cache-Control"] = NO_STORE
    return response


def _refused(request, reason, status, title="Not exported"):
    context = {"reason": reason, "status": status, "title": title}
    response = render(request, "safeguarding/records/refused.html", context, status=status)
    response["Cache-Control"] = NO_STORE
    return response


# --- The retention schedule -----------------------------------------------------------------


class ScheduleForm(forms.ModelForm):
    class Meta:
        model = RetentionSchedule
        fields = RetentionSchedule.PERIOD_FIELDS


@login_required
@require_GET
def retention_home(request):
    schools = list(retention_schools(request.user))
    if not schools:
        raise Http404("No school's retention schedule is yours to keep.")
    if len(schools) == 1:
        return redirect("records-retention", schools[0].slug)
    return render(request, "safeguarding/records/retention_list.html", {"schools": schools})


@login_required
@require_http_methods(["GET", "POST"])
def retention_page(request, slug):
    school = get_school_for_retention(request.user, slug)
    schedule = RetentionSchedule.for_school(school)
    form, status = ScheduleForm(instance=schedule), 200
    if request.method == "POST":
        form = ScheduleForm(request.POST, instance=RetentionSchedule.for_school(school))
        if form.is_valid():
            try:
                retention.retention_schedule_update(
                    school=school, by=request.user, values=form.cleaned_data, request=request
                )
            except ValidationError as error:
                form.add_error(None, error)
            else:
                messages.success(request, "Retention schedule saved.")
                return redirect("records-retention", school.slug)
        status = 400
        schedule.refresh_from_db()
    now = timezone.now()
    context = {
        "school": school,
        "schedule": schedule,
        "form": form,
        "plan": retention.retention_plan(school, now),
        "runs": retention.past_runs(school),
        "now": now,
    }
    return render(request, "safeguarding/records/retention.html", context, status=status)


# --- Subject access --------------------------------------------------------------------------


@login_required
@require_GET
def pupil_record_zip(request, pk):
    pupil = get_pupil_for_records(request.user, pk)
    try:
        record = subject_access.subject_access_export(pupil=pupil, by=request.user, request=request)
    except exports.PdfUnavailable as error:
        return _refused(request, " ".join(error.messages), 503)
    except exports.ExportRefused as error:
        return _refused(request, " ".join(error.messages), 403)
    except RuleBroken as error:
        return _refused(request, " ".join(error.messages), 400)
    return _zip_response(record)


# --- Transfer to the next school -------------------------------------------------------------


class TransferForm(forms.Form):
    receiving_school = forms.CharField(label="The new school", max_length=200)
    recipient_email = forms.EmailField(
        label="Their DSL's email",
        help_text="The link to the file goes here, and works once.",
        max_length=254,
    )


def _transfer_page(request, pupil, form, status=200):
    context = {
        "pupil": pupil,
        "form": form,
        "transfers": transfer.transfers_of(pupil),
        "schedule": RetentionSchedule.for_school(pupil.school),
        "now": timezone.now(),
    }
    return render(request, "safeguarding/records/transfer.html", context, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def transfer_start(request, pk):
    pupil = get_pupil_for_records(request.user, pk)
    if request.method != "POST":
        return _transfer_page(request, pupil, TransferForm())
    form = TransferForm(request.POST)
    if form.is_valid():
        try:
            sent = transfer.transfer_start(
                pupil=pupil, by=request.user, request=request, **form.cleaned_data
            )
        except RuleBroken as error:
            form.add_error(None, error)
        else:
            messages.success(
                request,
                f"The link to {pupil.first_name}'s file has gone to {sent.recipient_email}. "
                "The file shows when they have received it.",
            )
            return redirect("records-transfer", pupil.pk)
    return _transfer_page(request, pupil, form, status=400)


@login_required
@require_POST
def transfer_cancel(request, pk):
    sent = get_transfer_for(request.user, pk)
    try:
        transfer.transfer_cancel(transfer=sent, by=request.user, request=request)
    except RuleBroken as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, f"The link to {sent.receiving_school} no longer works.")
    return redirect("records-transfer", sent.pupil_id)


class ReceiptForm(forms.Form):
    name = forms.CharField(label="Your name", max_length=200)
    role = forms.CharField(
        label="Your role", max_length=200, help_text="For example: DSL, deputy DSL."
    )


def _gone(request):
    response = render(request, "safeguarding/records/gone.html", status=410)
    response["Cache-Control"] = NO_STORE
    return response


@never_cache
@require_http_methods(["GET", "POST"])
def transfer_collect(request, public_id, token):
    """The new school's DSL, with no account here: confirm receipt, then the zip, once."""
    sent = transfer.transfer_for_link(public_id, token)
    if sent is None:
        raise Http404("This link is not known: it may have been mistyped.")
    now = timezone.now()
    if not sent.is_open(now):
        return _gone(request)
    form, status = ReceiptForm(), 200
    if request.method == "POST":
        form = ReceiptForm(request.POST)
        if form.is_valid():
            try:
                record = transfer.transfer_collect(
                    transfer=sent, address=_client_address(request), now=now, **form.cleaned_data
                )
            except transfer.TransferGone:
                return _gone(request)
            except exports.PdfUnavailable:
                reason = f"The file cannot be made just now. Try again later, or ask {sent.school}."
                return _refused(request, reason, 503, title="Not ready")
            except RuleBroken as error:
                if isinstance(error, exports.ExportRefused):
                    reason = f"{sent.school} must send this file again: ask their DSL."
                    return _refused(request, reason, 409, title="Not ready")
                form.add_error(None, error)
            else:
                return _zip_response(record)
        status = 400
    context = {"transfer": sent, "form": form}
    response = render(request, "safeguarding/records/collect.html", context, status=status)
    response["Cache-Control"] = NO_STORE
    return response


urlpatterns = [
    path("records/retention/", retention_home, name="records-retention-home"),
    path("records/retention/<slug:slug>/", retention_page, name="records-retention"),
    path("pupils/<int:pk>/record.zip", pupil_record_zip, name="records-pupil-zip"),
    path("pupils/<int:pk>/transfer/", transfer_start, name="records-transfer"),
    path("records/transfers/<int:pk>/cancel/", transfer_cancel, name="records-transfer-cancel"),
    path(
        "records/collect/<uuid:public_id>/<str:token>/",
        transfer_collect,
        name="records-transfer-collect",
    ),
]
