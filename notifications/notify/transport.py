"""SMS through GOV.UK Notify, with its official client (notifications-python-client).

Notify sends a template: create a text message template whose whole content is `((body))`
and give its id as NOTIFY_SMS_TEMPLATE_ID. The outbox key goes with every message as Notify's
`reference`; Notify keeps no idempotency key, but it can be asked for the messages with a
reference, so a send cut off after Notify accepted it is found there and not sent again.
"""

from django.conf import settings
from notifications_python_client.errors import HTTPError
from notifications_python_client.notifications import NotificationsAPIClient

from ..transports import Transport, TransportError, text_message


def client():
    return NotificationsAPIClient(
        settings.NOTIFY_API_KEY,
        base_url=settings.NOTIFY_BASE_URL,
        timeout=settings.OUTBOX_SEND_TIMEOUT,
    )


def _error(exc):
    status = getattr(exc, "status_code", None) or 0
    # No response at all (the client reports it as a 503 without one): a timeout or a dropped
    # connection, after which Notify may have the message. With a response, Notify said what
    # happened: a 4xx but 429 refuses it; a 5xx or a 429 did not take it ("resend", its docs
    # say).
    answered = getattr(exc, "response", None) is not None
    rejected = answered and 400 <= status < 500 and status != 429
    detail = getattr(exc, "message", exc) if answered else "no answer"
    return TransportError(
        f"GOV.UK Notify {status if answered else 'timeout'}: {detail}",
        rejected=rejected,
        answered=answered,
    )


class NotifySMSTransport(Transport):
    supports_look_up = True

    def __init__(self):
        self.client = client()

    def send(self, notification):
        try:
            response = self.client.send_sms_notification(
                phone_number=notification.address,
                template_id=settings.NOTIFY_SMS_TEMPLATE_ID,
                personalisation={"body": text_message(notification)},
                reference=notification.key,
            )
        except HTTPError as exc:
            raise _error(exc) from exc
        return response["id"]

    def look_up(self, notification):
        try:
            found = self.client.get_all_notifications(
                template_type="sms", reference=notification.key
            )
        except HTTPError as exc:
            raise _error(exc) from exc
        for sent in found.get("notifications", []):
            if sent.get("reference") == notification.key:
                return sent["id"]
        return None
