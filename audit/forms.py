from django import forms
from django.contrib.auth import get_user_model

from schools.models import Pupil
from schools.validators import validate_plausible_date


def _date_field(label):
    return forms.DateField(
        label=label,
        required=False,
        validators=[validate_plausible_date],
        widget=forms.DateInput(attrs={"type": "date"}),
    )


class TrailFilterForm(forms.Form):
    person = forms.ModelChoiceField(
        queryset=None,
        required=False,
        label="Person",
        empty_label="Everyone",
        error_messages={"invalid_choice": "Choose a person of this school from the list."},
    )
    pupil = forms.ModelChoiceField(
        queryset=None,
        required=False,
        label="Pupil",
        empty_label="Any pupil",
        error_messages={"invalid_choice": "Choose a pupil of this school from the list."},
    )
    kind = forms.ChoiceField(label="What happened", required=False)
    date_from = _date_field("From")
    date_to = _date_field("To")

    def __init__(self, *args, school, actions, with_pupils, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["person"].queryset = (
            get_user_model()
            .objects.filter(memberships__school=school)
            .distinct()
            .order_by("first_name", "last_name", "username")
        )
        self.fields["person"].label_from_instance = lambda u: u.get_full_name() or u.username
        if with_pupils:
            self.fields["pupil"].queryset = Pupil.objects.filter(school=school)
        else:
            del self.fields["pupil"]
        self.fields["kind"].choices = [("", "Anything")] + [(a.value, a.label) for a in actions]

    def clean(self):
        data = super().clean()
        start, end = data.get("date_from"), data.get("date_to")
        if start and end and start > end:
            self.add_error("date_to", "The end date is before the start date.")
        return data

    def described(self):
        """The filters in words, for the record of a download."""
        data = self.cleaned_data
        parts = []
        if data.get("person"):
            person = data["person"]
            parts.append(f"person {person.get_full_name() or person.username}")
        if data.get("pupil"):
            parts.append(f"pupil {data['pupil'].pk}")
        if data.get("kind"):
            parts.append(f"kind {data['kind']}")
        if data.get("date_from"):
            parts.append(f"from {data['date_from']:%Y-%m-%d}")
        if data.get("date_to"):
            parts.append(f"to {data['date_to']:%Y-%m-%d}")
        return "Filters: " + (", ".join(parts) if parts else "none")
