"""The office's live board, alerts and the police-contact instructions; thin views over
escalation/services.py."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db import connection
from django.http import HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST
from django_ratelimit.decorators import ratelimit

from homevisits.cleaning import SENDING, sending_rate
from homevisits.views import ratelimited
from schools.selectors import schools_for
from visits.rules import RuleBroken
from visits.selectors import schedule_schools

from . import responses, selectors, services
from .access import get_escalation_for, may_answer, may_start_drill, why_not
from .forms import CallForm, DrillForm, PoliceCallForm, PoliceStepForm, ResolveForm


def _board_context(request, now):
    alerts = selectors.open_alerts(request.user)
    for esc in alerts:
        # Someone on the visit sees its alert but cannot silence it (access.may_answer).
        esc.answerable = may_answer(request.user, esc)
    return {
        "rows": selectors.board_visits(request.user, now=now),
        "alerts": alerts,
        "watchers_down": [services.WATCHER_NAMES[name] for name in services.watchers_down(now=now)],
        "now": now,
    }


def _holds_board(user):
    schools = schedule_schools(user)
    if not schools:
        raise PermissionDenied("The board is for the office and senior staff (P11, E1).")
    return schools


@login_required
def board(request):
    """E1: every visit active today, the most urgent first; polls itself for changes."""
    schools = _holds_board(request.user)
    context = _board_context(request, timezone.now())
    context["drill_schools"] = [s for s in schools if may_start_drill(request.user, s)]
    return render(request, "escalation/board.html", context)


@never_cache
def board_rows(request):
    """The board's live part, fetched by htmx every few seconds."""
    if not request.user.is_authenticated:
        # A board left open past the session's end goes to the login page, not a broken swap.
        response = HttpResponse(status=204)
        response["HX-Redirect"] = reverse("account_login") + "?next=" + reverse("board")
        return response
    _holds_board(request.user)
    return render(request, "escalation/_board_rows.html", _board_context(request, timezone.now()))


def _alert_page(request, esc, *, status=200, **forms):
    """The alert with its forms; a refused form comes back with its errors and what was typed."""
    context = {
        "esc": esc,
        "why_not": why_not(request.user, esc),
        "now": timezone.now(),
        "timeline": selectors.alert_timeline(esc),
        "call_form": CallForm(),
        "police_form": PoliceCallForm(),
        "resolve_form": ResolveForm(),
        "step_form": PoliceStepForm(),
        **forms,
    }
    return render(request, "escalation/detail.html", context, status=status)


@login_required
def escalation_detail(request, pk):
    return _alert_page(request, get_escalation_for(request.user, pk))


@login_required
def police_instructions(request, pk):
    """E2: one printable page in large type, to read out on the phone to 999."""
    esc = get_escalation_for(request.user, pk)
    context = selectors.police_sheet(esc, now=timezone.now())
    return render(request, "escalation/police.html", context)


def _act(request, esc, call, done):
    try:
        call()
    except RuleBroken as error:
        for message in error.messages:
            messages.error(request, message)
    else:
        messages.success(request, done)
    return redirect(esc.get_absolute_url())


@login_required
@require_POST
def escalation_acknowledge(request, pk):
    esc = get_escalation_for(request.user, pk)
    if request.htmx:
        try:
            responses.escalation_acknowledge(escalation=esc, by=request.user)
        except RuleBroken as error:
            return HttpResponse(" ".join(error.messages), status=403)
        return render(
            request, "escalation/_board_rows.html", _board_context(request, timezone.now())
        )
    return _act(
        request,
        esc,
        lambda: responses.escalation_acknowledge(escalation=esc, by=request.user),
        "Alert acknowledged.",
    )


def _form_action(request, pk, *, form_class, name, call, done):
    """POST a form about an alert: a bad form is shown again (400); a good one calls `call`."""
    esc = get_escalation_for(request.user, pk)
    form = form_class(request.POST)
    if not form.is_valid():
        return _alert_page(request, esc, status=400, **{name: form})
    return _act(request, esc, lambda: call(esc, form.cleaned_data), done)


@login_required
@require_POST
def escalation_call(request, pk):
    def call(esc, data):
        responses.escalation_record_call(
            escalation=esc,
            by=request.user,
            outcome=data["outcome"],
            note=data["note"],
            whereabouts=data["whereabouts"],
            until=data["until"],
        )

    return _form_action(
        request, pk, form_class=CallForm, name="call_form", call=call, done="Call recorded."
    )


@login_required
@require_POST
def escalation_police_called(request, pk):
    def call(esc, data):
        responses.escalation_record_police_call(
            escalation=esc,
            by=request.user,
            reference=data["reference"],
            called_at=data["called_at"],
        )

    return _form_action(
        request,
        pk,
        form_class=PoliceCallForm,
        name="police_form",
        call=call,
        done="Police call recorded.",
    )


@login_required
@require_POST
def escalation_police_step(request, pk):
    def call(esc, data):
        responses.escalation_raise_police_step(
            escalation=esc, by=request.user, reason=data["reason"]
        )

    return _form_action(
        request,
        pk,
        form_class=PoliceStepForm,
        name="step_form",
        call=call,
        done="Police step raised: follow the police-contact instructions.",
    )


@login_required
@require_POST
def escalation_resolve(request, pk):
    def call(esc, data):
        responses.escalation_resolve(
            escalation=esc,
            by=request.user,
            whereabouts=data["whereabouts"],
            until=data["until"],
            note=data["note"],
        )

    return _form_action(
        request,
        pk,
        form_class=ResolveForm,
        name="resolve_form",
        call=call,
        done="Alert resolved.",
    )


@login_required
@require_POST
# A drill texts and emails the office like a real alert: it counts towards what one person may
# cause to be sent (settings.SENDING_RATE). Blocked here, not by an exception, as the refusal
# page is ours (homevisits.views.ratelimited).
@ratelimit(group=SENDING, key="user", rate=sending_rate, method="POST", block=False)
def drill_start(request):
    if request.limited:
        return ratelimited(request, None)
    form = DrillForm(request.POST)
    if not form.is_valid():
        return HttpResponse(" ".join(form.errors["school"]), status=400)
    # A school the person holds no role at is one they may not know of (A8).
    school = get_object_or_404(schools_for(request.user), pk=form.cleaned_data["school"])
    try:
        esc = responses.drill_start(school=school, by=request.user)
    except RuleBroken as error:
        for message in error.messages:
            messages.error(request, message)
        return redirect("board")
    messages.success(request, "Drill started: the office's response is being timed.")
    return redirect(esc)


@never_cache
def healthz(request):
    """200 when the overdue watch can run; 503 naming what is down (for monitoring)."""
    now = timezone.now()
    down = []
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except Exception:
        down.append("database")
    if not _broker_ok():
        down.append("broker")
    if "database" not in down:
        down += services.watchers_down(now=now)
    body = {"status": "ok" if not down else "down", "down": down}
    return JsonResponse(body, status=503 if down else 200)


def _broker_ok():
    from homevisits.celery import app

    try:
        with app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
        return True
    except Exception:
        return False
