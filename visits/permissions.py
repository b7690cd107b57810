"""A8: who may see a visit, kept as django-guardian object permissions.

The school's oversight group (office, DSL, deputies, headteacher, SLT) and the people on the
visit (and whoever asked for it) hold `view_visit` on it; nobody else does.
"""

from guardian.shortcuts import assign_perm, get_users_with_perms, remove_perm

from schools.services import school_oversight_group

VIEW = "view_visit"


def visit_sync_permissions(*, visit):
    """Grant the visit's viewers and take the permission back from anyone no longer on it."""
    assign_perm(VIEW, school_oversight_group(school=visit.school), visit)
    wanted = visit.staff_user_ids() | {visit.created_by_id}
    holders = get_users_with_perms(
        visit, only_with_perms_in=[VIEW], with_group_users=False, with_superusers=False
    )
    for user in holders:
        if user.pk not in wanted:
            remove_perm(VIEW, user, visit)
    for assignment in visit.assignments.all():
        assign_perm(VIEW, assignment.user, visit)
    assign_perm(VIEW, visit.created_by, visit)
