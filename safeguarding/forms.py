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


CHOOSE = "Choose…"


def choose_first(choices):
    """A choice with consequences starts empty: nothing is picked for the DSL."""
    return [("", CHOOSE), *choices]


class TriageForm(BoundedFormMixin, forms.Form):
    category = forms.ChoiceField(
        choices=choose_first(Category.choices),
        error_messages={"required": "Choose the category of the concern (A5)."},
    )
    referral = forms.ChoiceField(
        label="Referral made",
        choices=choose_first(Referral.choices),
        error_messages={"required": "Say whether a referral was made, and to whom (A5)."},
    )
    referral_reference = forms.CharField(
        label="Referral reference number", required=False, max_length=100
    )
    note = forms.CharField(
        label="Note for the record",
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="An action typed in the Actions card above is saved with the triage (A7).",
    )

    @classmethod
    def for_concern(cls, concern, data=None, **kwargs):
        """Bound to what the concern holds now, so `has_changed()` says whether the DSL typed
        a triage; a concern not yet triaged starts with nothing chosen."""
        initial = {
            "category": concern.category,
            "referral": concern.referral,
            "referral_reference": concern.referral_reference,
        }
        return cls(data, initial=initial, **kwargs)

    def is_filled(self):
        """Anything posted that differs from what the concern holds: a triage was typed."""
        return self.is_bound and any(
            field.has_changed(self.get_initial_for_field(field, name), self.data.get(name))
            for name, field in self.fields.items()
            if name in self.data
        )


class CloseForm(BoundedFormMixin, forms.Form):
    # The outcome sums up the concern's whole story, so it may run longer than a note.
    text_limits = {"outcome": 10_000}

    outcome = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}))


class ActionForm(BoundedFormMixin, forms.Form):
    """A7: an action agreed on a concern, with an owner and a due date."""

    FIELDS = ("description", "owner", "due_on")

    description = forms.CharField(
        label="What is to be done", max_length=2000, widget=forms.Textarea(attrs={"rows": 2})
    )
    owner = forms.ModelChoiceField(queryset=None, label="Owner", empty_label=CHOOSE)
    # The service refuses a date in the past; years ahead is a slip, not a plan (A7).
    due_on = plausible_date_field(
        "Due on", required=True, window=DateWindow("The due date", ahead=5 * 366)
    )

    def __init__(self, *args, staff, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["owner"].queryset = staff
        self.fields["owner"].label_from_instance = display_name

    def is_filled(self):
        """Anything typed in it: an action half-typed is never dropped without a word."""
        return self.is_bound and any(
            str(self.data.get(self.add_prefix(name), "")).strip() for name in self.FIELDS
        )


class ActionDoneForm(BoundedFormMixin, forms.Form):
    outcome = forms.CharField(
        label="Outcome",
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="What was done, and what came of it (A7).",
    )
