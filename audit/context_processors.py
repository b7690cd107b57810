from schools.selectors import all_roles

from .access import ACCOUNT_ROLES, TRAIL_ROLES


def audit_menu(request):
    """For the menu: whether this person reads an audit trail (audit/access.py says whose).
    Read from the roles the menu has already loaded: no query of its own."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"reads_audit": False}
    return {"reads_audit": bool(all_roles(user) & (TRAIL_ROLES | ACCOUNT_ROLES))}
