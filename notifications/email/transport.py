import hashlib
import smtplib

from django.conf import settings
from django.core.mail import EmailMessage, get_connection

from ..transports import Transport, TransportError


def message_id(notification):
    """A Message-ID made from the outbox key: a copy sent again after a cut-off send carries
    the same id, which mail servers and clients use to show it once."""
    digest = hashlib.sha256(notification.key.encode()).hexdigest()[:40]
    return f"<{digest}@homevisits>"


class EmailTransport(Transport):
    """Email through Django's email backend: SMTP from EMAIL_URL, or a provider's backend."""

    def send(self, notification):
        email = EmailMessage(
            notification.subject,
            notification.body,
            settings.DEFAULT_FROM_EMAIL,
            [notification.address],
            headers={"Message-ID": message_id(notification)},
            connection=get_connection(timeout=settings.OUTBOX_SEND_TIMEOUT),
        )
        try:
            email.send(fail_silently=False)
        except smtplib.SMTPRecipientsRefused as exc:
            raise TransportError(
                f"The mail server refused the address: {exc}", rejected=True
            ) from exc
        except smtplib.SMTPResponseException as exc:
            # The server answered with an error: it did not take the message.
            raise TransportError(f"{type(exc).__name__}: {exc}", answered=True) from exc
        except (TimeoutError, smtplib.SMTPException, OSError) as exc:
            raise TransportError(f"{type(exc).__name__}: {exc}") from exc
        return ""
