"""What an alert says, on each channel.

Messages leave the school's systems (a text can be read over a shoulder, a lock screen shows
it), so they carry what to do and a link, never the account (A5, A8): the staff's names and
mobiles, so they can be phoned; the pupil's first name only; no address, no concern, no note.
Everything that needs a login is behind the link.

One clock: "expected back HH:MM" (or "expected to arrive"), "overdue N min" counted from then,
and "office alerted HH:MM", the same as the board, the alert page and the police sheet.
"""

from django.conf import settings
from django.urls import reverse
from django.utils import timezone

from notifications.models import Channel
from schools.phones import uk
from schools.selectors import display_name

from .models import Kind


def link(name, *args):
    return settings.SITE_URL + reverse(name, args=args)


def answer_link(token):
    return link("message-answer", token)


def _time(moment):
    return f"{timezone.localtime(moment):%H:%M}"


def staff_names(visit):
    """The staff on the visit, named, for someone who must phone them."""
    # .all() uses the assignments a sweep prefetched; elsewhere it is one small query.
    return [display_name(a.user) for a in visit.assignments.all()]


def staff_lines(visit):
    """Names and mobiles, for a text the office phones from."""
    return [f"{display_name(a.user)} {uk(a.mobile)}" for a in visit.assignments.all()]


def what_happened(esc, now):
    """One sentence, the one clock: who, expected when, overdue how long, alerted when."""
    if esc.visit is None:
        return "Practice alert: nobody is in danger; respond as you would."
    visit = esc.visit
    names = " and ".join(staff_names(visit)) or "Staff"
    pupil = visit.pupil.first_name
    if esc.kind in (Kind.ARRIVAL, Kind.RETURN):
        expected = esc.expected_at()
        verb = "to arrive at" if esc.kind == Kind.ARRIVAL else "back from"
        return (
            f"{names}: expected {verb} a home visit (pupil: {pupil}) at {_time(expected)}, "
            f"overdue {esc.overdue_minutes(now)} min; office alerted {_time(esc.raised_at)}."
        )
    when = _time(esc.raised_at)
    if esc.kind == Kind.HELP:
        return f"{names}, on a home visit (pupil: {pupil}): I NEED HELP pressed at {when}."
    return f"{names}, on a home visit (pupil: {pupil}): the code word was used at {when}."


def _drill(esc):
    return "[DRILL] " if esc.is_drill else ""


def step1(esc, *, now, channel, token):
    subject = f"{_drill(esc)}Home visit overdue: phone the staff now"
    if channel == Channel.VOICE:
        return subject, spoken(esc, now=now, what="Please phone them now.")
    mobiles = "; ".join(staff_lines(esc.visit)) if esc.visit else ""
    lines = [what_happened(esc, now)]
    if mobiles:
        lines.append(f"Phone: {mobiles}.")
    if token:
        lines.append(f"Dealing with it? Say so: {answer_link(token)}")
    lines.append(f"Record the call: {link('escalation-detail', esc.pk)}")
    return subject, "\n".join(lines)


def police(esc, *, now, channel, token):
    if esc.is_drill:
        subject = "[DRILL] Police step reached in a practice alert: do NOT call 999"
    else:
        subject = "POLICE STEP: staff on a home visit may be in danger"
    if channel == Channel.VOICE:
        return subject, spoken(
            esc,
            now=now,
            what="This is the police step. Open the police-contact instructions now and call 999.",
        )
    lines = [what_happened(esc, now)]
    if esc.visit is not None:
        lines.append(f"Phone: {'; '.join(staff_lines(esc.visit))}.")
    lines.append(
        f"Call 999 with the police-contact instructions: {link('escalation-police', esc.pk)}"
    )
    if token:
        lines.append(f"Dealing with it? Say so: {answer_link(token)}")
    return subject, "\n".join(lines)


def spoken(esc, *, now, what):
    """A phone call's words: short sentences, no links, the school's number to ring."""
    school = esc.school
    words = [f"This is homevisits for {school.name}."]
    if esc.is_drill:
        words.append("This is a practice alert. Nobody is in danger.")
    words.append(what_happened(esc, now).replace(" min;", " minutes.").replace(": ", ". "))
    words.append(what)
    if school.office_phone:
        words.append(f"The school's number is {uk(school.office_phone)}.")
    return " ".join(words)


def safety_report(*, visit, child_at_risk, now):
    """D5, D6: called off at the door. What to do and a link: the staff's note stays inside."""
    subject = "Home visit called off for safety"
    if child_at_risk:
        subject = "A child may be at risk: home visit called off"
    body = (
        f"A home visit (pupil: {visit.pupil.first_name}) was called off at the door at "
        f"{_time(now)}. Read what happened in homevisits now: {link('visit-detail', visit.pk)}"
    )
    return subject, body
