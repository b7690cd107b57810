from django.utils.functional import SimpleLazyObject


def roles(request):
    """What the signed-in person's work is, for the menu only (never for a rule)."""
    from visits.selectors import duties_of

    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"duties": {}}
    return {"duties": SimpleLazyObject(lambda: duties_of(user))}
