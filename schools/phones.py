"""Phone numbers: stored in international form (E.164, what the SMS and voice gateways take),
shown in UK form ("07700 900123"), through django-phonenumber-field.

The library counts a number as valid only in ranges already given to networks; the ranges
Ofcom keeps for drama and tests (07700 900000-900999, 0114 496 0xxx), which the demo and the
tests use so that nothing reaches a real person, are not among them. A number is accepted here
when it can be dialled (it has the length of a real number of its country: "possible"), as the
old check did, and it is stored in international form all the same.
"""

import re

import phonenumbers
from django.core.exceptions import ValidationError
from phonenumber_field import formfields, modelfields
from phonenumber_field.phonenumber import PhoneNumber, to_python

REGION = "GB"
MESSAGE = "Enter a phone number the office can dial, such as 07700 900123 (P13)."


def parse(value):
    """A PhoneNumber for a number typed in the UK's way or internationally, or None."""
    number = to_python(value, region=REGION)
    return number if isinstance(number, PhoneNumber) and number.national_number else None


# Digits, spaces, brackets and dashes, as people write numbers; a letter is a typing slip.
_ALLOWED = re.compile(r"^\+?[0-9 ()-]+$")


def is_dialable(value):
    if isinstance(value, str) and not _ALLOWED.match(value.strip()):
        return False
    number = parse(value)
    return number is not None and phonenumbers.is_possible_number(number)


def validate_dialable(value):
    if value and not is_dialable(value):
        raise ValidationError(MESSAGE, code="phone")


def e164(value):
    """`value` as +447700900123, for gateways and tel: links ("" if it is not a number)."""
    number = parse(value)
    if number is None:
        return ""
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def uk(value):
    """`value` as a person in the UK writes it: 07700 900123 (international otherwise)."""
    number = parse(value)
    if number is None:
        return str(value or "")
    style = (
        phonenumbers.PhoneNumberFormat.NATIONAL
        if number.country_code == 44
        else phonenumbers.PhoneNumberFormat.INTERNATIONAL
    )
    return phonenumbers.format_number(number, style)


class PhoneFormField(formfields.PhoneNumberField):
    default_validators = [validate_dialable]

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("region", REGION)
        super().__init__(*args, **kwargs)
        self.error_messages["invalid"] = MESSAGE

    def prepare_value(self, value):
        # The form shows the number as it is written here, not +44...
        return uk(value) if value else value


class PhoneField(modelfields.PhoneNumberField):
    """A phone number column: E.164 in the database whenever the number can be dialled."""

    default_validators = [validate_dialable]

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("region", REGION)
        kwargs.setdefault("max_length", 40)
        super().__init__(*args, **kwargs)

    def get_prep_value(self, value):
        number = parse(value) if value else None
        if number is not None and phonenumbers.is_possible_number(number):
            return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
        return super().get_prep_value(value)

    def formfield(self, **kwargs):
        kwargs.setdefault("form_class", PhoneFormField)
        return super().formfield(**kwargs)
