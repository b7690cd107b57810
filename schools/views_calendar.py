"""The on-call rota (E1) and the school calendar (A7, E1), kept by the headteacher and the office.

Anyone else gets 404 (schools/access.py). Changes are POSTs; each records who made it and when.
"""

import datetime

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.mixins import LoginRequiredMixin
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST
from django.views.generic import FormView, TemplateView

from .access import calendar_schools, get_entry_for, get_school_for
from .calendar import bank_holidays, calendar_of, local, local_instant
from .forms import ClosureDayForm, OnCallShiftForm, TermForm
from .selectors import on_call_at, on_call_gaps, on_call_shifts, rota_for

ROTA_DAYS = 28
# The rota page warns of this many times with nobody on call, at most.
GAPS_SHOWN = 10
# The calendar page warns when the recorded terms run out sooner than this.
TERMS_AHEAD = datetime.timedelta(weeks=8)

SHIFT_OVER = "This shift is over: it stays on record as who was on call (E1)."

ENTRIES = {
    "shift": {"form": OnCallShiftForm, "page": "rota", "name": "on-call shift", "a": "an"},
    "term": {"form": TermForm, "page": "school-calendar", "name": "term", "a": "a"},
    "closure": {"form": ClosureDayForm, "page": "school-calendar", "name": "closure day", "a": "a"},
}


def _choose_school(request, page, title):
    """With one school, its page; with several, a list to choose from; with none, 404."""
    schools = list(calendar_schools(request.user))
    if not schools:
        raise Http404("No such page.")
    if len(schools) == 1:
        return redirect(page, school=schools[0].slug)
    links = [(school, reverse(page, kwargs={"school": school.slug})) for school in schools]
    return render(request, "schools/choose_school.html", {"links": links, "title": title})


@login_required
def rota_home(request):
    return _choose_school(request, "rota", "On-call rota")


@login_required
def calendar_home(request):
    return _choose_school(request, "school-calendar", "School calendar")


class _SchoolPageMixin(LoginRequiredMixin):
    """The school from the URL, or 404 for anyone who does not keep its calendar and rota."""

    def dispatch(self, request, *args, **kwargs):
        if not request.user.is_authenticated:
            return self.handle_no_permission()
        self.now = timezone.now()
        self.school = get_school_for(request.user, kwargs["school"])
        self.load(**kwargs)
        return super().dispatch(request, *args, **kwargs)

    def load(self, **kwargs):
        """What else the page needs from its URL, once the school is known."""

    def get_context_data(self, **kwargs):
        # TemplateView passes the URL's `school` (a slug) in kwargs: the school object wins.
        kwargs.update(school=self.school, now=self.now)
        return super().get_context_data(**kwargs)


class RotaView(_SchoolPageMixin, TemplateView):
    template_name = "schools/rota.html"

    def get_context_data(self, **kwargs):
        today = local(self.now).date()
        shifts = list(rota_for(self.school, today, ROTA_DAYS))
        # Someone who has left or was deactivated keeps their shifts on record, uncalled.
        callable_ids = set(
            on_call_shifts(self.school)
            .filter(pk__in=[shift.pk for shift in shifts])
            .values_list("pk", flat=True)
        )
        days = {}
        for shift in shifts:
            shift.is_over = shift.ends_at <= self.now
            shift.is_called = shift.pk in callable_ids
            days.setdefault(local(shift.starts_at).date(), []).append(shift)
        gaps = on_call_gaps(
            self.school,
            self.now,
            self.now + datetime.timedelta(days=ROTA_DAYS),
            office_closed_only=True,
        )
        return super().get_context_data(
            days=sorted(days.items()),
            on_call_now=on_call_at(self.school, self.now),
            office_open=self.school.office_is_open(self.now),
            gaps=gaps[:GAPS_SHOWN],
            more_gaps=max(len(gaps) - GAPS_SHOWN, 0),
            changes=self.school.calendar_changes.select_related("by")[:10],
            rota_days=ROTA_DAYS,
            **kwargs,
        )


class CalendarView(_SchoolPageMixin, TemplateView):
    template_name = "schools/calendar.html"

    def get_context_data(self, **kwargs):
        today = local(self.now).date()
        since = today - datetime.timedelta(days=366)
        calendar = calendar_of(self.school)
        holidays = [
            (day, name)
            for year in (today.year, today.year + 1)
            for day, name in sorted(bank_holidays(self.school.nation, year).items())
            if day >= today
        ]
        return super().get_context_data(
            terms=self.school.terms.filter(ends_on__gte=since).select_related("updated_by"),
            closures=self.school.closure_days.filter(date__gte=since).select_related("updated_by"),
            bank_holidays=holidays,
            today=today,
            today_is_school_day=calendar.is_school_day(today),
            no_terms=not calendar.terms,
            terms_run_out=(
                calendar.known_until
                if calendar.known_until and calendar.known_until < today + TERMS_AHEAD
                else None
            ),
            **kwargs,
        )


class EntryFormView(_SchoolPageMixin, FormView):
    """Add (no pk in the URL) or change a shift, term or closure day."""

    template_name = "schools/calendar_form.html"
    kind = None

    def load(self, **kwargs):
        self.entry, self.over = None, False
        if "pk" in kwargs:
            _, self.entry = get_entry_for(
                self.request.user, self.school.slug, self.kind, kwargs["pk"]
            )
            # Read before the form writes its values onto the entry.
            self.over = self.kind == "shift" and self.entry.ends_at <= self.now

    def get_form_class(self):
        return ENTRIES[self.kind]["form"]

    def get_form_kwargs(self):
        return {
            **super().get_form_kwargs(),
            "school": self.school,
            "now": self.now,
            "instance": self.entry,
        }

    def get_initial(self):
        if self.kind != "shift" or self.entry is not None:
            return {}
        # An evening is the usual shift: from when the office next closes until it opens.
        day = local(self.now).date()
        starts = local_instant(day, self.school.office_closes_at)
        if starts <= self.now:
            day += datetime.timedelta(days=1)
            starts = local_instant(day, self.school.office_closes_at)
        ends = local_instant(day + datetime.timedelta(days=1), self.school.office_opens_at)
        return {"starts_at": local(starts), "ends_at": local(ends)}

    def form_valid(self, form):
        if self.over:
            form.add_error(None, SHIFT_OVER)
            return self.form_invalid(form)
        entry = form.save_by(by=self.request.user)
        verb = "changed" if self.entry else "added"
        messages.success(self.request, f"{ENTRIES[self.kind]['name'].capitalize()} {verb}: {entry}")
        return redirect(ENTRIES[self.kind]["page"], school=self.school.slug)

    def get_context_data(self, **kwargs):
        return super().get_context_data(
            entry=self.entry,
            over=self.over,
            kind=self.kind,
            thing=ENTRIES[self.kind]["name"],
            a=ENTRIES[self.kind]["a"],
            back=reverse(ENTRIES[self.kind]["page"], kwargs={"school": self.school.slug}),
            delete_url=self.entry
            and reverse(f"{self.kind}-delete", args=[self.school.slug, self.entry.pk]),
            **kwargs,
        )


@login_required
@require_POST
def entry_delete(request, school, kind, pk):
    school, entry = get_entry_for(request.user, school, kind, pk)
    now = timezone.now()
    page = ENTRIES[kind]["page"]
    if kind == "shift" and entry.ends_at <= now:
        messages.error(request, SHIFT_OVER)
        return redirect(page, school=school.slug)
    what = str(entry)
    entry.delete_by(by=request.user, now=now)
    messages.success(request, f"{ENTRIES[kind]['name'].capitalize()} deleted: {what}")
    return redirect(page, school=school.slug)
