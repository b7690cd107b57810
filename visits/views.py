"""Thin views: each reads through access/selectors and changes state through one service."""

import datetime

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from escalation.access import may_record_code_word
from escalation.access import may_respond as escalation_may_respond
from escalation.responses import code_word_record
from escalation.selectors import on_visit_alert, staff_today
from safeguarding.services.minutes import has_record_after, minutes_offer
from schools.selectors import planning_schools, pupils_for, visiting_staff_of

from . import selectors, services
from .access import get_visit_for, visible_visits
from .forms import (
    CancelForm,
    DecisionForm,
    DoorForm,
    ExtendForm,
    PositionFields,
    RiskAssessmentForm,
    VisitForm,
)
from .models import Visit
from .rules import RuleBroken, available_actions, backup_gap, decision_blockers


@login_required
def home(request):
    """Each person lands where their work is (office: the live board; authorisers: queue; ...)."""
    duties = selectors.duties_of(request.user)
    if duties["office"] and duties["holds_schedule"]:
        return redirect("board")
    if duties["authorises"]:
        return redirect("queue")
    if duties["holds_schedule"]:
        return redirect("schedule")
    if duties["plans"]:
        return redirect("my-visits")
    if duties["school_admin"] or request.user.is_staff:
        return redirect("admin:index")
    return render(request, "visits/no_role.html", status=403)


def _not_editable(request, visit):
    messages.error(
        request, f"A {visit.get_status_display().lower()} visit can no longer be changed."
    )
    return redirect(visit)


def _refused(request, error):
    for message in error.messages:
        messages.error(request, message)


def _planning_choices(user):
    """The pupils and staff this person may plan a visit with: those of their schools."""
    schools = planning_schools(user)
    return pupils_for(user).filter(school__in=schools), visiting_staff_of(schools)


def _keep_typed_with_fresh_version(form, visit):
    """After an edit conflict, keep what was typed but let a second save, made knowingly, win."""
    current = Visit.objects.filter(pk=visit.pk).values_list("version", flat=True).first()
    data = form.data.copy()
    data["version"] = current
    form.data = data


@login_required
def my_visits(request):
    now = timezone.now()
    today = list(staff_today(request.user, now=now))
    visits = [v for v in selectors.visits_for_staff(request.user) if v not in today]
    # Open visits stay at the top until they are done with, even once their time has passed.
    upcoming = [v for v in visits if v.is_cancellable]
    past = sorted(
        (v for v in visits if not v.is_cancellable), key=lambda v: v.planned_start, reverse=True
    )
    context = {"today": today, "upcoming": upcoming, "past": past[:50]}
    return render(request, "visits/my_visits.html", context)


@login_required
def visit_create(request):
    pupils, staff = _planning_choices(request.user)
    if not pupils.exists():
        raise PermissionDenied("You do not plan visits at any school with pupils.")
    initial = {}
    if staff.filter(pk=request.user.pk).exists():
        profile = getattr(request.user, "staff_profile", None)
        initial["staff_1"] = request.user.pk
        if profile is not None:
            initial["vehicle_description"] = profile.vehicle_description
            initial["vehicle_registration"] = profile.vehicle_registration
    if "pupil" in request.GET:
        initial["pupil"] = request.GET["pupil"]
    form = VisitForm(request.POST or None, pupils=pupils, staff=staff, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            visit = services.visit_create(
                pupil=form.cleaned_data["pupil"],
                by=request.user,
                details=form.details(),
                staff=form.staff_pairs(),
            )
        except RuleBroken as error:
            form.add_error(None, error)
        else:
            messages.success(request, "Visit saved as a draft. Next, the risk assessment (P5).")
            return redirect("visit-risk", pk=visit.pk)
    return render(request, "visits/visit_form.html", {"form": form, "creating": True})


@login_required
def visit_detail(request, pk):
    visit = get_visit_for(request.user, pk)
    now = timezone.now()
    actions = available_actions(visit=visit, user=request.user, now=now)
    may_respond = escalation_may_respond(request.user, visit.school)
    context = {
        "visit": visit,
        "actions": actions,
        "timeline": selectors.timeline(visit),
        "authorisations": visit.authorisations.select_related("decided_by"),
        "problems": services.submission_problems(visit, now=now) if "submit" in actions else [],
        "risk": getattr(visit, "risk_assessment", None),
        "is_staff_on_visit": request.user.pk in visit.staff_user_ids(),
        "may_respond": may_respond,
        "may_record_code_word": may_record_code_word(request.user, visit),
        "has_record_after": has_record_after(visit),
    }
    return render(request, "visits/visit_detail.html", context)


@login_required
def visit_edit(request, pk):
    visit = get_visit_for(request.user, pk)
    if not visit.is_editable:
        return _not_editable(request, visit)
    _, staff = _planning_choices(request.user)
    form = VisitForm(request.POST or None, instance=visit, pupils=None, staff=staff)
    if request.method == "POST" and form.is_valid():
        try:
            services.visit_update(
                visit=visit,
                by=request.user,
                details=form.details(),
                staff=form.staff_pairs(),
                expected_version=form.cleaned_data.get("version"),
            )
        except RuleBroken as error:
            form.add_error(None, error)
            _keep_typed_with_fresh_version(form, visit)
        else:
            messages.success(request, "Visit saved.")
            return redirect(visit)
    elif request.method == "POST":
        # A failed ModelForm validation has already copied the typed values onto the instance;
        # re-read it so the page's header shows what is stored, not what was typed.
        visit.refresh_from_db()
    return render(request, "visits/visit_form.html", {"form": form, "visit": visit})


@login_required
def visit_risk(request, pk):
    visit = get_visit_for(request.user, pk)
    if not visit.is_editable:
        return _not_editable(request, visit)
    existing = getattr(visit, "risk_assessment", None)
    starting_point = None
    if existing is None:
        starting_point = services.last_risk_assessment_for(
            visit.pupil, exclude_visit=visit, among=visible_visits(request.user)
        )
    if existing is not None:
        form = RiskAssessmentForm(request.POST or None, instance=existing, visit=visit)
    elif starting_point is not None:
        initial = starting_point.answers()
        form = RiskAssessmentForm(request.POST or None, initial=initial, visit=visit)
    else:
        # The pupil's record fills what it knows; it never answers "no" on anyone's behalf (P5).
        pupil = visit.pupil
        initial = {"other_professionals": pupil.social_worker_name}
        if pupil.has_animals:
            initial["animals"] = True
        if pupil.previous_aggression:
            initial["previous_aggression"] = True
        form = RiskAssessmentForm(request.POST or None, initial=initial, visit=visit)
    if request.method == "POST" and form.is_valid():
        try:
            services.risk_assessment_record(
                visit=visit,
                by=request.user,
                answers=form.answers(),
                expected_version=form.cleaned_data["version"],
            )
        except RuleBroken as error:
            form.add_error(None, error)
            _keep_typed_with_fresh_version(form, visit)
        else:
            messages.success(request, "Risk assessment saved.")
            return redirect(visit)
    context = {"form": form, "visit": visit, "starting_point": starting_point}
    return render(request, "visits/risk_form.html", context)


@login_required
@require_POST
def visit_submit(request, pk):
    visit = get_visit_for(request.user, pk)
    try:
        services.visit_submit(visit=visit, by=request.user)
    except RuleBroken as error:
        _refused(request, error)
    else:
        messages.success(request, "Sent for authorisation.")
    return redirect(visit)


@login_required
def visit_decide(request, pk):
    visit = get_visit_for(request.user, pk)
    form = DecisionForm(
        request.POST or None, lone=visit.is_lone, initial={"version": visit.version}
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            if data["decision"] == "approve":
                services.visit_authorise(
                    visit=visit,
                    by=request.user,
                    expected_version=data["version"],
                    confirmed=data["confirmed"],
                    lone_visit_reason=data.get("lone_visit_reason", ""),
                )
            elif data["decision"] == "refuse":
                services.visit_refuse(
                    visit=visit,
                    by=request.user,
                    expected_version=data["version"],
                    reason=data["reason"],
                )
            else:
                services.visit_request_changes(
                    visit=visit,
                    by=request.user,
                    expected_version=data["version"],
                    reason=data["reason"],
                )
        except RuleBroken as error:
            form.add_error(None, error)
        else:
            messages.success(request, "Decision recorded.")
            gap = backup_gap(visit) if data["decision"] == "approve" else ""
            if gap:
                messages.warning(request, gap)
            return redirect("queue")
    context = {
        "form": form,
        "visit": visit,
        "risk": getattr(visit, "risk_assessment", None),
        "blockers": decision_blockers(visit=visit, user=request.user),
        "backup_gap": backup_gap(visit),
    }
    return render(request, "visits/decide.html", context)


@login_required
def visit_cancel(request, pk):
    visit = get_visit_for(request.user, pk)
    form = CancelForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.visit_cancel(visit=visit, by=request.user, reason=form.cleaned_data["reason"])
        except RuleBroken as error:
            form.add_error(None, error)
        else:
            messages.success(request, "Visit cancelled.")
            return redirect(visit)
    return render(request, "visits/cancel.html", {"form": form, "visit": visit})


def _button(service, done):
    @login_required
    @require_POST
    def view(request, pk):
        visit = get_visit_for(request.user, pk)
        try:
            service(visit=visit, by=request.user)
        except RuleBroken as error:
            _refused(request, error)
        else:
            messages.success(request, done)
        return redirect(visit)

    return view


@login_required
def queue(request):
    schools = selectors.authorising_schools(request.user)
    visits = list(selectors.visits_for_queue(request.user))
    withdrawn = services.withdrawn_changes(visits)
    rows = [
        (visit, decision_blockers(visit=visit, user=request.user), withdrawn.get(visit.pk))
        for visit in visits
    ]
    return render(request, "visits/queue.html", {"rows": rows, "schools": schools})


@login_required
def schedule(request):
    """P11: today's and tomorrow's visits, printable."""
    schools = selectors.schedule_schools(request.user)
    if not schools:
        raise PermissionDenied("The schedule is held by the office and senior staff (P11).")
    today = timezone.localdate()
    try:
        day = (
            datetime.date.fromisoformat(request.GET.get("day", ""))
            if "day" in request.GET
            else today
        )
    except ValueError:
        messages.error(request, "That is not a date; showing today.")
        day = today
    if not datetime.date.min < day < datetime.date.max - datetime.timedelta(days=1):
        messages.error(request, "That date is out of range; showing today.")
        day = today
    days = [day, day + datetime.timedelta(days=1)]
    context = {
        "schools": schools,
        "days": [(d, selectors.visits_for_schedule(request.user, d)) for d in days],
        "today": today,
        "previous_day": day - datetime.timedelta(days=1),
        "next_day": day + datetime.timedelta(days=1),
    }
    return render(request, "visits/schedule.html", context)


# On the day (D1-D6, E3): the staff's phone screen and its buttons -----------------------------


@login_required
def on_visit(request, pk):
    """The screen staff keep open on a phone during the visit: big buttons, one per check-in."""
    return _on_visit_page(request, get_visit_for(request.user, pk))


def _on_visit_page(request, visit, *, status=200, **forms):
    """The check-in screen; a refused form comes back with its errors and what was typed."""
    context = {
        "visit": visit,
        "actions": available_actions(visit=visit, user=request.user, now=timezone.now()),
        "alert": on_visit_alert(visit),
        "extend_form": ExtendForm(),
        "door_form": DoorForm(),
        "minutes_offer": minutes_offer(request.user, visit),
        **forms,
    }
    return render(request, "visits/on_visit.html", context, status=status)


def _day_page(request, visit):
    """Staff go back to their check-in screen; the office, recording for them, to the visit."""
    if request.user.pk in visit.staff_user_ids():
        return reverse("visit-on", args=[visit.pk])
    return visit.get_absolute_url()


CHECK_INS = {
    "set-off": (services.visit_set_off, "Set off recorded. Safe journey."),
    "arrive": (services.visit_arrive, "Arrival recorded (D1)."),
    "leave": (services.visit_leave, "Leaving recorded: the visit is complete (D1)."),
}


@login_required
@require_POST
def visit_check_in(request, pk, action):
    """One tap: set off, arrived or left safely, with the phone's position if it gave one."""
    visit = get_visit_for(request.user, pk)
    if action not in CHECK_INS:
        raise Http404("No such check-in.")
    service, done = CHECK_INS[action]
    position = PositionFields(request.POST).position()
    try:
        service(visit=visit, by=request.user, position=position)
    except RuleBroken as error:
        _refused(request, error)
    else:
        messages.success(request, done)
    return redirect(_day_page(request, visit))


def _on_visit_form(request, pk, *, form_class, name, call, done):
    """POST a form from the check-in screen: refused, it comes back with its errors and what
    was typed (400); accepted, `call` makes the change through a service."""
    visit = get_visit_for(request.user, pk)
    form = form_class(request.POST)
    if form.is_valid():
        try:
            call(visit, form.cleaned_data, form.position())
        except RuleBroken as error:
            form.add_error(None, error)
        else:
            messages.success(request, done)
            return redirect(_day_page(request, visit))
    return _on_visit_page(request, visit, status=400, **{name: form})


@login_required
@require_POST
def visit_extend(request, pk):
    """D2: the visit runs longer; the return deadline moves."""

    def call(visit, data, position):
        services.visit_extend(
            visit=visit,
            by=request.user,
            minutes=data["minutes"],
            reason=data["reason"],
            position=position,
        )

    return _on_visit_form(
        request,
        pk,
        form_class=ExtendForm,
        name="extend_form",
        call=call,
        done="Extension recorded; the office can see it (D2).",
    )


@login_required
@require_POST
def visit_door(request, pk):
    """D3-D6: call the visit off at the door and leave."""

    def call(visit, data, position):
        services.visit_cancel_at_door(
            visit=visit,
            by=request.user,
            reason=data["reason"],
            note=data["note"],
            position=position,
        )

    return _on_visit_form(
        request,
        pk,
        form_class=DoorForm,
        name="door_form",
        call=call,
        done="Visit called off and your leaving recorded.",
    )


@login_required
def visit_help(request, pk):
    """E3: "I need help". The screen's button asks to confirm in place; without JavaScript this
    page asks instead. Either way one confirmed POST escalates at once."""
    visit = get_visit_for(request.user, pk)
    if request.method != "POST":
        return render(request, "visits/help_confirm.html", {"visit": visit})
    try:
        services.visit_need_help(
            visit=visit, by=request.user, position=PositionFields(request.POST).position()
        )
    except RuleBroken as error:
        _refused(request, error)
    else:
        messages.error(
            request,
            "Help is on its way: the office and police step are raised. "
            "If you can, call 999 yourself.",
        )
    return redirect("visit-on", pk=visit.pk)


@login_required
@require_POST
def visit_code_word(request, pk):
    """E3: the office heard the code word on the phone: police step at once."""
    visit = get_visit_for(request.user, pk)
    try:
        esc = code_word_record(visit=visit, by=request.user)
    except RuleBroken as error:
        _refused(request, error)
        return redirect(visit)
    return redirect("escalation-police", pk=esc.pk)


@login_required
@require_POST
def visit_complete(request, pk):
    """The office records staff who phoned to say they have left (D1)."""
    visit = get_visit_for(request.user, pk)
    try:
        services.visit_leave(visit=visit, by=request.user)
    except RuleBroken as error:
        _refused(request, error)
    else:
        messages.success(request, "Recorded: staff have left (D1).")
    return redirect(visit)
