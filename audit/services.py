"""The one way onto the audit trail."""

from .models import AuditEvent


def _client_address(request):
    # Behind the proxy of the production stack, REMOTE_ADDR is the proxy's; the proxy sets
    # X-Forwarded-For and is the only one that reaches the app.
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    address = forwarded.split(",")[0].strip() or request.META.get("REMOTE_ADDR") or None
    return address


def record(
    action,
    *,
    actor=None,
    actor_name="",
    school=None,
    target=None,
    target_label="",
    pupil=None,
    detail="",
    request=None,
):
    """Add one event. `actor` defaults to the request's signed-in user; `target` is any model
    instance (its label and key are kept, and its str() unless `target_label` is given)."""
    if actor is None and request is not None and request.user.is_authenticated:
        actor = request.user
    if actor is not None and not actor_name:
        actor_name = actor.get_username()
    target_type = target_id = ""
    if target is not None:
        target_type = target._meta.label_lower
        target_id = str(target.pk)
        target_label = target_label or str(target)
    return AuditEvent.objects.create(
        action=action,
        actor=actor,
        actor_name=actor_name[:150],
        school=school,
        target_type=target_type,
        target_id=target_id,
        target_label=target_label[:200],
        pupil=pupil,
        detail=detail,
        ip_address=_client_address(request) if request is not None else None,
    )


def record_seen(action, *, request, seen):
    """What the signed-in person was shown (audit/access_log.py): one row for each thing seen,
    all written with one INSERT."""
    user = request.user
    name = user.get_username()[:150]
    address = _client_address(request)
    rows = [
        AuditEvent(
            action=action,
            actor=user,
            actor_name=name,
            school_id=item.school_id,
            pupil_id=item.pupil_id,
            target_type=item.target_type,
            target_id=item.target_id,
            target_label=item.label[:200],
            detail=item.detail,
            ip_address=address,
        )
        for item in seen
    ]
    return AuditEvent.objects.bulk_create(rows)
