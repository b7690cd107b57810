import datetime

from django import forms
from django.utils import timezone

from homevisits.cleaning import BoundedFormMixin
from schools.validators import DateWindow

from .models import CallOutcome, Whereabouts


def _until_today(value):
    """A time of day, London, as the moment it names: today's, or tomorrow's when that is
    earlier than now but a visit could run on past midnight to it (within 12 hours, P7);
    otherwise today's, which the service refuses as past."""
    if value is None:
        return None
    now = timezone.localtime()
    moment = timezone.make_aware(datetime.datetime.combine(now.date(), value))
    tomorrow = moment + datetime.timedelta(days=1)
    if moment <= now and tomorrow - now <= datetime.timedelta(hours=12):
        return tomorrow
    return moment


class WhereaboutsMixin(BoundedFormMixin, forms.Form):
    whereabouts = forms.ChoiceField(
        label="Where are the staff now?",
        choices=Whereabouts.choices,
        widget=forms.RadioSelect,
        required=False,
        help_text="Staying: they are watched again until that time, and alerted if it passes "
        "with no word (E1). Left: the visit is reported out and the watch ends.",
    )
    until = forms.TimeField(
        label="Staying until",
        required=False,
        widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
    )

    def clean_until(self):
        return _until_today(self.cleaned_data.get("until"))

    def clean(self):
        data = super().clean()
        if data.get("whereabouts") == Whereabouts.STAYING and not data.get("until"):
            self.add_error("until", "Say until when they are staying.")
        return data


class CallForm(WhereaboutsMixin):
    outcome = forms.ChoiceField(
        label="What happened when you phoned?",
        choices=CallOutcome.choices,
        widget=forms.RadioSelect,
    )
    note = forms.CharField(
        label="Note (who you spoke to, what they said)",
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    field_order = ["outcome", "whereabouts", "until", "note"]

    def clean(self):
        data = super().clean()
        if data.get("outcome") == CallOutcome.REACHED_SAFE and not data.get("whereabouts"):
            self.add_error("whereabouts", "Say where the staff are.")
        return data


class PoliceCallForm(BoundedFormMixin, forms.Form):
    called_at = forms.DateTimeField(
        label="Police called at",
        required=False,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        help_text="Leave empty for now.",
        # The service refuses a time ahead of now; an alert is dealt with within days.
        validators=[DateWindow("The time the police were called", back=31, ahead=1)],
    )
    reference = forms.CharField(
        label="Police reference (incident number)", required=False, max_length=100
    )


class ResolveForm(WhereaboutsMixin):
    note = forms.CharField(
        label="Anything else (who was reached)",
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
    )


class PoliceStepForm(BoundedFormMixin, forms.Form):
    reason = forms.CharField(label="Why now?", required=False, max_length=500)


class DrillForm(forms.Form):
    """The school a drill is started at, as the board's button sends it: a crafted value (a
    word, a list, a number past any id) is a form error, never a 500."""

    school = forms.IntegerField(
        min_value=1,
        max_value=2**62,
        error_messages={
            "required": "Choose the school for the drill.",
            "invalid": "Choose the school for the drill.",
            "min_value": "Choose the school for the drill.",
            "max_value": "Choose the school for the drill.",
        },
    )
