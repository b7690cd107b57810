"""What a visit tells the floors above it (ARCHITECTURE.md): they receive these, visits never
imports them. Each is sent inside the change's transaction, so the messages a receiver queues in
the outbox commit with the change, or not at all.
"""

from django.dispatch import Signal

# A visit waits for an authoriser's decision (P1): submitted, or back in the queue because a
# change withdrew its authorisation (P2). Sent with visit=, by=, now=, changed= (what changed,
# in people's words; empty for a plain submission).
authorisation_needed = Signal()

# A decision about a visit (P1, P2): outcome= one of DECIDED_OUTCOMES, visit=, by=, now=,
# reason= (the authoriser's reason, for "changes_requested" and "refused"), changed= (what
# changed, in people's words, for "withdrawn").
visit_decided = Signal()

DECIDED_OUTCOMES = ("authorised", "changes_requested", "refused", "withdrawn")
