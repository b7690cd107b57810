from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from visits.selectors import visits_for_pupil

from . import access, roles
from .forms import StaffProfileForm
from .models import RoleRequestOutcome, StaffProfile
from .selectors import display_name, pupils_for


class PupilSearchForm(forms.Form):
    """The pupil search. Django's CharField refuses NUL characters (which PostgreSQL cannot
    hold) and the length cap keeps the LIKE pattern within what the database accepts."""

    q = forms.CharField(
        required=False,
        max_length=100,
        error_messages={"max_length": "Search for at most %(limit_value)d characters of a name."},
    )

    def clean_q(self):
        # Control characters are never part of a name: dropped, as homevisits.cleaning does.
        text = "".join(
            ch if ch.isprintable() else " " if ch.isspace() else "" for ch in self.cleaned_data["q"]
        )
        return " ".join(text.split())


@login_required
def pupil_list(request):
    form = PupilSearchForm(request.GET)
    pupils = access.with_need_to_know(request.user, pupils_for(request.user))
    status = 200
    query = ""
    if form.is_valid():
        query = form.cleaned_data["q"]
        if query:
            pupils = pupils.filter(last_name__icontains=query) | pupils.filter(
                first_name__icontains=query
            )
    else:
        pupils, status = pupils.none(), 400
    context = {"pupils": pupils[:200], "query": query, "form": form}
    return render(request, "schools/pupil_list.html", context, status=status)


@login_required
def pupil_detail(request, pk):
    pupil = pupils_for(request.user).select_related("key_worker").filter(pk=pk).first()
    if pupil is None:
        raise Http404("No such pupil.")
    visits = visits_for_pupil(request.user, pupil)
    context = {
        "pupil": pupil,
        "carers": pupil.carers.all(),
        "visits": visits,
        "sees_details": access.may_see_pupil_details(request.user, pupil),
    }
    return render(request, "schools/pupil_detail.html", context)


@login_required
def my_profile(request):
    """P13: staff keep the mobile they carry up to date; new visits take it from here."""
    profile, _ = StaffProfile.objects.get_or_create(user=request.user)
    form = StaffProfileForm(request.POST or None, instance=profile)
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(request, "Profile saved. Visits already planned keep their own numbers.")
        return redirect("my-profile")
    return render(request, "schools/profile.html", {"form": form})


# A8: roles that read safeguarding records wait for a second person's approval (schools/roles.py).


@login_required
@require_GET
def role_requests(request):
    """Roles waiting for approval, for the headteacher and the trust's admin to decide, and for
    the school admin who asked to follow; the safeguarding roles held, for the head to remove."""
    if not access.may_see_role_requests(request.user):
        raise Http404("No such page.")
    visible = access.role_requests_for(request.user)
    waiting = list(visible.filter(outcome=RoleRequestOutcome.WAITING).order_by("asked_at", "pk"))
    for role_request in waiting:
        role_request.why_not = access.why_not_decide(request.user, role_request)
        role_request.approver = roles.approver_words(role_request)
    decided = visible.exclude(outcome=RoleRequestOutcome.WAITING).order_by("-decided_at", "-pk")
    held = access.removable_roles_for(request.user).order_by(
        "school__name", "role", "user__last_name"
    )
    context = {"waiting": waiting, "decided": decided[:50], "held": held}
    return render(request, "schools/role_requests.html", context)


def _decide(request, pk, decide, done):
    role_request = access.get_role_request_for(request.user, pk)
    try:
        decide(role_request)
    except roles.RoleRefused as refusal:
        messages.error(request, " ".join(refusal.messages))
    else:
        person, role = display_name(role_request.user), role_request.get_role_display()
        messages.success(request, done.format(person=person, role=role, school=role_request.school))
    return redirect("role-requests")


@login_required
@require_POST
def role_request_approve(request, pk):
    return _decide(
        request,
        pk,
        lambda rr: roles.role_request_approve(role_request=rr, by=request.user, request=request),
        "Approved: {person} now has the role {role} at {school}.",
    )


@login_required
@require_POST
def role_request_refuse(request, pk):
    reason = request.POST.get("reason", "")[:2000]
    return _decide(
        request,
        pk,
        lambda rr: roles.role_request_refuse(
            role_request=rr, by=request.user, reason=reason, request=request
        ),
        "Refused: {person} was not given the role {role} at {school}.",
    )


@login_required
@require_POST
def role_remove(request, pk):
    membership = access.get_removable_role_for(request.user, pk)
    try:
        roles.role_remove(membership=membership, by=request.user, request=request)
    except roles.RoleRefused as refusal:
        messages.error(request, " ".join(refusal.messages))
    else:
        messages.success(
            request,
            f"{display_name(membership.user)} no longer has the role "
            f"{membership.get_role_display()} at {membership.school}.",
        )
    return redirect("role-requests")
