"""The pupil's file (A2): one chronology of everything the reader may see about a pupil (A8)."""

from django import forms
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import render
from django.urls import path
from django.utils import timezone

from schools.selectors import pupils_for

from ..forms import plausible_date_field
from ..selectors import EntryKind, FileFilters, pupil_file
from ..services.minutes import minutes_summaries_viewed

MAX_PAGE = 200


class FileFilterForm(forms.Form):
    kind = forms.MultipleChoiceField(
        label="Show",
        choices=EntryKind.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="Nothing ticked shows everything.",
    )
    date_from = plausible_date_field("From")
    date_to = plausible_date_field("To")
    open_actions = forms.BooleanField(label="Open actions only", required=False)
    page = forms.IntegerField(
        required=False, min_value=1, max_value=MAX_PAGE, widget=forms.HiddenInput
    )

    def clean(self):
        data = super().clean()
        start, end = data.get("date_from"), data.get("date_to")
        if start and end and start > end:
            self.add_error("date_to", "The end date is before the start date.")
        return data

    def filters(self):
        data = self.cleaned_data
        return FileFilters(
            kinds=frozenset(data["kind"]),
            date_from=data["date_from"],
            date_to=data["date_to"],
            open_actions_only=data["open_actions"],
            page=data["page"] or 1,
        )


@login_required
def pupil_file_view(request, pk):
    pupil = pupils_for(request.user).filter(pk=pk).first()
    if pupil is None:
        raise Http404("No such pupil.")
    form = FileFilterForm(request.GET or None)
    if request.GET and not form.is_valid():
        context = {"pupil": pupil, "form": form, "file": None}
        return render(request, "safeguarding/pupil_file/file.html", context, status=400)
    filters = form.filters() if request.GET else FileFilters()
    now = timezone.now()
    chronology = pupil_file(request.user, pupil, filters, now=now)
    shown = [
        entry.obj.pk if entry.kind == EntryKind.MINUTES else entry.obj.minutes_id
        for entry in chronology.entries
        if entry.kind in (EntryKind.MINUTES, EntryKind.ADDENDUM)
    ]
    if shown:
        minutes_summaries_viewed(minutes_ids=shown, by=request.user, now=now)
    context = {"pupil": pupil, "form": form, "file": chronology, "filters": filters}
    return render(request, "safeguarding/pupil_file/file.html", context)


urlpatterns = [
    path("pupils/<int:pk>/file/", pupil_file_view, name="pupil-file"),
]
