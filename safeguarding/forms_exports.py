"""The form that records a copy of the minutes sent (A2). The rules are in
safeguarding/services/exports.py: copy_sent_record."""

from django import forms

from homevisits.cleaning import BoundedFormMixin
from schools.validators import DateWindow

from .models import CopyMethod, CopyRecipient, CopyVersion


class CopySentForm(BoundedFormMixin, forms.Form):
    version = forms.ChoiceField(
        label="Which copy",
        choices=CopyVersion.choices,
        help_text="Parents get the copy without staff-safety details (A2).",
    )
    recipient = forms.ChoiceField(label="Sent to", choices=CopyRecipient.choices)
    recipient_name = forms.CharField(
        label="Name of the person or service", max_length=200, help_text="For example: Ms J Smith."
    )
    method = forms.ChoiceField(label="How", choices=CopyMethod.choices)
    sent_at = forms.DateTimeField(
        label="When it was sent",
        # The service refuses a time ahead of now (A2).
        validators=[DateWindow("When it was sent", back=5 * 366, ahead=1)],
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
    )

    def __init__(self, *args, versions, **kwargs):
        super().__init__(*args, **kwargs)
        # Only the copies this person may have; the service checks again.
        self.fields["version"].choices = [
            (value, label) for value, label in CopyVersion.choices if value in versions
        ]
        if CopyVersion.REDACTED in versions:
            self.fields["version"].initial = CopyVersion.REDACTED
