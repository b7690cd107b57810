"""Helping a colleague sign in: unlocking a locked account, resetting a lost second factor."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from schools.selectors import display_name

from . import access, services
from .lockout import locked_colleagues


def _helper_or_404(user):
    if not access.may_help_anyone(user):
        raise Http404("No such page.")


@login_required
def staff_sign_in(request):
    """Locked accounts (with an Unlock button) and colleagues' second factors, at the schools
    where the person may help."""
    _helper_or_404(request.user)
    from allauth.mfa.models import Authenticator

    unlock_schools = access.helping_schools(request.user, access.UNLOCK_ROLES)
    reset_schools = access.helping_schools(request.user, access.FACTOR_RESET_ROLES)
    colleagues = list(access.colleagues_of(reset_schools).exclude(pk=request.user.pk))
    with_factor = set(
        Authenticator.objects.filter(
            user__in=colleagues, type__in=access.SECOND_FACTOR_TYPES
        ).values_list("user_id", flat=True)
    )
    for person in colleagues:
        person.has_factor = person.pk in with_factor
    return render(
        request,
        "account/staff_sign_in.html",
        {
            "locked": locked_colleagues(unlock_schools),
            "may_unlock": unlock_schools.exists(),
            "colleagues": colleagues,
            "may_reset": bool(colleagues) or reset_schools.exists(),
        },
    )


@login_required
@require_POST
def unlock(request):
    _helper_or_404(request.user)
    schools = access.helping_schools(request.user, access.UNLOCK_ROLES)
    username = request.POST.get("username", "")[:150]
    person = access.colleagues_of(schools).filter(username=username).first()
    if person is None:
        raise Http404("No such person at your school.")
    school = schools.filter(memberships__user=person).order_by("name").first()
    if services.account_unlock(person=person, school=school, by=request.user, request=request):
        messages.success(request, f"{display_name(person)} can sign in again now.")
    else:
        messages.info(request, f"{display_name(person)} was not locked out.")
    return redirect("accounts-staff")


@login_required
def factors_reset(request, pk):
    """Confirm, then remove every second factor of a colleague who lost their phone."""
    _helper_or_404(request.user)
    person, school = access.get_person_for_factor_reset(request.user, pk)
    if request.method == "POST":
        services.factors_reset(person=person, school=school, by=request.user, request=request)
        messages.success(
            request,
            f"{display_name(person)}'s second factors were removed and they were emailed. "
            "They set up a new one the next time they sign in.",
        )
        return redirect("accounts-staff")
    return render(
        request,
        "account/factors_reset_confirm.html",
        {"person": person, "school": school},
    )
