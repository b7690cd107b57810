"""One interface for every gateway: `send(notification)` returns the gateway's id for the message
or raises TransportError; `look_up(notification)` says whether the gateway already has it.

Which transport serves a channel is chosen by settings (SMS_PROVIDER, EMAIL_URL); each provider
lives in a folder of its own (notify/, email/, log/) with its fake gateway beside it.
"""

from django.conf import settings
from django.utils.module_loading import import_string


class TransportError(Exception):
    """The gateway did not take the message.

    `final`: the address is gone for good (a browser that unsubscribed): no retry at all.
    `rejected`: it refused it (a 4xx other than 429): nothing was sent, and sending it again as
    it is will not help for long. `answered`: it said it failed (a 5xx, a 429): nothing was
    sent; try again soon. Neither (a timeout, a dropped connection): it may have been taken, so
    the next attempt asks the gateway first, where it can (delivery.send_one).
    """

    def __init__(self, message, *, rejected=False, answered=False, final=False):
        super().__init__(message)
        self.rejected = rejected or final
        self.answered = answered or rejected or final
        # Sending it again can never work (the address is gone for good): give up now.
        self.final = final


class Transport:
    #: The gateway can be asked whether it already holds a message, by the outbox key handed to
    #: it as its reference: a send cut off after the gateway accepted it is then not repeated.
    supports_look_up = False

    def send(self, notification):
        raise NotImplementedError

    def look_up(self, notification):
        """The gateway's id for `notification` if it already accepted it, else None."""
        return None


def text_message(notification):
    """What a phone shows: the subject on the first line, then the body."""
    return f"{notification.subject}\n{notification.body}"


def transport_for(channel):
    """A new transport for `channel` (one per sending thread: the clients are not thread-safe)."""
    return import_string(settings.NOTIFICATION_TRANSPORTS[channel])()
