"""A8: the school's DSLs and headteacher are told by email of every role asked for, given or
refused, and of every safeguarding role taken away (and so is the person who lost it):
schools.signals.role_changed, sent by schools/roles.py in the change's transaction, so the
messages commit with it.

A school admin who gives themselves, or a friend, a role that reads safeguarding records is
then seen by the people those records are about to be shared with."""

from django.conf import settings
from django.dispatch import receiver
from django.urls import reverse

from schools.models import Role
from schools.selectors import display_name
from schools.signals import role_changed

from .models import Channel
from .services import people_with, queue, rows_for

TOLD = (Role.DSL, Role.HEADTEACHER)

SUBJECTS = {
    "requested": "A safeguarding role is waiting for approval at {school}",
    "granted": "{person} was given a role at {school}",
    "refused": "A safeguarding role was refused at {school}",
    "removed": "{person} no longer has a safeguarding role at {school}",
}


def _body(event, *, school, person, role, by, reason):
    link = settings.SITE_URL + reverse("role-requests")
    if event == "requested":
        text = (
            f"{by} asked for {person} to be given the role {role} at {school}. This role reads "
            "safeguarding records, so it is given only once a second person approves it: the "
            "headteacher, or the trust's admin for the headteacher role or where there is no "
            "headteacher."
        )
    elif event == "granted":
        text = f"{person} now has the role {role} at {school} (given or approved by {by})."
    elif event == "refused":
        text = f"{by} refused to give {person} the role {role} at {school}: {reason}"
    else:
        text = f"{by} took away {person}'s role {role} at {school}."
    return (
        f"{text}\n\nIf you did not expect this, tell the headteacher or the trust's admin at "
        f"once.\n\nRoles waiting for approval: {link}\n"
    )


@receiver(role_changed)
def tell_dsl_and_headteacher(
    sender, *, event, school, user, role, by, now, key, about=None, reason="", **kwargs
):
    people = list(people_with(school, TOLD))
    if event == "removed" and user not in people:
        people.append(user)  # the person whose role was taken away hears of it too
    people = [p for p in people if p.email]
    names = {
        "school": school.name,
        "person": display_name(user),
        "role": Role(role).label,
        "by": display_name(by),
    }
    recipients = [(p, display_name(p), (Channel.EMAIL, p.email)) for p in people]
    queue(
        rows_for(
            key=key,
            school=school,
            about=about,
            recipients=recipients,
            subject=SUBJECTS[event].format(**names),
            body=_body(event, reason=reason, **names),
            now=now,
        )
    )
