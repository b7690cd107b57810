"""What the outbox tells the stages above: a message was sent, or failed.

Receivers run in the transaction that marks the row, so a timeline line and the mark commit
together (escalation puts them on the alert's and the visit's timeline).
"""

from django.dispatch import Signal

# Sent with notification=, now=, text= (a sentence for a timeline), final= (failed only).
message_sent = Signal()
message_failed = Signal()
# The provider's callback said a sent message was delivered or failed (a text not delivered,
# a call not answered): notification=, status= ("delivered" | "failed"), detail=, now=, text=.
message_status = Signal()
# Someone answered through a message (its link, a key press on a call): notification=, how=,
# now=. Receivers acknowledge what the message was about.
message_answered = Signal()
