"""The one clock on pages: overdue minutes counted from when staff were expected (E1)."""

from django import template
from django.utils import timezone

register = template.Library()


@register.simple_tag
def overdue(esc):
    minutes = esc.overdue_minutes(timezone.now())
    return 0 if minutes is None else minutes
