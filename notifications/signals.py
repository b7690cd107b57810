"""What the outbox tells the stages above: a message was sent, or failed.

Receivers run in the transaction that marks the row, so a timeline line and the mark commit
together (escalation puts them on the alert's and the visit's timeline).
"""

from django.dispatch import Signal

# Sent with notification=, now=, text= (a sentence for a timeline), final= (failed only).
message_sent = Signal()
message_failed = Signal()
