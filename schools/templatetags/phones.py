"""Phone numbers on pages: {{ number|phone }} as 07700 900123, tel:{{ number|tel }} to dial."""

from django import template

from schools.phones import e164, uk

register = template.Library()


@register.filter
def phone(value):
    return uk(value)


@register.filter
def tel(value):
    return e164(value)
