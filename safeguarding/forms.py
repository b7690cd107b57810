from django import forms

from .models import Category, Referral


class ConcernForm(forms.Form):
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


class TriageForm(forms.Form):
    category = forms.ChoiceField(choices=Category.choices)
    referral = forms.ChoiceField(label="Referral made", choices=Referral.choices)
    referral_reference = forms.CharField(
        label="Referral reference number", required=False, max_length=100
    )
    note = forms.CharField(
        label="Actions and who owns them", required=False, widget=forms.Textarea(attrs={"rows": 3})
    )


class CloseForm(forms.Form):
    outcome = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}))
