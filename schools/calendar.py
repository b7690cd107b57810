"""The school calendar (A7, E1): which days are school days, and when the office is closed.

A day is a school day when it is a weekday, inside one of the school's terms, not a bank holiday
of the school's nation and not one of its closure days (INSET days and other closures). A school
that has recorded no terms counts every weekday as term time, so a new school works from its
first day. Once a school records terms, a day outside all of them is a holiday: a school that
has not yet entered next year's terms has its office counted as closed, which sends alerts to
whoever is on call rather than to an empty office.

Days are London days (the four nations share the clock); instants are aware datetimes, and
spans are worked out on UTC instants, never on wall-clock times that jump at the clock changes.
"""

import dataclasses
import datetime
import functools
import types
import zoneinfo

import holidays
from django.db.models import IntegerField, Value

from .models import Nation

LONDON = zoneinfo.ZoneInfo("Europe/London")
UTC = datetime.UTC
ONE_DAY = datetime.timedelta(days=1)

# The `holidays` library's codes for the UK's nations.
SUBDIVISIONS = {
    Nation.ENGLAND: "ENG",
    Nation.WALES: "WLS",
    Nation.SCOTLAND: "SCT",
    Nation.NORTHERN_IRELAND: "NIR",
}

# What to prefetch on schools so that their calendars cost no further query.
CALENDAR_PREFETCH = ("terms", "closure_days")


def calendar_prefetch(path=""):
    """The prefetch_related() lookups that load the calendar of the schools at `path`:
    `Escalation.objects.prefetch_related(*calendar_prefetch("school"))`."""
    return tuple(f"{path}__{name}" if path else name for name in CALENDAR_PREFETCH)


def local(at):
    """`at` in London time. A naive datetime is refused: it could be any of two instants."""
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError("The school calendar needs an aware datetime.")
    return at.astimezone(LONDON)


def as_utc(at):
    """`at` as a UTC instant; a naive datetime is refused."""
    return local(at).astimezone(UTC)


def local_instant(day, time):
    """The UTC instant of a London wall-clock time on `day`."""
    return datetime.datetime.combine(day, time, tzinfo=LONDON).astimezone(UTC)


@functools.lru_cache(maxsize=256)
def _bank_holidays(nation, year):
    found = holidays.country_holidays("GB", subdiv=SUBDIVISIONS[nation], years=year)
    return types.MappingProxyType(dict(found))


def bank_holidays(nation, year):
    """{date: name} of the nation's bank holidays in `year`; computed once per process."""
    return _bank_holidays(Nation(nation).value, year)


@dataclasses.dataclass(frozen=True)
class SchoolCalendar:
    """A school's terms and closure days, read once; answers every question about its days."""

    nation: str
    terms: tuple  # ((first day, last day), ...) in order
    closures: frozenset

    def is_bank_holiday(self, day):
        return day in bank_holidays(self.nation, day.year)

    def in_term(self, day):
        return not self.terms or any(first <= day <= last for first, last in self.terms)

    def _open_weekday(self, day):
        return day.weekday() < 5 and not self.is_bank_holiday(day) and day not in self.closures

    def is_school_day(self, day):
        return self.in_term(day) and self._open_weekday(day)

    @property
    def known_until(self):
        """The last day of the last recorded term (None: no terms, every weekday is term)."""
        return self.terms[-1][1] if self.terms else None

    def counts_for_deadlines(self, day):
        """A7: a school day; past the last recorded term, any weekday that is not a bank
        holiday or a closure day, so that a count of school days always ends."""
        if self.known_until is not None and day > self.known_until:
            return self._open_weekday(day)
        return self.is_school_day(day)


def calendar_of(school):
    """The school's calendar: from prefetched terms and closure days if there are any, else one
    query; kept on the instance (School.refresh_from_db drops it)."""
    cached = school.__dict__.get("_calendar")
    if cached is None:
        cached = school._calendar = _load(school)
    return cached


def _load(school):
    prefetched = getattr(school, "_prefetched_objects_cache", {})
    if all(name in prefetched for name in CALENDAR_PREFETCH):
        terms = [(t.starts_on, t.ends_on) for t in school.terms.all()]
        closures = [c.date for c in school.closure_days.all()]
    else:
        # Terms and closure days together in one query: 0 marks a term, 1 a closure day.
        rows = (
            school.terms.order_by()
            .annotate(is_closure=Value(0, output_field=IntegerField()))
            .values_list("is_closure", "starts_on", "ends_on")
            .union(
                school.closure_days.order_by()
                .annotate(is_closure=Value(1, output_field=IntegerField()))
                .values_list("is_closure", "date", "date"),
                all=True,
            )
        )
        rows = list(rows)
        terms = [(first, last) for is_closure, first, last in rows if not is_closure]
        closures = [first for is_closure, first, _ in rows if is_closure]
    return SchoolCalendar(
        nation=school.nation, terms=tuple(sorted(terms)), closures=frozenset(closures)
    )


def is_school_day(school, day):
    """A7, E1: whether `day` (a date, London) is a school day at `school`."""
    # Weekends and bank holidays cost no query: the overdue sweep asks for every alert.
    if day.weekday() >= 5 or day in bank_holidays(school.nation, day.year):
        return False
    return calendar_of(school).is_school_day(day)


def end_of_day(day):
    """The last instant of a London day, as an aware datetime in London time."""
    return datetime.datetime.combine(day, datetime.time.max, tzinfo=LONDON)


def school_days_after(school, moment, n):
    """A7: the end of the `n`-th school day after the London day of `moment`, as an aware
    datetime (London time). With n=0, the end of `moment`'s own day."""
    if n < 0:
        raise ValueError("Count zero or more school days.")
    calendar = calendar_of(school)
    day, left = local(moment).date(), n
    while left:
        day += ONE_DAY
        if calendar.counts_for_deadlines(day):
            left -= 1
    return end_of_day(day)


def school_days_between(school, start, end, *, at_most=None):
    """A7: school days after the date `start` up to and including the date `end`, counted up to
    `at_most` (so a long-overdue action costs no long walk)."""
    calendar = calendar_of(school)
    count, day = 0, start
    while day < end and (at_most is None or count < at_most):
        day += ONE_DAY
        if calendar.counts_for_deadlines(day):
            count += 1
    return count


def office_open_periods(school, start, end):
    """E1: the (from, until) UTC instants within [start, end) when the office is open."""
    calendar = calendar_of(school)
    start, end = as_utc(start), as_utc(end)
    periods = []
    day = local(start).date()
    while local_instant(day, datetime.time.min) < end:
        if calendar.is_school_day(day) and school.office_opens_at < school.office_closes_at:
            opens = max(local_instant(day, school.office_opens_at), start)
            closes = min(local_instant(day, school.office_closes_at), end)
            if opens < closes:
                periods.append((opens, closes))
        day += ONE_DAY
    return periods


def office_closed_periods(school, start, end):
    """E1: the (from, until) UTC instants within [start, end) when the office is closed, and
    alerts go to whoever is on call."""
    return subtract_periods([(as_utc(start), as_utc(end))], office_open_periods(school, start, end))


def subtract_periods(periods, taken):
    """What is left of `periods` once `taken` is cut out of them: both are (from, until) lists
    of aware instants; the result is in order and does not overlap."""
    left = []
    taken = sorted(taken)
    for first, last in sorted(periods):
        cursor = first
        for cut_from, cut_until in taken:
            if cut_until <= cursor or cut_from >= last:
                continue
            if cut_from > cursor:
                left.append((cursor, cut_from))
            cursor = max(cursor, cut_until)
            if cursor >= last:
                break
        if cursor < last:
            left.append((cursor, last))
    return left
