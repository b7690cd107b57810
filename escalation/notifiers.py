"""Where notifications go. A notifier is a class with `send(notification)` that raises on failure.

settings.NOTIFIERS names one per channel. The default writes to the log, so a school without a
gateway still sees every alert on the board and in the log. An SMS gateway is added by writing a
class like these and naming it in NOTIFIER_SMS; `notification.key` is unique per message and is
the idempotency key to hand the gateway, so a retry after a crash is not delivered twice.
"""

import logging

from django.conf import settings
from django.core.mail import send_mail
from django.utils.module_loading import import_string

log = logging.getLogger("homevisits.notifications")


class LogNotifier:
    def send(self, notification):
        log.warning(
            "%s to %s <%s>: %s | %s",
            notification.get_channel_display(),
            notification.recipient_label,
            notification.address,
            notification.subject,
            notification.body.replace("\n", " "),
        )


class DjangoEmailNotifier:
    """Email through Django's EMAIL_BACKEND (SMTP in production)."""

    def send(self, notification):
        send_mail(
            notification.subject,
            notification.body,
            settings.DEFAULT_FROM_EMAIL,
            [notification.address],
            fail_silently=False,
        )


def notifier_for(channel):
    return import_string(settings.NOTIFIERS[channel])()
