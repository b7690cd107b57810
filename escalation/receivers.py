"""The outbox's news about alerts and visits (signals from notifications): each message sent,
delivered or failed is a line on the alert's and the visit's timeline; a message that did not
reach its person moves the alert on to the next circle at once; an answer through a message
(its link, a key press on a call) answers the alert."""

from django.dispatch import receiver

from notifications.signals import message_answered, message_failed, message_sent, message_status
from visits.models import EventKind, Visit, VisitEvent

from .models import Answer, Escalation


def _timeline(notification, *, kind, now, text):
    about = notification.about
    if isinstance(about, Escalation):
        visit_id, escalation_id = about.visit_id, about.pk
    elif isinstance(about, Visit):
        visit_id, escalation_id = about.pk, None
    else:
        return None
    VisitEvent.objects.create(
        visit_id=visit_id,
        escalation_id=escalation_id,
        kind=kind,
        at=now,
        message=text,
        data={"notification": notification.pk, "channel": notification.channel},
    )
    return about


def _move_on(notification, *, now):
    from .services import message_failed_for

    about = notification.about
    if isinstance(about, Escalation):
        message_failed_for(about, notification, now=now)


@receiver(message_sent)
def on_sent(sender, *, notification, now, text, **kwargs):
    _timeline(notification, kind=EventKind.NOTIFICATION_SENT, now=now, text=text)


@receiver(message_failed)
def on_failed(sender, *, notification, now, text, final=False, **kwargs):
    _timeline(notification, kind=EventKind.NOTIFICATION_FAILED, now=now, text=text)
    if final:
        _move_on(notification, now=now)


@receiver(message_status)
def on_status(sender, *, notification, status, now, text, **kwargs):
    delivered = status == "delivered"
    kind = EventKind.NOTIFICATION_DELIVERED if delivered else EventKind.NOTIFICATION_FAILED
    _timeline(notification, kind=kind, now=now, text=text)
    if not delivered:
        _move_on(notification, now=now)


@receiver(message_answered)
def on_answered(sender, *, notification, how, now, **kwargs):
    from .responses import answer_by_message

    if isinstance(notification.about, Escalation):
        answer_by_message(notification=notification, how=Answer(how), now=now)
