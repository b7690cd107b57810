from django.utils.functional import SimpleLazyObject


def live_alerts(request):
    """How many alerts are open at the schools whose board this person holds: a red badge on
    every page for the head, the DSL, SLT and the office, so nobody misses one elsewhere in
    the app (for the menu only, never for a rule)."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"live_alerts": 0}

    def count():
        from schools.models import SCHEDULE_ROLES, Membership

        from .models import Escalation

        # One query: the schools whose board the person holds are a subquery of it.
        schools = Membership.objects.filter(user=user, role__in=SCHEDULE_ROLES).values("school")
        return Escalation.objects.filter(school__in=schools, resolved_at__isnull=True).count()

    return {"live_alerts": SimpleLazyObject(count)}
