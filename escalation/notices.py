"""Authorisers told a visit waits for them; planners and staff told what was decided (P1, P2).

Received from visits.signals inside the change's transaction, so the outbox rows commit with the
change. Email only: a visit is planned days ahead and a decision is not an emergency; a text
would put the news on a lock screen and cost the school for no gain in safety. Staff cannot set
off on a visit that is not authorised (P1): the app stops them whatever their inbox says.

Like escalation/messages.py the words leave the school's systems, so they carry the day and time
and a link, never the pupil or the address (A8). The authoriser's own reason is sent as they
wrote it: the decide page says it is emailed to the planner and staff.

Each message once: its key names the visit, its version, what happened and the person.
"""

from django.conf import settings
from django.dispatch import receiver
from django.urls import reverse
from django.utils import timezone

from notifications.models import Channel
from notifications.services import queue, rows_for
from schools.selectors import display_name
from visits.access import authorisers_of
from visits.signals import authorisation_needed, visit_decided

DECIDED = {
    "authorised": ("Home visit authorised", "was authorised by {by}."),
    "changes_requested": (
        "Home visit sent back for changes",
        "was sent back for changes by {by}. What to change: {reason}",
    ),
    "refused": ("Home visit refused", "was refused by {by}. The reason: {reason}"),
    "withdrawn": (
        "Home visit no longer authorised",
        "changed after it was authorised ({changed}), so it is no longer authorised. It must be "
        "authorised again before it goes ahead.",
    ),
}


def _link(name, *args):
    return settings.SITE_URL + reverse(name, args=args)


def _when(visit):
    start = timezone.localtime(visit.planned_start)
    return f"{start:%A} {start.day} {start:%B at %H:%M}"


def _greeting(person):
    return f"{person.first_name or display_name(person)},"


def _email(*, key, visit, people, subject, line, link, now):
    """One email per person, keyed per person, with their first name."""
    for person in people:
        if not person.email:
            continue
        body = f"{_greeting(person)}\n\n{line}\n\n{link}\n"
        queue(
            rows_for(
                key=f"{key}:{person.pk}",
                school=visit.school,
                about=visit,
                recipients=[(person, display_name(person), (Channel.EMAIL, person.email))],
                subject=subject,
                body=body,
                now=now,
            )
        )


@receiver(authorisation_needed)
def tell_authorisers(sender, *, visit, by, now, changed, **kwargs):
    """P1, P3: everyone who may decide the visit, but not the person whose change sent it."""
    people = [p for p in authorisers_of(visit) if p.pk != by.pk]
    if changed:
        subject = "A changed home visit needs authorising again"
        line = (
            f"A home visit on {_when(visit)} changed after it was authorised "
            f"({', '.join(changed)}). It needs a decision again before it goes ahead."
        )
    else:
        subject = "A home visit is waiting for your authorisation"
        line = f"A home visit on {_when(visit)} is waiting for a decision."
    _email(
        key=f"visit:{visit.pk}:v{visit.version}:authorise",
        visit=visit,
        people=people,
        subject=subject,
        line=line + " Open the authorisations to read it and decide:",
        link=_link("queue"),
        now=now,
    )


@receiver(visit_decided)
def tell_planner_and_staff(sender, *, outcome, visit, by, now, reason="", changed=(), **kwargs):
    """The planner and the staff going, but not the person who decided (or changed) it."""
    people, seen = [], {by.pk}
    for person in [visit.created_by, *visit.staff_members()]:
        if person is not None and person.is_active and person.pk not in seen:
            seen.add(person.pk)
            people.append(person)
    subject, tail = DECIDED[outcome]
    line = f"The home visit on {_when(visit)} " + tail.format(
        by=display_name(by), reason=reason, changed=", ".join(changed)
    )
    _email(
        key=f"visit:{visit.pk}:v{visit.version}:{outcome}",
        visit=visit,
        people=people,
        subject=subject,
        line=line + "\n\nRead the visit:",
        link=_link("visit-detail", visit.pk),
        now=now,
    )
