"""Safeguarding concerns: thin views over safeguarding/services/concerns.py (A5, A8)."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.urls import path
from django.utils import timezone
from django.views.decorators.http import require_POST
from django_ratelimit.core import is_ratelimited
from django_ratelimit.decorators import ratelimit

from homevisits.cleaning import SENDING, sending_rate
from schools.selectors import pupils_for, schools_for, staff_of
from visits.access import visible_visits
from visits.rules import RuleBroken

from .. import services
from ..access import get_concern_for, visible_concerns
from ..forms import ActionForm, CloseForm, ConcernForm, TriageForm
from ..models import ConcernStatus
from ..services.actions import concern_triage_and_action
from .actions import action_rows


@login_required
def concern_list(request):
    reads = any(services.may_read_all(request.user, s) for s in schools_for(request.user))
    concerns = (
        visible_concerns(request.user)
        .select_related("pupil", "raised_by")
        .order_by("closed_at", "-raised_at")
    )
    open_ = [c for c in concerns if c.status != ConcernStatus.CLOSED]
    closed = [c for c in concerns if c.status == ConcernStatus.CLOSED][:100]
    # A5: new to the DSL until they open it: the same concerns the menu's badge counts.
    unread = set(services.concerns_unread(request.user).values_list("pk", flat=True))
    for concern in open_:
        concern.is_new = concern.pk in unread
    new = sum(c.is_new for c in open_)
    context = {"open": open_, "closed": closed, "reads": reads, "new": new}
    return render(request, "safeguarding/concern_list.html", context)


# Said on the form, over what was typed, when one person has caused too much to be sent.
TOO_MANY = (
    "You have sent a lot of messages in a short time, so this was not sent yet. What you wrote "
    "is still here. If a child is in danger, phone 999 or the DSL now; otherwise try again in a "
    "few minutes."
)


@login_required
# Each concern texts and emails the DSL and deputies: one person's budget (SENDING_RATE).
@ratelimit(group=SENDING, key="user", rate=sending_rate, method="POST", block=False)
def concern_create(request):
    pupils = pupils_for(request.user)
    visit = None
    visit_id = request.GET.get("visit") or request.POST.get("visit")
    if visit_id and str(visit_id).isascii() and str(visit_id).isdigit() and len(str(visit_id)) < 12:
        visit = visible_visits(request.user).filter(pk=visit_id).first()
    initial = {"pupil": visit.pupil_id if visit else request.GET.get("pupil")}
    form = ConcernForm(request.POST or None, pupils=pupils, initial=initial)
    status = 400 if request.method == "POST" else 200
    if request.method == "POST" and request.limited:
        form.add_error(None, TOO_MANY)
        status = 429
    elif request.method == "POST" and form.is_valid():
        try:
            concern = services.concern_raise(
                pupil=form.cleaned_data["pupil"],
                by=request.user,
                account=form.cleaned_data["account"],
                visit=visit,
            )
        except RuleBroken as error:
            form.add_error(None, error)
        else:
            messages.success(request, "Concern sent to the DSL and deputies (A5).")
            return redirect(concern)
    return render(
        request, "safeguarding/concern_form.html", {"form": form, "visit": visit}, status=status
    )


# The DSL's card forms are one HTML form (the action's fields join it by their `form`
# attribute), so "Record triage" carries a half-typed action and "Add the action" a triage.
DSL_FORM_ID = "concern-dsl"


def _pupil_panel(user, concern, *, reads):
    """Beside the concern: the pupil's other concerns this reader may read (A8), and for the DSL,
    deputies and headteacher the pupil's known risks and allocated social worker."""
    others = (
        visible_concerns(user)
        .filter(pupil=concern.pupil)
        .exclude(pk=concern.pk)
        .select_related("raised_by")
        .order_by("-raised_at")[:20]
    )
    return {"other_concerns": list(others), "pupil_facts": concern.pupil if reads else None}


def _detail(request, concern, *, status=200, action_form=None, triage_form=None, **forms):
    reads = services.may_read_all(request.user, concern.school)
    is_dsl = services.may_triage(request.user, concern.school)
    actions = concern.actions.select_related("pupil", "owner", "done_by").order_by(
        "-status", "due_on", "pk"
    )
    action_form = action_form or (ActionForm(staff=staff_of(concern.school)) if is_dsl else None)
    if action_form is not None:
        for field in action_form.fields.values():
            field.widget.attrs["form"] = DSL_FORM_ID
    context = {
        "concern": concern,
        "is_dsl": is_dsl,
        # A7: the actions agreed on it, for everyone who may read the concern (A8).
        "actions": action_rows(request.user, actions, today=timezone.localdate()),
        "action_form": action_form,
        "dsl_form_id": DSL_FORM_ID,
        # A8: the audit trail is for the DSL, deputies and headteacher.
        "audit": concern.events.select_related("by") if reads else None,
        "triage_form": triage_form or TriageForm.for_concern(concern),
        "close_form": CloseForm(),
        **_pupil_panel(request.user, concern, reads=reads),
        **forms,
    }
    return render(request, "safeguarding/concern_detail.html", context, status=status)


@login_required
def concern_detail(request, pk):
    concern = get_concern_for(request.user, pk)
    services.concern_viewed(concern=concern, by=request.user)
    return _detail(request, concern)


def _act(request, concern, *, form, form_name, act, done):
    """One of the DSL's forms on the concern page: the service decides; a refusal comes back on
    the page with what was typed (400)."""
    if form.is_valid():
        try:
            act(form.cleaned_data)
        except RuleBroken as error:
            form.add_error(None, error)
        else:
            messages.success(request, done)
            return redirect(concern)
    return _detail(request, concern, status=400, **{form_name: form})


def _sending_limited(request):
    # The action's owner is texted and emailed: it counts towards the DSL's sending budget.
    return is_ratelimited(
        request, group=SENDING, key="user", rate=sending_rate, method="POST", increment=True
    )


def _save_dsl_forms(request, concern, *, pressed):
    """The triage and the new action, whichever button was pressed: each is saved if it was
    typed in (or its button pressed), both together or neither; on a refusal both come back
    with everything typed (A5, A7; issue: an action dropped by "Record triage")."""
    triage_form = TriageForm.for_concern(concern, request.POST)
    action_form = ActionForm(request.POST, staff=staff_of(concern.school))
    with_triage = pressed == "triage" or triage_form.is_filled()
    with_action = pressed == "action" or action_form.is_filled()
    forms = {
        "triage_form": triage_form if with_triage else None,
        "action_form": action_form if with_action else None,
    }
    if with_action and _sending_limited(request):
        action_form.add_error(None, TOO_MANY)
        return _detail(request, concern, status=429, **forms)
    # Both validated, so each shows its own errors at once.
    used = [form for form in forms.values() if form is not None]
    valid = [form.is_valid() for form in used]
    if all(valid):
        try:
            concern_triage_and_action(
                concern=concern,
                by=request.user,
                triage=triage_form.cleaned_data if with_triage else None,
                action=action_form.cleaned_data if with_action else None,
            )
        except RuleBroken as error:
            (action_form if pressed == "action" else triage_form).add_error(None, error)
        else:
            done = {
                (True, False): "Triage recorded.",
                (False, True): "Action added; its owner is told (A7).",
                (True, True): "Triage recorded, and the action added; its owner is told (A7).",
            }[(with_triage, with_action)]
            messages.success(request, done)
            return redirect(concern)
    return _detail(request, concern, status=400, **forms)


@login_required
@require_POST
def concern_triage(request, pk):
    concern = get_concern_for(request.user, pk)
    return _save_dsl_forms(request, concern, pressed="triage")


@login_required
@require_POST
def concern_close(request, pk):
    concern = get_concern_for(request.user, pk)
    return _act(
        request,
        concern,
        form=CloseForm(request.POST),
        form_name="close_form",
        act=lambda data: services.concern_close(
            concern=concern, by=request.user, outcome=data["outcome"]
        ),
        done="Concern closed.",
    )


@login_required
@require_POST
def concern_action_add(request, pk):
    """A7: the DSL adds an action with an owner and a due date (and a triage typed with it)."""
    concern = get_concern_for(request.user, pk)
    return _save_dsl_forms(request, concern, pressed="action")


urlpatterns = [
    path("concerns/", concern_list, name="concern-list"),
    path("concerns/new/", concern_create, name="concern-create"),
    path("concerns/<int:pk>/", concern_detail, name="concern-detail"),
    path("concerns/<int:pk>/triage/", concern_triage, name="concern-triage"),
    path("concerns/<int:pk>/close/", concern_close, name="concern-close"),
    path("concerns/<int:pk>/actions/", concern_action_add, name="concern-action-add"),
]
