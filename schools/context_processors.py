from .selectors import all_roles


def roles(request):
    """The signed-in person's roles, for the navigation only (never for a rule)."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"my_roles": set()}
    return {"my_roles": all_roles(user)}
