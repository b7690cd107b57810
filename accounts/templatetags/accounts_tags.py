from django import template

from schools.models import School

from .. import access
from ..demo import demo_codes as _demo_codes

register = template.Library()


@register.simple_tag(takes_context=True)
def sign_in_school(context):
    """The school named on the sign-in page: ?school=<slug>, else the installation's only
    school, else the product's name."""
    request = context.get("request")
    slug = request.GET.get("school", "") if request is not None else ""
    if slug:
        named = School.objects.filter(slug=slug[:50]).values_list("name", flat=True).first()
        if named:
            return named
    names = list(School.objects.values_list("name", flat=True)[:2])
    return names[0] if len(names) == 1 else "homevisits"


@register.simple_tag
def demo_codes():
    return _demo_codes()


@register.simple_tag(takes_context=True)
def second_factor_notice(context):
    """Why this person must set up a second factor now, or "" when they need not."""
    user = context.get("user")
    if user is None or not access.needs_second_factor(user) or access.has_second_factor(user):
        return ""
    return access.second_factor_reason(user)


@register.filter
def helps_colleagues(user):
    return access.may_help_anyone(user)


@register.filter
def whole_minutes(delta):
    """A lockout's cool-off (a timedelta) in minutes, for the locked page."""
    try:
        return int(delta.total_seconds() // 60)
    except AttributeError:
        return ""
