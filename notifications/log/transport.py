import logging

from ..transports import Transport

log = logging.getLogger("homevisits.notifications")


class LogTransport(Transport):
    """No gateway set for this channel: the message is not sent, and the log says one would
    have been, with nothing personal (no name, number, address or text: logs leave the
    school's systems more easily than its database). The board still shows every alert; the
    demo shows what each phone would have received through its fake gateways."""

    def send(self, notification):
        log.warning(
            "No gateway for %s: message %s (%s) to person #%s not sent",
            notification.get_channel_display(),
            notification.pk,
            notification.subject,
            notification.recipient_id or "-",
        )
        return ""
