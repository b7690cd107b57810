"""What the menu shows of the record after a visit: new concerns for the DSL (A5), my overdue
actions (A7), and the monitoring page for those who monitor the policy (A9). For the menu only,
never for a rule; computed lazily, so a page that shows no menu runs no query."""

from django.utils import timezone
from django.utils.functional import SimpleLazyObject

from schools.models import Role
from schools.selectors import all_roles, schools_for

from .models import Action, ActionStatus
from .selectors import MONITORING_ROLES
from .services.concerns import DSL_ROLES, concerns_unread


def actions_overdue(user, today):
    """A7: open actions the user owns, due before today, at schools where they hold a role."""
    return Action.objects.filter(
        owner=user, status=ActionStatus.OPEN, due_on__lt=today, school__in=schools_for(user)
    )


def _menu(user):
    roles = all_roles(user)
    return {
        "new_concerns": concerns_unread(user).count() if roles & DSL_ROLES else 0,
        "overdue_actions": (
            actions_overdue(user, timezone.localdate()).count()
            if roles - {Role.SCHOOL_ADMIN}
            else 0
        ),
        "monitors": bool(roles & MONITORING_ROLES),
    }


def records(request):
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"records_menu": {}}
    return {"records_menu": SimpleLazyObject(lambda: _menu(user))}
