"""What admins changed: every entry of the admin's own log goes on the trail as CHANGED, under the
school of the object changed, so the DSL and the headteacher see it with everything else.

The admin writes one log entry per object with save() (a post_save this receives), except when
one action deletes several objects at once: Django then writes its entries with bulk_create,
which sends no signal, and those deletions are not on the trail (see the report of issue 11).
"""

from django.contrib.admin.models import ADDITION, DELETION, LogEntry
from django.db.models.signals import post_save

from schools.models import Membership, Pupil, School

from .models import Action, AuditEvent

VERBS = {ADDITION: "Added", DELETION: "Deleted"}
# Followed, in this order, to find the school of an object that has no school of its own.
PARENTS = ("pupil", "visit", "minutes", "concern", "escalation")


def connect():
    post_save.connect(_admin_changed, sender=LogEntry, dispatch_uid="audit_admin_changed")


def _school_and_pupil(obj, depth=0):
    """(school ids, pupil id) of an object the admin changed: its own school, or its pupil's,
    visit's, minutes'..., or a person's schools."""
    if obj is None or depth > 3:
        return [], None
    if isinstance(obj, School):
        return [obj.pk], None
    if isinstance(obj, Pupil):
        return [obj.school_id], obj.pk
    school_id = getattr(obj, "school_id", None)
    pupil_id = getattr(obj, "pupil_id", None)
    if school_id is not None:
        return [school_id], pupil_id
    if obj._meta.label == "auth.User" or hasattr(obj, "memberships"):
        ids = Membership.objects.filter(user_id=obj.pk).values_list("school_id", flat=True)
        return sorted(set(ids)), None
    for name in PARENTS:
        if getattr(obj, f"{name}_id", None) is not None:
            return _school_and_pupil(getattr(obj, name), depth + 1)
    user = getattr(obj, "user", None)  # a staff profile, a push subscription
    if user is not None and depth == 0:
        return _school_and_pupil(user, depth + 1)
    return [], None


def _admin_changed(sender, instance, created, raw=False, **kwargs):
    if raw or not created:
        return
    try:
        obj = instance.get_edited_object()
    except Exception:  # noqa: BLE001  the object is gone, or its model no longer exists
        obj = None
    school_ids, pupil_id = _school_and_pupil(obj)
    verb = VERBS.get(instance.action_flag, "Changed")
    message = instance.get_change_message()
    detail = f"{verb} in the admin" + (f": {message}" if message else "")
    ct = instance.content_type
    user = instance.user
    rows = [
        AuditEvent(
            action=Action.CHANGED,
            actor=user,
            actor_name=user.get_username()[:150] if user else "",
            school_id=school_id,
            pupil_id=pupil_id,
            target_type=f"{ct.app_label}.{ct.model}" if ct else "",
            target_id=str(instance.object_id or "")[:64],
            target_label=instance.object_repr[:200],
            detail=detail,
        )
        for school_id in (school_ids or [None])
    ]
    AuditEvent.objects.bulk_create(rows)
