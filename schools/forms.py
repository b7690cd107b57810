import datetime

from crispy_forms.helper import FormHelper
from crispy_forms.layout import Submit
from django import forms
from django.core.exceptions import ValidationError

from homevisits.cleaning import BoundedFormMixin

from .models import ClosureDay, OnCallShift, StaffProfile, Term
from .phones import uk
from .selectors import people_at
from .validators import DateWindow

# A school's calendar and rota are kept for the years around this one; a date ten years away
# either way is a slip (2205 for 2025), not a term.
CALENDAR_WINDOW = DateWindow("That date", back=10 * 366, ahead=10 * 366)


class StaffProfileForm(BoundedFormMixin, forms.ModelForm):
    class Meta:
        model = StaffProfile
        fields = ["mobile", "job_title", "vehicle_description", "vehicle_registration"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["mobile"].required = True
        self.helper = FormHelper()
        self.helper.add_input(Submit("save", "Save", css_class="btn-lg"))


# The on-call rota and the school calendar (E1, A7). The rules are the models' clean(): the
# same ones hold in the admin.


class _CalendarEntryForm(BoundedFormMixin, forms.ModelForm):
    """A row of `school`'s calendar or rota; saved with who and when (CalendarEntry.save_by)."""

    def __init__(self, *args, school, now, **kwargs):
        super().__init__(*args, **kwargs)
        self.instance.school = school
        self.now = now
        self.helper = FormHelper()
        self.helper.add_input(Submit("save", "Save", css_class="btn-lg"))

    def clean(self):
        cleaned = super().clean()
        for name, value in list(cleaned.items()):
            if isinstance(value, datetime.date):
                try:
                    CALENDAR_WINDOW(value)
                except ValidationError as error:
                    self.add_error(name, error)
        return cleaned

    def save_by(self, *, by):
        return self.instance.save_by(by=by, now=self.now)


class LocalDateTimeField(forms.DateTimeField):
    """A London wall-clock time; one that the clock change skips or repeats is refused in plain
    words rather than guessed (either guess would be an hour out)."""

    def to_python(self, value):
        try:
            return super().to_python(value)
        except forms.ValidationError as error:
            if error.code != "ambiguous_timezone":
                raise
            raise forms.ValidationError(
                "The clocks change at that time, so it does not exist or happens twice. Choose "
                "a time before or after the change.",
                code="clock_change",
            ) from error


def _moment(label, help_text=""):
    return LocalDateTimeField(
        label=label,
        help_text=help_text,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
    )


def _day(label, help_text=""):
    return forms.DateField(
        label=label,
        help_text=help_text,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )


class PersonChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, user):
        mobile = getattr(getattr(user, "staff_profile", None), "mobile", "")
        name = user.get_full_name() or user.get_username()
        return f"{name} ({uk(mobile)})" if mobile else f"{name} (no mobile recorded)"


class OnCallShiftForm(_CalendarEntryForm):
    user = PersonChoiceField(
        queryset=None,
        label="Person on call",
        error_messages={
            "invalid_choice": "Choose someone with a role at the school: only its staff can "
            "be on call (E1)."
        },
    )
    starts_at = _moment("From")
    ends_at = _moment("Until")

    class Meta:
        model = OnCallShift
        fields = ["user", "starts_at", "ends_at", "kind", "note"]
        widgets = {"kind": forms.RadioSelect}

    def __init__(self, *args, school, now, **kwargs):
        super().__init__(*args, school=school, now=now, **kwargs)
        self.fields["user"].queryset = people_at(school)
        self.fields["kind"].label = "Kind of shift"

    def clean(self):
        cleaned = super().clean()
        ends = cleaned.get("ends_at")
        if ends is not None and ends <= self.now:
            self.add_error("ends_at", "That time is over: a shift must end in the future.")
        return cleaned


class TermForm(_CalendarEntryForm):
    starts_on = _day("First day")
    ends_on = _day("Last day")

    class Meta:
        model = Term
        fields = ["name", "starts_on", "ends_on"]


class ClosureDayForm(_CalendarEntryForm):
    date = _day("Date")

    class Meta:
        model = ClosureDay
        fields = ["date", "reason", "note"]
        widgets = {"reason": forms.RadioSelect}
