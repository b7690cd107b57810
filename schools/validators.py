import re

from django.core.exceptions import ValidationError

_ALLOWED = re.compile(r"^\+?[0-9 ()-]+$")


def is_phone_number(value):
    """A UK or international number someone can dial: 10 to 15 digits, spaces allowed."""
    value = (value or "").strip()
    digits = re.sub(r"\D", "", value)
    return bool(_ALLOWED.match(value)) and 10 <= len(digits) <= 15


def validate_phone_number(value):
    if value and not is_phone_number(value):
        raise ValidationError(
            "Enter a phone number the office can dial, such as 07700 900123 (P13).",
            code="phone",
        )
