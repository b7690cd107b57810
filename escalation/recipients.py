"""Who an alert reaches, in widening circles, and on which channels (E1, E2, E3).

An alert goes first to the people who must act now; until someone answers it goes again every
few minutes to one more circle (services.repeat_batch), and at once when a message to someone
fails (a text not delivered, a call not answered). Nobody on the visit is ever among them: a
phone lighting up in the wrong hands tells an aggressor that help is coming, and staff on the
visit are told quietly on their own screen.

In office hours step 1 goes to the office; out of hours (evenings, weekends, holidays, by the
school's calendar) to whoever is on call, by phone call as well. The police step goes to the
headteacher, the DSL and deputies and to whoever acts on alerts now, with a phone call to the
on-call and the headteacher.
"""

from notifications import services as outbox
from notifications.models import Channel
from schools.models import Role
from schools.selectors import display_name

from .models import Step


def on_call(school, now):
    """The people on call at `now`, overrides first (the school's rota, schools.selectors)."""
    from schools.selectors import on_call_at

    return list(on_call_at(school, now))


def _people(school, *roles):
    return list(outbox.people_with(school, roles))


def _reach(person, *, call):
    """(channel, address) pairs for a person: email, text, push to each of their browsers,
    and a phone call when `call`."""
    pairs = list(outbox.addresses_of(person))
    push = getattr(outbox, "push_addresses", None)
    if push is not None:
        pairs += push(person)
    mobile = next((address for channel, address in pairs if channel == Channel.SMS), None)
    if call and mobile:
        pairs.append((Channel.VOICE, mobile))
    return pairs


class Plan:
    """The circles of one school for one step, office open or not: the same for every alert of
    that school in a storm, so worked out once (the sweep keeps them by (school, step, open))."""

    def __init__(self, school, *, step, office_open, now, drill=False, drill_by=None):
        self.step = step
        self.office_open = office_open
        if drill:
            plan, calls = self._drill(school, drill_by)
        else:
            plan, calls = self._plan(school, now)
        self.circles = []
        seen = set()
        for circle in plan:
            fresh = [p for p in circle if p is not None and p.is_active and p.pk not in seen]
            seen.update(p.pk for p in fresh)
            if fresh:
                self.circles.append(fresh)
        self._pairs = {
            person.pk: [
                (person, display_name(person), pair)
                for pair in _reach(person, call=person.pk in calls)
            ]
            for circle in self.circles
            for person in circle
        }

    def _drill(self, school, starter):
        """A drill is practised by the office, in office hours, and never reaches real
        contacts beyond whoever started it: no DSL, no on-call, no headteacher's phone."""
        office = _people(school, Role.OFFICE) if self.office_open else []
        starter = [starter] if starter else []
        if self.step == Step.OFFICE:
            return [office or starter], {p.pk for p in starter} if not self.office_open else set()
        return [starter + office], set()

    def _plan(self, school, now):
        rota = on_call(school, now)
        office = _people(school, Role.OFFICE)
        head = _people(school, Role.HEADTEACHER)
        leads = _people(school, Role.DSL, Role.DEPUTY_DSL)
        slt = _people(school, Role.SLT)
        if self.step == Step.OFFICE:
            if self.office_open and office:
                return [office, rota + head, leads, slt], set()
            everyone = rota + head + leads + slt
            # Out of hours every step-1 message comes with a phone call (E1); in hours with
            # nobody in the office, the texts go straight to the seniors.
            calls = set() if self.office_open else {p.pk for p in everyone}
            return [rota[:1], rota[1:], head, leads, slt], calls
        calls = {p.pk for p in rota + head}
        if self.office_open:
            return [office + head + leads + rota, slt], calls
        return [rota + head + leads, slt], calls

    def circles_for(self, esc):
        """The circles without anyone on the alert's visit."""
        on_visit = esc.visit.staff_user_ids() if esc.visit is not None else set()
        result = []
        for circle in self.circles:
            kept = [p for p in circle if p.pk not in on_visit]
            if kept:
                result.append(kept)
        return result

    def recipients(self, esc, *, upto):
        """(person, name, (channel, address)) for everyone in the first `upto` circles."""
        return [
            pair
            for circle in self.circles_for(esc)[:upto]
            for person in circle
            for pair in self._pairs[person.pk]
        ]


def office_open_for(esc, now):
    """Whether the alert's step is an office-hours one: decided when the step was raised (the
    office was open, or not), so its later circles follow on from its first; on call is who is
    on call now."""
    if esc.step == Step.OFFICE:
        return not esc.out_of_hours
    return esc.school.office_is_open(esc.police_step_at or now)


def plan_for(esc, now, cache=None):
    """The Plan for the alert's school and step now; `cache` a dict kept across a sweep."""
    office_open = office_open_for(esc, now)
    if esc.is_drill:
        return Plan(
            esc.school,
            step=esc.step,
            office_open=office_open,
            now=now,
            drill=True,
            drill_by=esc.raised_by,
        )
    key = (esc.school_id, esc.step, office_open)
    if cache is None or key not in cache:
        plan = Plan(esc.school, step=esc.step, office_open=office_open, now=now)
        if cache is None:
            return plan
        cache[key] = plan
    return cache[key]
