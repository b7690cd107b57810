from django.core.exceptions import ValidationError

from .phones import is_dialable as is_phone_number  # noqa: F401 (the name callers know)
from .phones import validate_dialable as validate_phone_number  # noqa: F401 (old migrations)

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
