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


# Dates people type into filters and records: far enough either way for ten years of records
# and plans, and never near the calendar's end, where adding a day overflows (a 500).
EARLIEST_YEAR, LATEST_YEAR = 1900, 2200


def is_plausible_date(value):
    return value is None or EARLIEST_YEAR <= value.year <= LATEST_YEAR


def validate_plausible_date(value):
    if not is_plausible_date(value):
        raise ValidationError(
            f"Enter a date between {EARLIEST_YEAR} and {LATEST_YEAR}.", code="date_range"
        )
