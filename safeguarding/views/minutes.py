"""The minutes on the tablet (A1, A3), addenda, signatures and the debrief (A6): thin views over
safeguarding/services/minutes.py.

Who may know the minutes exist is decided by safeguarding/access.py (404 otherwise, A8); who
may write them, add to them or record the debrief by the services' `may_*` (403 with a reason).
The draft is saved field by field as JSON by static/js/minutes.js.
"""

import base64
import binascii
import json

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from schools.selectors import display_name
from visits.access import get_visit_for
from visits.rules import RuleBroken

from ..access import get_visit_for_minutes
from ..forms_minutes import AddendumForm, DebriefForm, action_owners
from ..models import Debrief, Minutes, Signature, SignerRole
from ..services import may_read_all
from ..services import minutes as service
from .exports import copies_panel_context

NOT_WRITER = "Minutes are written by the staff who made the visit (A1)."
NOT_DEBRIEFER = (
    "A debrief is recorded by the DSL, a deputy, the headteacher or SLT, who was not on the "
    "visit (A6)."
)


def _minutes_of(visit):
    return Minutes.objects.filter(visit=visit).select_related("started_by", "updated_by").first()


def _debrief_of(visit):
    return (
        Debrief.objects.filter(visit=visit)
        .select_related("led_by")
        .prefetch_related("debriefed")
        .first()
    )


def _refusal(error):
    return " ".join(error.messages)


# --- Reading ---------------------------------------------------------------------------------


def _detail(request, visit, minutes, *, status=200, addendum_form=None):
    user = request.user
    owners = {owner["id"]: owner["name"] for owner in action_owners(visit.school)}
    context = {
        "visit": visit,
        "minutes": minutes,
        "may_write": service.may_write_minutes(user, visit),
        "may_write_now": service.may_write_now(user, visit),
        "may_add_addendum": bool(minutes) and service.may_add_addendum(user, visit),
        "debrief_awaited": service.debrief_awaited_from(user, visit),
        "needs_signatures": service.needs_signatures(visit),
        "debrief": _debrief_of(visit),
        "missing": service.record_missing(visit),
        "addendum_form": addendum_form or AddendumForm(),
    }
    if minutes is not None:
        context |= {
            "plan": [
                {**item, "owner_name": owners.get(item["owner"], "no owner yet")}
                for item in minutes.action_plan
            ],
            "actions": minutes.actions.select_related("owner", "done_by"),
            "today": timezone.localdate(),
            "field_labels_json": json.dumps(
                {
                    name: str(Minutes._meta.get_field(name).verbose_name).capitalize()
                    for name in Minutes.DRAFT_FIELDS
                }
            ),
            "signatures": {
                s.signer_role: s
                for s in minutes.signatures.select_related("captured_by").defer("image")
            },
            "addenda": minutes.addenda.select_related("by"),
            # A2, A4: the downloads this person may have and the copies sent, in place.
            "copies_panel": copies_panel_context(request, minutes)
            if minutes.is_submitted
            else None,
            # A8: the audit trail is for the DSL, deputies and headteacher.
            "audit": minutes.events.select_related("by")
            if may_read_all(user, visit.school)
            else None,
        }
    return render(request, "safeguarding/minutes/detail.html", context, status=status)


@login_required
@require_GET
def minutes_detail(request, pk):
    visit = get_visit_for_minutes(request.user, pk)
    minutes = _minutes_of(visit)
    if minutes is not None:
        service.minutes_viewed(minutes=minutes, by=request.user)
    return _detail(request, visit, minutes)


@login_required
@require_GET
def minutes_signature(request, pk, role):
    """A3: the signature as drawn; never a public file, never kept by a shared cache."""
    visit = get_visit_for_minutes(request.user, pk)
    signature = Signature.objects.filter(minutes__visit=visit, signer_role=role).first()
    if signature is None:
        raise Http404("No such signature.")
    response = HttpResponse(bytes(signature.image), content_type="image/png")
    response["Cache-Control"] = "private, no-store"
    return response


@login_required
@require_GET
def minutes_summary(request, pk):
    """The minutes' and debrief's state for the visit page: what is still missing before the
    visit closes (A1, A6). Shown to anyone who may see the visit; the content stays behind
    the minutes page's own check (A8)."""
    visit = get_visit_for(request.user, pk)
    minutes = Minutes.objects.filter(visit=visit).only("status", "visit").first()
    context = {
        "visit": visit,
        "minutes": minutes,
        "debrief": _debrief_of(visit),
        "missing": service.record_missing(visit),
        "may_read": service.may_read_minutes(request.user, visit),
        "may_write": service.may_write_minutes(request.user, visit),
        "debrief_awaited": service.debrief_awaited_from(request.user, visit),
        "may_write_now": service.may_write_now(request.user, visit),
    }
    # htmx loads the section into the visit page; without script the link opens it whole.
    partial = request.headers.get("HX-Request") == "true"
    template = "_visit_summary.html" if partial else "summary.html"
    return render(request, f"safeguarding/minutes/{template}", context)


# --- Writing the draft -------------------------------------------------------------------------


def _writer_visit(request, pk):
    """The visit, if this person may write its minutes: 404 if they may not know of it (A8),
    403 if they may read but not write."""
    visit = get_visit_for_minutes(request.user, pk)
    if not service.may_write_minutes(request.user, visit):
        raise PermissionDenied(NOT_WRITER)
    return visit


def _edit_page(request, visit, minutes, *, status=200, problems=None, error=None):
    owners = action_owners(visit.school)
    # An owner chosen earlier who has since left stays on the list, marked, so editing another
    # row never drops them silently; submitting still asks for a current member of staff.
    listed = {owner["id"] for owner in owners}
    gone = {item["owner"] for item in minutes.action_plan} - listed - {None}
    for person in get_user_model().objects.filter(pk__in=gone):
        owners.append({"id": person.pk, "name": f"{display_name(person)} (no longer at school)"})
    signatures = {s.signer_role: s for s in minutes.signatures.defer("image")}
    page = {
        "id": minutes.pk,
        "user": request.user.pk,
        "revision": minutes.revision,
        "values": service.minutes_values(minutes),
        "owners": owners,
        "urls": {
            "save": reverse("minutes-save", args=[visit.pk]),
            "sign": reverse("minutes-sign", args=[visit.pk]),
        },
    }
    roles = [
        {
            "role": role,
            "label": label,
            "signature": signatures.get(role),
            "default_name": display_name(request.user) if role == SignerRole.STAFF else "",
        }
        for role, label in SignerRole.choices
    ]
    context = {
        "visit": visit,
        "minutes": minutes,
        "values": page["values"],
        "page": page,
        "owners": owners,
        "needs_signatures": service.needs_signatures(visit),
        "signer_roles": roles,
        "problems": problems or [],
        "error": error,
    }
    return render(request, "safeguarding/minutes/edit.html", context, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def minutes_edit(request, pk):
    """The tablet form. Opening it changes nothing: minutes not yet started are started by the
    page's button (a POST), so a link followed by a browser's preloader, a crawler or a
    mistaken tap writes no record and no audit row."""
    visit = _writer_visit(request, pk)
    minutes = _minutes_of(visit)
    if minutes is None:
        if request.method == "POST":
            try:
                service.minutes_start(visit=visit, by=request.user)
            except RuleBroken as error:
                return _not_yet(request, visit, error=_refusal(error))
            return redirect("minutes-edit", pk=visit.pk)
        if not service.may_write_now(request.user, visit):
            return _not_yet(request, visit, error=service.NOT_WRITABLE_YET)
        return _not_yet(request, visit, status=200)
    if request.method == "POST":
        # Already started (by the partner, or a second tap): the form, as a GET would show it.
        return redirect("minutes-edit", pk=visit.pk)
    if minutes.is_submitted:
        messages.info(request, "These minutes are submitted: add an addendum to correct them.")
        return redirect("minutes-detail", pk=visit.pk)
    return _edit_page(request, visit, minutes)


def _not_yet(request, visit, *, error=None, status=400):
    """No minutes yet: the button that starts them, or why they cannot be started yet."""
    context = {"visit": visit, "error": error}
    return render(request, "safeguarding/minutes/not_yet.html", context, status=status)


def _json_error(message, status=400):
    return JsonResponse({"error": message}, status=status)


@login_required
@require_POST
def minutes_save(request, pk):
    """Autosave: {"changes": {field: {"base": ..., "value": ...}}} -> the stored values and any
    field someone else changed meanwhile (never overwritten silently)."""
    visit = get_visit_for_minutes(request.user, pk)
    if not service.may_write_minutes(request.user, visit):
        return _json_error(NOT_WRITER, status=403)
    if request.content_type != "application/json":
        # A form post's body has been read as fields already (by the CSRF check): not a draft.
        return _json_error("The draft did not arrive whole: not JSON.")
    try:
        body = json.loads(request.body or b"null")
    except (ValueError, UnicodeDecodeError, RecursionError):
        return _json_error("The draft did not arrive whole: not JSON.")
    if not isinstance(body, dict) or not isinstance(body.get("changes"), dict):
        return _json_error('Expected {"changes": {...}}.')
    now = timezone.now()
    try:
        minutes = service.minutes_start(visit=visit, by=request.user, now=now)
        saved = service.minutes_save_draft(
            minutes=minutes, by=request.user, changes=body["changes"], now=now
        )
    except RuleBroken as error:
        return _json_error(_refusal(error))
    return JsonResponse(
        {
            "revision": saved.minutes.revision,
            "values": service.minutes_values(saved.minutes),
            "conflicts": saved.conflicts,
            "saved_at": timezone.localtime(now).strftime("%H:%M:%S"),
        }
    )


def _signature_png(request):
    """The drawing from JSON ({"image": "data:image/png;base64,..."}) or a multipart upload."""
    if request.content_type == "application/json":
        try:
            body = json.loads(request.body)
        except (ValueError, UnicodeDecodeError, RecursionError):
            raise RuleBroken("The signature did not arrive whole: not JSON.") from None
        if not isinstance(body, dict):
            raise RuleBroken("The signature did not arrive whole.")
        image = body.get("image") or ""
        if not isinstance(image, str):
            raise RuleBroken(service.NOT_A_SIGNATURE)
        prefix, _, encoded = image.rpartition(",")
        if prefix not in ("", "data:image/png;base64"):
            raise RuleBroken(service.NOT_A_SIGNATURE)
        # Decoded, no bigger than the service takes: refused before decoding, not after.
        if len(encoded) > (service.MAX_SIGNATURE_BYTES + 2) // 3 * 4:
            raise RuleBroken(service.NOT_A_SIGNATURE)
        try:
            png = base64.b64decode(encoded, validate=True)
        except (binascii.Error, ValueError):
            raise RuleBroken(service.NOT_A_SIGNATURE) from None
        return body.get("signer_role"), body.get("signer_name"), png
    upload = request.FILES.get("image")
    png = upload.read(service.MAX_SIGNATURE_BYTES + 1) if upload else b""
    return request.POST.get("signer_role"), request.POST.get("signer_name"), png


@login_required
@require_POST
def minutes_sign(request, pk):
    visit = get_visit_for_minutes(request.user, pk)
    if not service.may_write_minutes(request.user, visit):
        return _json_error(NOT_WRITER, status=403)
    now = timezone.now()
    try:
        role, name, png = _signature_png(request)
        if not isinstance(role, str) or not isinstance(name, (str, type(None))):
            raise RuleBroken("Say who is signing.")
        minutes = service.minutes_start(visit=visit, by=request.user, now=now)
        service.minutes_sign(
            minutes=minutes, by=request.user, signer_role=role, signer_name=name, png=png, now=now
        )
    except RuleBroken as error:
        return _json_error(_refusal(error))
    return JsonResponse(
        {
            "signer_role": role,
            "signer_name": name.strip(),
            "url": reverse("minutes-signature", args=[visit.pk, role]),
            "signed_at": timezone.localtime(now).strftime("%H:%M:%S"),
        }
    )


@login_required
@require_POST
def minutes_submit(request, pk):
    """A1: the draft becomes the record. Refused, the form comes back with what is missing;
    everything typed is already saved as the draft."""
    visit = _writer_visit(request, pk)
    minutes = _minutes_of(visit)
    if minutes is None:
        # Submitted before anything was typed: started here (this is a POST), so the refusal
        # below lists on the form what is missing.
        try:
            minutes = service.minutes_start(visit=visit, by=request.user)
        except RuleBroken as error:
            return _not_yet(request, visit, error=_refusal(error))
    try:
        service.minutes_submit(minutes=minutes, by=request.user)
    except RuleBroken as error:
        minutes.refresh_from_db()
        problems = service.submit_problems(minutes, today=timezone.localdate())
        return _edit_page(
            request, visit, minutes, status=400, problems=problems, error=_refusal(error)
        )
    messages.success(request, "Minutes submitted: they are now the record (A1).")
    return redirect("minutes-detail", pk=visit.pk)


@login_required
@require_POST
def minutes_addendum(request, pk):
    visit = get_visit_for_minutes(request.user, pk)
    if not service.may_add_addendum(request.user, visit):
        raise PermissionDenied("Only people who may read these minutes add to them (A8).")
    minutes = _minutes_of(visit)
    if minutes is None:
        raise Http404("No minutes yet.")
    form = AddendumForm(request.POST)
    if form.is_valid():
        try:
            service.minutes_add_addendum(
                minutes=minutes, by=request.user, text=form.cleaned_data["text"]
            )
        except RuleBroken as error:
            form.add_error(None, error)
        else:
            messages.success(request, "Addendum added below the minutes.")
            return redirect("minutes-detail", pk=visit.pk)
    return _detail(request, visit, minutes, status=400, addendum_form=form)


# --- Debrief (A6) ------------------------------------------------------------------------------


@login_required
def debrief_record(request, pk):
    """A6: the DSL, a deputy, the headteacher or SLT records the debrief and what was agreed.
    What was agreed is as confidential as the minutes (A8)."""
    visit = get_visit_for_minutes(request.user, pk)
    debrief = _debrief_of(visit)
    may_record = service.may_record_debrief(request.user, visit)
    if debrief is None and not may_record:
        raise PermissionDenied(NOT_DEBRIEFER)
    now = timezone.now()
    form = None
    if debrief is None or request.method == "POST":
        initial = DebriefForm.initial_for(user=request.user, visit=visit, now=now)
        form = DebriefForm(request.POST or None, initial=initial, visit=visit)
    if request.method == "POST":
        if not may_record:
            raise PermissionDenied(NOT_DEBRIEFER)
        if form.is_valid():
            try:
                service.debrief_record(visit=visit, by=request.user, now=now, **form.cleaned_data)
            except RuleBroken as error:
                form.add_error(None, error)
            else:
                messages.success(request, "Debrief recorded (A6).")
                return redirect("minutes-detail", pk=visit.pk)
    context = {
        "visit": visit,
        "debrief": debrief,
        "form": form,
        "missing": service.record_missing(visit),
    }
    status = 400 if request.method == "POST" else 200
    return render(request, "safeguarding/minutes/debrief.html", context, status=status)


urlpatterns = [
    path("visits/<int:pk>/minutes/", minutes_detail, name="minutes-detail"),
    path("visits/<int:pk>/minutes/summary/", minutes_summary, name="minutes-summary"),
    path("visits/<int:pk>/minutes/write/", minutes_edit, name="minutes-edit"),
    path("visits/<int:pk>/minutes/save/", minutes_save, name="minutes-save"),
    path("visits/<int:pk>/minutes/sign/", minutes_sign, name="minutes-sign"),
    path("visits/<int:pk>/minutes/submit/", minutes_submit, name="minutes-submit"),
    path("visits/<int:pk>/minutes/addendum/", minutes_addendum, name="minutes-addendum"),
    path(
        "visits/<int:pk>/minutes/signature/<str:role>.png",
        minutes_signature,
        name="minutes-signature",
    ),
    path("visits/<int:pk>/debrief/", debrief_record, name="debrief-record"),
]
