from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render

from visits.selectors import visits_for_pupil

from .forms import StaffProfileForm
from .models import StaffProfile
from .selectors import pupils_for


@login_required
def pupil_list(request):
    query = request.GET.get("q", "").strip()
    pupils = pupils_for(request.user)
    if query:
        pupils = pupils.filter(last_name__icontains=query) | pupils.filter(
            first_name__icontains=query
        )
    return render(request, "schools/pupil_list.html", {"pupils": pupils[:200], "query": query})


@login_required
def pupil_detail(request, pk):
    pupil = pupils_for(request.user).select_related("key_worker").filter(pk=pk).first()
    if pupil is None:
        raise Http404("No such pupil.")
    visits = visits_for_pupil(request.user, pupil)
    context = {"pupil": pupil, "carers": pupil.carers.all(), "visits": visits}
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
