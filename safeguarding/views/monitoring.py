"""Policy monitoring for the headteacher (A9): a term's figures, charts and a CSV download."""

import csv

from django import forms
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.urls import path
from django.utils import timezone

from homevisits.csv_safe import csv_cell
from schools.selectors import display_name, schools_for

from ..forms import plausible_date_field
from ..selectors import (
    LIST_LIMIT,
    VISIT_LISTS,
    Period,
    action_text,
    incidents_in,
    monitoring,
    monitoring_schools,
    overdue_actions,
    recent_terms,
    term_from_key,
    term_of,
    visit_list,
)
from ..services.concerns import may_read_all

CUSTOM = "custom"
LIST_TITLES = {
    "lone": "Lone visits approved (P3)",
    "safety": "Visits called off at the door for safety (D4-D6)",
    "unauthorised": "Visits carried out without a current authorisation (P1)",
    "missing_record": "Completed visits still missing minutes or debrief (A1, A6)",
}


class PeriodForm(forms.Form):
    school = forms.ModelChoiceField(queryset=None, required=False, empty_label=None)
    term = forms.ChoiceField(label="Term", required=False)
    date_from = plausible_date_field("From")
    date_to = plausible_date_field("To")

    def __init__(self, *args, schools, today, **kwargs):
        super().__init__(*args, **kwargs)
        self.today = today
        self.fields["school"].queryset = schools
        self.fields["term"].choices = [(t.key, t.label) for t in recent_terms(today)] + [
            (CUSTOM, "Dates of my choice")
        ]
        self.fields["term"].initial = term_of(today).key

    def clean(self):
        data = super().clean()
        start, end = data.get("date_from"), data.get("date_to")
        custom = data.get("term") == CUSTOM or start or end
        if custom and not (start and end):
            raise forms.ValidationError("Give both dates, or choose a term.")
        if start and end and start > end:
            self.add_error("date_to", "The end date is before the start date.")
        return data

    def period(self):
        data = self.cleaned_data if self.is_bound else {}
        start, end = data.get("date_from"), data.get("date_to")
        if start and end:
            label = f"{start:%-d %b %Y} to {end:%-d %b %Y}"
            return Period(start=start, end=end, label=label)
        return term_from_key(data.get("term")) or term_of(self.today)


def _monitoring_request(request):
    """(school, period form) for a monitoring request, or the refusal (A8, A9)."""
    user = request.user
    schools = monitoring_schools(user)
    if not schools.exists():
        if schools_for(user).exists():
            raise PermissionDenied("The monitoring page is for the headteacher, DSL and SLT.")
        raise Http404("No such page.")
    today = timezone.localdate()
    wanted = request.GET.get("school")
    if wanted and not (
        wanted.isascii()
        and wanted.isdigit()
        and len(wanted) < 12
        and schools.filter(pk=wanted).exists()
    ):
        raise Http404("No such school.")
    form = PeriodForm(request.GET or None, schools=schools, today=today)
    valid = not request.GET or form.is_valid()
    school = schools.filter(pk=wanted).first() if wanted else schools.order_by("name").first()
    return school, form, valid


def _duration(seconds):
    if seconds is None:
        return "—"
    seconds = round(seconds)
    minutes, seconds = divmod(seconds, 60)
    if minutes >= 60:
        hours, minutes = divmod(minutes, 60)
        return f"{hours} h {minutes} min"
    return f"{minutes} min {seconds:02d} s" if minutes else f"{seconds} s"


@login_required
def monitoring_view(request):
    school, form, valid = _monitoring_request(request)
    if not valid:
        context = {"form": form, "school": school, "figures": None}
        return render(request, "safeguarding/monitoring/page.html", context, status=400)
    figures = monitoring(
        school, form.period(), now=timezone.now(), reads_concerns=may_read_all(request.user, school)
    )
    context = {
        "form": form,
        "school": school,
        "figures": figures,
        "chart": figures.chart_data(),
        "lists": [(name, LIST_TITLES[name], figures.lists[name]) for name in VISIT_LISTS],
        "median": _duration(figures.response["median_seconds"]),
        "worst": _duration(figures.response["worst_seconds"]),
        "several_schools": monitoring_schools(request.user).count() > 1,
        "list_limit": LIST_LIMIT,
    }
    return render(request, "safeguarding/monitoring/page.html", context)


# --- CSV ---------------------------------------------------------------------------------------


def _local(moment):
    return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M") if moment else ""


def _staff(visit):
    return "; ".join(display_name(a.user) for a in visit.assignments.all())


def csv_rows(figures):
    period, school = figures.period, figures.school
    yield ["Policy monitoring (A9)", school.name, period.label, period.start, period.end]
    yield []
    yield ["Figure", "Value"]
    yield ["Visits", figures.total]
    for name in VISIT_LISTS:
        yield [LIST_TITLES[name], figures.counts[name]]
    yield ["Completed visits missing minutes", figures.counts["missing_minutes"]]
    yield ["Completed visits missing a debrief", figures.counts["missing_debrief"]]
    response = figures.response
    yield ["Overdue incidents (alerts, not drills)", response["n"]]
    yield ["Incidents acknowledged by the office", response["acknowledged"]]
    yield ["Office time to respond, median (s)", _seconds(response["median_seconds"])]
    yield ["Office time to respond, worst (s)", _seconds(response["worst_seconds"])]
    yield ["Incidents that reached the police step", response["police_step"]]
    yield ["Incidents where the police were called", response["police_called"]]
    yield ["Actions overdue", figures.overdue_actions_count]
    yield []
    yield ["Visits by reason and outcome"]
    yield ["Reason", "Outcome", "Visits"]
    for reason, cells, _ in figures.by_reason:
        for outcome in figures.outcomes:
            if cells.get(outcome):
                yield [reason, outcome, cells[outcome]]
    for name in VISIT_LISTS:
        yield []
        yield [LIST_TITLES[name]]
        yield ["Visit", "Planned start", "Pupil", "Reason", "Status", "Staff", "Called off because"]
        for visit in visit_list(school, period, name):
            yield [
                visit.pk,
                _local(visit.planned_start),
                str(visit.pupil),
                visit.get_purpose_display(),
                visit.get_status_display(),
                _staff(visit),
                visit.get_door_reason_display() if visit.door_reason else "",
            ]
    yield []
    yield ["Overdue incidents"]
    yield [
        "Raised",
        "Pupil",
        "Alert",
        "Office time to respond (s)",
        "Police step reached",
        "Police called",
        "Resolved",
    ]
    for esc in incidents_in(school, period):
        yield [
            _local(esc.raised_at),
            str(esc.visit.pupil) if esc.visit else "",
            esc.get_kind_display(),
            _seconds(esc.response_seconds()),
            esc.at_police_step,
            _local(esc.police_called_at),
            _local(esc.resolved_at),
        ]
    yield []
    yield ["Actions overdue"]
    yield ["Due", "Pupil", "Action", "Owner"]
    for action in overdue_actions(school, period, figures.today):
        text = action_text(action, reads_concerns=figures.reads_concerns)
        yield [action.due_on, str(action.pupil), text, display_name(action.owner)]


def _seconds(value):
    return None if value is None else round(value)


@login_required
def monitoring_export(request):
    school, form, valid = _monitoring_request(request)
    if not valid:
        return HttpResponse(
            "Bad filter: " + "; ".join(" ".join(e) for e in form.errors.values()),
            status=400,
            content_type="text/plain; charset=utf-8",
        )
    figures = monitoring(
        school,
        form.period(),
        now=timezone.now(),
        with_lists=False,
        reads_concerns=may_read_all(request.user, school),
    )
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    filename = f"monitoring-{school.slug}-{figures.period.start}-{figures.period.end}.csv"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    writer = csv.writer(response)
    for row in csv_rows(figures):
        writer.writerow([csv_cell(cell) for cell in row])
    return response


urlpatterns = [
    path("monitoring/", monitoring_view, name="monitoring"),
    path("monitoring/export.csv", monitoring_export, name="monitoring-export"),
]
