import logging

from ..transports import Transport

log = logging.getLogger("homevisits.notifications")


class LogTransport(Transport):
    """No gateway: the message is written to the log, so a school without one still sees every
    alert on the board and in the log."""

    def send(self, notification):
        log.warning(
            "%s to %s <%s>: %s | %s",
            notification.get_channel_display(),
            notification.recipient_label,
            notification.address,
            notification.subject,
            notification.body.replace("\n", " "),
        )
        return ""
