from django import forms

from visits.rules import EXTENSION_MINUTES

from .models import CallOutcome


class CallForm(forms.Form):
    outcome = forms.ChoiceField(
        label="What happened when you phoned?",
        choices=CallOutcome.choices,
        widget=forms.RadioSelect,
    )
    extend_minutes = forms.TypedChoiceField(
        label="If they are safe and staying on: extend by",
        choices=[(0, "No extension")] + [(m, f"{m} minutes") for m in EXTENSION_MINUTES],
        coerce=int,
        required=False,
        empty_value=0,
    )
    note = forms.CharField(
        label="Note (who you spoke to, what they said)",
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )


class PoliceCallForm(forms.Form):
    called_at = forms.DateTimeField(
        label="Police called at",
        required=False,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        help_text="Leave empty for now.",
    )
    reference = forms.CharField(
        label="Police reference (incident number)", required=False, max_length=100
    )


class ResolveForm(forms.Form):
    resolution = forms.CharField(
        label="How did it end?",
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Who was reached, where the staff are now.",
    )


class PoliceStepForm(forms.Form):
    reason = forms.CharField(label="Why now?", required=False, max_length=500)
