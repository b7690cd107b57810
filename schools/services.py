from django.apps import apps
from django.contrib.auth.management import create_permissions
from django.contrib.auth.models import Group, Permission
from django.db import transaction

from .models import OVERSIGHT_ROLES, Membership, School


def school_oversight_group(*, school):
    """A8: the group that sees every visit of a school (office, DSL, deputies, head, SLT).

    Visits grant their view permission to this group through django-guardian, so a change of
    someone's role changes what they see without touching every visit.
    """
    group, _ = Group.objects.get_or_create(name=f"school-{school.pk}-oversight")
    return group


@transaction.atomic
def membership_sync_oversight(*, user):
    """Keep the user's oversight-group membership in step with their roles at each school."""
    wanted = set(
        Membership.objects.filter(user=user, role__in=OVERSIGHT_ROLES).values_list(
            "school_id", flat=True
        )
    )
    for school in School.objects.all().only("pk"):
        group = school_oversight_group(school=school)
        if school.pk in wanted:
            user.groups.add(group)
        else:
            user.groups.remove(group)
    if hasattr(user, "_roles_cache"):
        del user._roles_cache


# What the "School admins" group lets a school admin do in the Django admin. schools/admin.py
# limits it to the schools where they hold the school admin role; visits/admin.py shows a visit's
# records only to those A8 lets see the visit, which the school admin role alone never does.
# Deleting a role is allowed: when someone leaves, taking their role away is what ends their
# access (A8).
SCHOOL_ADMINS_GROUP = "School admins"
SCHOOL_ADMIN_PERMISSIONS = {
    "schools": {
        "school": ("change", "view"),
        "membership": ("add", "change", "delete", "view"),
        # A8: what they asked for, and what was decided; the headteacher decides, not them.
        "rolerequest": ("view",),
        "staffprofile": ("add", "change", "view"),
        "pupil": ("add", "change", "view"),
        "carer": ("add", "change", "delete", "view"),
        # The calendar and the on-call rota (E1, A7): the head and the office keep them in the
        # app; a school admin may in the admin. Their history is read-only.
        "term": ("add", "change", "delete", "view"),
        "closureday": ("add", "change", "delete", "view"),
        "oncallshift": ("add", "change", "delete", "view"),
        "calendarchange": ("view",),
    },
    "auth": {"user": ("add", "change", "view")},
    # Who the watchdog pages when the overdue watch stops (escalation/watchdog.py).
    "escalation": {"technicalcontact": ("add", "change", "delete", "view")},
    "visits": {
        "visit": ("view",),
        "visitstaff": ("view",),
        "riskassessment": ("view",),
        "authorisation": ("view",),
        "visitevent": ("view",),
    },
}


def school_admins_group():
    """The "School admins" group with exactly SCHOOL_ADMIN_PERMISSIONS (made if missing)."""
    for label in SCHOOL_ADMIN_PERMISSIONS:
        create_permissions(apps.get_app_config(label), verbosity=0)
    group, _ = Group.objects.get_or_create(name=SCHOOL_ADMINS_GROUP)
    wanted = [
        Permission.objects.get(content_type__app_label=app_label, codename=f"{action}_{model}")
        for app_label, models in SCHOOL_ADMIN_PERMISSIONS.items()
        for model, actions in models.items()
        for action in actions
    ]
    group.permissions.set(wanted)
    return group
