"""Actions (A7): my actions, the school's overdue ones, and marking one done. Thin views over
safeguarding/services/actions.py."""

import datetime

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Q
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import NoReverseMatch, path, reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from homevisits.cleaning import local_next
from schools.selectors import schools_for
from visits.rules import RuleBroken

from ..access import visible_concerns, visible_minutes
from ..forms import ActionDoneForm
from ..models import Action, ActionStatus
from ..services import actions as services

MAX_ROWS = 200
RECENTLY = datetime.timedelta(days=30)
RECENT_ROWS = 50


def minutes_url(visit_id):
    # The minutes page is another area's; until it exists, the visit page leads to them.
    try:
        return reverse("minutes-detail", args=[visit_id])
    except NoReverseMatch:
        return reverse("visit-detail", args=[visit_id])


def action_rows(user, actions, *, today, forms=None):
    """Each action with where it came from (linked only if the user may read it, A8), whether
    it is overdue, and its done form if the user may mark it done."""
    actions = list(actions)
    minutes_ids = {a.minutes_id for a in actions if a.minutes_id}
    concern_ids = {a.concern_id for a in actions if a.concern_id}
    readable_minutes = set(
        visible_minutes(user).filter(pk__in=minutes_ids).values_list("pk", flat=True)
        if minutes_ids
        else ()
    )
    readable_concerns = set(
        visible_concerns(user).filter(pk__in=concern_ids).values_list("pk", flat=True)
        if concern_ids
        else ()
    )
    forms = forms or {}
    rows = []
    for action in actions:
        source_url = source = None
        if action.minutes_id:
            source = "Minutes of a home visit"
            if action.minutes_id in readable_minutes:
                source_url = minutes_url(action.minutes.visit_id)
        elif action.concern_id:
            source = "Safeguarding concern"
            if action.concern_id in readable_concerns:
                source_url = reverse("concern-detail", args=[action.concern_id])
        may_complete = action.status == ActionStatus.OPEN and services.may_complete(user, action)
        form = None
        if may_complete:
            form = forms.get(action.pk) or ActionDoneForm(auto_id=f"id_action{action.pk}_%s")
        rows.append(
            {
                "action": action,
                "overdue": action.is_overdue(today),
                "source": source,
                "source_url": source_url,
                "form": form,
            }
        )
    return rows


def _related(actions):
    return actions.select_related("pupil", "owner", "done_by", "minutes")


@login_required
def my_actions(request, *, status=200, forms=None):
    user = request.user
    today = timezone.localdate()
    mine = _related(
        Action.objects.filter(owner=user, status=ActionStatus.OPEN, school__in=schools_for(user))
    ).order_by("due_on", "pk")[:MAX_ROWS]
    school_overdue = []
    follow_up = schools_for(user, roles=services.FOLLOW_UP_ROLES)
    follows_up = follow_up.exists()
    if follows_up:
        school_overdue = _related(
            services.visible_actions(user)
            .filter(school__in=follow_up, status=ActionStatus.OPEN, due_on__lt=today)
            .exclude(owner=user)
        ).order_by("due_on", "pk")[:MAX_ROWS]
    # A7: what came of the actions done lately, by them or given to them; only actions they
    # may know of (A8).
    recently_done = _related(
        services.visible_actions(user).filter(
            Q(owner=user) | Q(done_by=user),
            status=ActionStatus.DONE,
            done_at__gte=timezone.now() - RECENTLY,
        )
    ).order_by("-done_at", "-pk")[:RECENT_ROWS]
    context = {
        "mine": action_rows(user, mine, today=today, forms=forms),
        "recently_done": action_rows(user, recently_done, today=today),
        "recent_days": RECENTLY.days,
        "follows_up": follows_up,
        "school_overdue": action_rows(user, school_overdue, today=today, forms=forms),
        "today": today,
    }
    return render(request, "safeguarding/actions/my_actions.html", context, status=status)


@login_required
@require_POST
def action_done(request, pk):
    action = get_object_or_404(services.visible_actions(request.user), pk=pk)
    form = ActionDoneForm(request.POST, auto_id=f"id_action{action.pk}_%s")
    if form.is_valid():
        try:
            services.action_complete(
                action=action, by=request.user, outcome=form.cleaned_data["outcome"]
            )
        except RuleBroken as error:
            form.add_error(None, error)
        else:
            messages.success(request, "Action marked done (A7).")
            return redirect(local_next(request, request.POST.get("next"), reverse("my-actions")))
    if form.non_field_errors():
        messages.error(request, " ".join(form.non_field_errors()))
    return my_actions(request, status=400, forms={action.pk: form})


urlpatterns = [
    path("actions/", my_actions, name="my-actions"),
    path("actions/<int:pk>/done/", action_done, name="action-done"),
]
