from crispy_forms.helper import FormHelper
from crispy_forms.layout import Submit
from django import forms

from .models import StaffProfile


class StaffProfileForm(forms.ModelForm):
    class Meta:
        model = StaffProfile
        fields = ["mobile", "job_title", "vehicle_description", "vehicle_registration"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["mobile"].required = True
        self.helper = FormHelper()
        self.helper.add_input(Submit("save", "Save", css_class="btn-lg"))
