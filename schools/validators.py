import datetime

from django.core.exceptions import ValidationError
from django.utils import timezone

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


def _day(value):
    """The London calendar day of a date or an aware moment; None if it has no place on it."""
    if isinstance(value, datetime.datetime):
        try:
            return timezone.localtime(value).date() if timezone.is_aware(value) else value.date()
        except (OverflowError, ValueError):
            return None
    return value


def _years(days):
    return f"{days // 365} year{'s' if days // 365 != 1 else ''}" if days >= 365 else f"{days} days"


class DateWindow:
    """A date (or moment) within `back` days before and `ahead` days after today, and in the
    plausible years; refused in plain words naming `what` and the limit. Today is read when the
    value is checked, never when the form is defined."""

    def __init__(self, what, *, back=None, ahead=None):
        self.what, self.back, self.ahead = what, back, ahead

    def __call__(self, value):
        if value is None:
            return
        day = _day(value)
        if day is None or not is_plausible_date(day):
            raise ValidationError(
                f"Enter a date between {EARLIEST_YEAR} and {LATEST_YEAR}.", code="date_range"
            )
        today = timezone.localdate()
        if self.ahead is not None and day > today + datetime.timedelta(days=self.ahead):
            if self.ahead == 0:
                raise ValidationError(f"{self.what} cannot be in the future.", code="date_range")
            raise ValidationError(
                f"{self.what} can be at most {_years(self.ahead)} from today.", code="date_range"
            )
        if self.back is not None and day < today - datetime.timedelta(days=self.back):
            if self.back == 0:
                raise ValidationError(f"{self.what} cannot be in the past.", code="date_range")
            raise ValidationError(
                f"{self.what} can be at most {_years(self.back)} ago.", code="date_range"
            )

    def __eq__(self, other):
        return isinstance(other, DateWindow) and vars(other) == vars(self)


# A pupil is at most 25 (SEND provision runs to 25) and born already. For the admin's pupil
# form and the MIS import (schools/admin.py, schools/resources.py); not on the model's field,
# which would need a migration.
validate_pupil_date_of_birth = DateWindow("A pupil's date of birth", back=26 * 365, ahead=0)
