from django import forms

from homevisits.cleaning import LONG_TEXT_CHARS, BoundedFormMixin
from schools.selectors import display_name
from schools.validators import DateWindow

from .models import Category, Referral


def plausible_date_field(label, *, required=False, window=None):
    """A date picked on a tablet or typed in a filter, refused far from today's calendar."""
    return forms.DateField(
        label=label,
        required=required,
        validators=[window or DateWindow(label)],
        widget=forms.DateInput(attrs={"type": "date"}),
    )


class ConcernForm(BoundedFormMixin, forms.Form):
    # A5: an account in the words used can be long, as long as the minutes.
    text_limits = {"account": LONG_TEXT_CHARS}

    pupil = forms.ModelChoiceField(queryset=None, label="Pupil")
    account = forms.CharField(
        label="What did you see or hear? (A5)",
        widget=forms.Textarea(attrs={"rows": 8}),
        help_text="Facts, in the words used: who said what, when, where. Only the DSL, deputies, "
        "headteacher and you will see this (A8).",
    )

    def __init__(self, *args, pupils, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["pupil"].queryset = pupils


class TriageForm(BoundedFormMixin, forms.Form):
    category = forms.ChoiceField(choices=Category.choices)
    referral = forms.ChoiceField(label="Referral made", choices=Referral.choices)
    referral_reference = forms.CharField(
        label="Referral reference number", required=False, max_length=100
    )
    note = forms.CharField(
        label="Note for the record",
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Add each action in the Actions card, with its owner and due date (A7).",
    )


class CloseForm(BoundedFormMixin, forms.Form):
    # The outcome sums up the concern's whole story, so it may run longer than a note.
    text_limits = {"outcome": 10_000}

    outcome = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}))


class ActionForm(BoundedFormMixin, forms.Form):
    """A7: an action agreed on a concern, with an owner and a due date."""

    description = forms.CharField(
        label="What is to be done", max_length=2000, widget=forms.Textarea(attrs={"rows": 2})
    )
    owner = forms.ModelChoiceField(queryset=None, label="Owner")
    # The service refuses a date in the past; years ahead is a slip, not a plan (A7).
    due_on = plausible_date_field(
        "Due on", required=True, window=DateWindow("The due date", ahead=5 * 366)
    )

    def __init__(self, *args, staff, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["owner"].queryset = staff
        self.fields["owner"].label_from_instance = display_name


class ActionDoneForm(BoundedFormMixin, forms.Form):
    outcome = forms.CharField(
        label="Outcome",
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="What was done, and what came of it (A7).",
    )
