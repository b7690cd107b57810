"""The trail as the audit page and its CSV read it."""

import datetime

from schools.calendar import local_instant

from .access import visible_events
from .models import AuditEvent


def trail(user, school, filters):
    """The events of `school` that `user` may see, newest first, narrowed by `filters` (the
    cleaned data of audit.forms.TrailFilterForm)."""
    events = AuditEvent.objects.filter(visible_events(user, school))
    if filters.get("person"):
        events = events.filter(actor=filters["person"])
    if filters.get("pupil"):
        events = events.filter(pupil=filters["pupil"])
    if filters.get("kind"):
        events = events.filter(action=filters["kind"])
    if filters.get("date_from"):
        events = events.filter(at__gte=local_instant(filters["date_from"], datetime.time.min))
    if filters.get("date_to"):
        day_after = filters["date_to"] + datetime.timedelta(days=1)
        events = events.filter(at__lt=local_instant(day_after, datetime.time.min))
    return events.select_related("actor", "pupil").order_by("-at", "-pk")
