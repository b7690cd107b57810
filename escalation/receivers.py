"""The outbox's news on the timelines: each message sent or failed about an alert or a visit is
a line on the alert's and the visit's timeline (signals from notifications.delivery)."""

from django.dispatch import receiver

from notifications.signals import message_failed, message_sent
from visits.models import EventKind, Visit, VisitEvent

from .models import Escalation


def _timeline(notification, *, kind, now, text):
    about = notification.about
    if isinstance(about, Escalation):
        visit_id, escalation_id = about.visit_id, about.pk
    elif isinstance(about, Visit):
        visit_id, escalation_id = about.pk, None
    else:
        return
    VisitEvent.objects.create(
        visit_id=visit_id,
        escalation_id=escalation_id,
        kind=kind,
        at=now,
        message=text,
        data={"notification": notification.pk, "channel": notification.channel},
    )


@receiver(message_sent)
def on_sent(sender, *, notification, now, text, **kwargs):
    _timeline(notification, kind=EventKind.NOTIFICATION_SENT, now=now, text=text)


@receiver(message_failed)
def on_failed(sender, *, notification, now, text, **kwargs):
    _timeline(notification, kind=EventKind.NOTIFICATION_FAILED, now=now, text=text)
