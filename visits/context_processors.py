from django.utils.functional import SimpleLazyObject


def authorisations(request):
    """How many visits wait for this person's decision (P1): a count beside "Authorisations" in
    the menu (for the menu only, never for a rule). Counted once per request, and only if a
    page shows it: one query."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"awaiting_decision": 0}
    cached = getattr(request, "_awaiting_decision", None)
    if cached is None:

        def count():
            from .access import awaiting_decision_by

            return awaiting_decision_by(user).count()

        cached = request._awaiting_decision = SimpleLazyObject(count)
    return {"awaiting_decision": cached}
