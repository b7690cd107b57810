from crispy_forms.helper import FormHelper
from crispy_forms.layout import HTML, Column, Fieldset, Layout, Row, Submit
from django import forms

from homevisits.cleaning import BoundedFormMixin
from schools.phones import uk
from schools.validators import DateWindow, validate_phone_number

from .models import DoorReason, RiskAssessment, Visit, VisitType
from .services import DEFAULT_REPORTING, DETAIL_FIELDS, EXTENSION_MINUTES
from .services.risk import answers_with_record, flags_on_record, record_problems


def _yes_no(label, help_text="", required=False):
    return forms.TypedChoiceField(
        label=label,
        choices=[("yes", "Yes"), ("no", "No")],
        coerce=lambda value: value == "yes",
        empty_value=None,
        required=required,
        widget=forms.RadioSelect,
        help_text=help_text,
    )


def _as_yes_no(value):
    return {True: "yes", False: "no"}.get(value)


# A visit is planned for the weeks ahead, and its record kept of what was arranged for it: a
# date years away either way is a slip of the finger (or a crafted request), never a plan.
VISIT_WINDOW_DAYS = 366


def _when(label, required=False, help_text="", *, what=None):
    return forms.DateTimeField(
        label=label,
        required=required,
        help_text=help_text,
        validators=[DateWindow(what or label, back=VISIT_WINDOW_DAYS, ahead=VISIT_WINDOW_DAYS)],
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
    )


class StaffChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, user):
        mobile = getattr(getattr(user, "staff_profile", None), "mobile", "")
        name = user.get_full_name() or user.get_username()
        return f"{name} ({uk(mobile)})" if mobile else f"{name} (no mobile recorded)"


class VisitForm(BoundedFormMixin, forms.ModelForm):
    """The visit request. The rules are checked in full on submission, so a draft may be partial."""

    # An address is a few lines; the other texts are notes (5,000 characters).
    text_limits = {"address": 1_000}

    parent_could_come_to_school = _yes_no(
        "Could the parent come into school instead?", "P4: answer before asking for a home visit."
    )
    announced = _yes_no(
        "Was the parent/carer told about the visit in advance?",
        "P8: if not, record the reason for an unannounced visit.",
    )
    planned_start = _when("Planned start", required=True, help_text="P7", what="The planned start")
    expected_end = _when(
        "Expected end",
        required=True,
        help_text="P7: when you will be back.",
        what="The expected end",
    )
    parent_told_at = _when("When the parent/carer was told", what="When the parent was told")
    la_told_at = _when("Told by telephone at", what="When the Local Authority was told")
    la_confirmed_at = _when("Confirmed by email/letter at", what="When it was confirmed")
    staff_1 = StaffChoiceField(queryset=None, label="Member of staff going", help_text="P3")
    staff_1_mobile = forms.CharField(
        label="Their mobile on the visit",
        required=False,
        max_length=40,
        help_text="P13: leave blank to use the number in their staff profile.",
        validators=[validate_phone_number],
    )
    staff_2 = StaffChoiceField(
        queryset=None,
        label="Second member of staff",
        required=False,
        help_text="P3: staff go in pairs. A lone visit needs the DSL's or SLT's explicit decision.",
    )
    staff_2_mobile = forms.CharField(
        label="Their mobile on the visit",
        required=False,
        max_length=40,
        help_text="P13",
        validators=[validate_phone_number],
    )
    version = forms.IntegerField(widget=forms.HiddenInput, required=False)

    class Meta:
        model = Visit
        fields = ["pupil", *DETAIL_FIELDS]
        widgets = {
            "purpose_detail": forms.Textarea(attrs={"rows": 2}),
            "why_not_in_school": forms.Textarea(attrs={"rows": 2}),
            "reporting_arrangements": forms.Textarea(attrs={"rows": 2}),
            "address": forms.Textarea(attrs={"rows": 3}),
            "unannounced_reason": forms.Textarea(attrs={"rows": 2}),
            "visit_type": forms.RadioSelect,
        }
        help_texts = {"address": "Leave blank to use the pupil's home address."}

    def __init__(self, *args, pupils, staff, **kwargs):
        super().__init__(*args, **kwargs)
        for name in ("parent_could_come_to_school", "announced"):
            if self.instance.pk:
                self.initial[name] = _as_yes_no(getattr(self.instance, name))
        if self.instance.pk:
            del self.fields["pupil"]
            assignments = list(self.instance.assignments.all())
            for index, assignment in enumerate(assignments[:2], start=1):
                self.initial.setdefault(f"staff_{index}", assignment.user_id)
                self.initial.setdefault(f"staff_{index}_mobile", uk(assignment.mobile))
            self.initial.setdefault("version", self.instance.version)
        else:
            self.fields["pupil"].queryset = pupils
            self.initial.setdefault("reporting_arrangements", DEFAULT_REPORTING)
        self.fields["visit_type"].choices = VisitType.choices
        self.fields["address"].required = False
        self.fields["reporting_arrangements"].required = False
        self.fields["staff_1"].queryset = staff
        self.fields["staff_2"].queryset = staff
        self.helper = FormHelper()
        self.helper.layout = self._layout()

    def _layout(self):
        pupil = ["pupil"] if "pupil" in self.fields else []
        return Layout(
            Fieldset(
                "Purpose (P4)",
                *pupil,
                "purpose",
                "purpose_detail",
                "parent_could_come_to_school",
                "why_not_in_school",
            ),
            Fieldset(
                "When and where (P7)",
                Row(Column("planned_start"), Column("expected_end")),
                "address",
                "visit_type",
                "reporting_arrangements",
            ),
            Fieldset(
                "Who goes (P3, P13)",
                Row(Column("staff_1"), Column("staff_1_mobile")),
                Row(Column("staff_2"), Column("staff_2_mobile")),
                "joint_professional",
            ),
            Fieldset(
                "Telling the family (P8)",
                "announced",
                Row(Column("parent_told_how"), Column("parent_told_at")),
                "unannounced_reason",
            ),
            Fieldset(
                "Local Authority / Social Services (P9)",
                "la_told",
                "la_contact",
                Row(Column("la_told_at"), Column("la_confirmed_at")),
            ),
            Fieldset(
                "Safety (P12, P14, P16)",
                Row(Column("vehicle_description"), Column("vehicle_registration")),
                "code_word",
                HTML('<p class="form-label mb-1">Staff take with them (P16)</p>'),
                "takes_id_badge",
                "takes_charged_mobile",
                "takes_school_numbers",
                "resources_note",
            ),
            "version",
            Submit("save", "Save visit", css_class="btn-lg"),
        )

    def clean(self):
        data = super().clean()
        start, end = data.get("planned_start"), data.get("expected_end")
        if start and end and end <= start:
            self.add_error("expected_end", "The expected end must be after the planned start (P7).")
        return data

    def staff_pairs(self):
        """The staff going, as (user, mobile) pairs; a blank mobile falls back to their profile."""
        pairs = []
        for index in (1, 2):
            user = self.cleaned_data.get(f"staff_{index}")
            if user is None:
                continue
            mobile = self.cleaned_data.get(f"staff_{index}_mobile", "").strip()
            if not mobile:
                mobile = getattr(getattr(user, "staff_profile", None), "mobile", "")
            pairs.append((user, mobile))
        return pairs

    def details(self):
        return {
            name: self.cleaned_data[name] for name in DETAIL_FIELDS if name in self.cleaned_data
        }


class RiskAssessmentForm(BoundedFormMixin, forms.ModelForm):
    """P5: every yes/no question needs an answer; none is taken as "no" by default."""

    version = forms.IntegerField(widget=forms.HiddenInput)

    class Meta:
        model = RiskAssessment
        fields = list(RiskAssessment.ANSWER_FIELDS)
        widgets = {
            name: forms.Textarea(attrs={"rows": 2})
            for name in (
                "known_about_family",
                "unknowns",
                "other_professionals",
                "joint_visit_notes",
                "previous_aggression_details",
                "contentious_details",
                "animals_details",
                "parking_and_valuables",
            )
        }

    def __init__(self, *args, visit, **kwargs):
        super().__init__(*args, **kwargs)
        self.pupil = visit.pupil
        self._record_wins()
        for name in RiskAssessment.YES_NO_QUESTIONS:
            model_field = RiskAssessment._meta.get_field(name)
            self.fields[name] = _yes_no(
                model_field.verbose_name.capitalize(), model_field.help_text, required=True
            )
            if name in self.initial:
                self.initial[name] = _as_yes_no(self.initial[name])
        self.initial["version"] = visit.version
        self.helper = FormHelper()
        self.helper.layout = Layout(
            Fieldset(
                "The family (P5)",
                "known_about_family",
                "unknowns",
                "little_known",
                "other_professionals",
            ),
            Fieldset("Joint visit (P5)", "joint_visit_considered", "joint_visit_notes"),
            Fieldset(
                "Risks (P5, P6)",
                "previous_aggression",
                "previous_aggression_details",
                "contentious_issues",
                "contentious_details",
                "animals",
                "animals_details",
            ),
            Fieldset("Getting there (P5)", "parking_and_valuables", "vehicle_insured"),
            "version",
            Submit("save", "Save risk assessment", css_class="btn-lg"),
        )

    def _record_wins(self):
        """P5, P6, D4: the pupil's record fills its answers over the last assessment's, on first
        display and when the form comes back; a blank answer the record knows is the record's."""
        if self.is_bound:
            missing = [
                flag.question
                for flag in flags_on_record(self.pupil)
                if not self.data.get(self.add_prefix(flag.question))
            ]
            if missing:
                self.data = self.data.copy()
                for name in missing:
                    self.data[self.add_prefix(name)] = "yes"
            return
        self.initial = answers_with_record(
            self.pupil, self.initial, own_answers=bool(self.instance.pk)
        )

    def clean(self):
        data = super().clean()
        for name, message in record_problems(self.pupil, data).items():
            if name in self.fields and name not in self.errors:
                self.add_error(name, message)
        return data

    def answers(self):
        return {name: self.cleaned_data[name] for name in RiskAssessment.ANSWER_FIELDS}


class DecisionForm(BoundedFormMixin, forms.Form):
    """An authoriser's decision (P1, P2, P3, P10)."""

    DECISIONS = [
        ("approve", "Authorise the visit"),
        ("changes", "Send back for changes"),
        ("refuse", "Refuse the visit"),
    ]
    decision = forms.ChoiceField(choices=DECISIONS, widget=forms.RadioSelect)
    version = forms.IntegerField(widget=forms.HiddenInput)
    confirmed = forms.BooleanField(
        required=False,
        label="I have read the request and its risk assessment, and I sanction this visit for the "
        "staff named (P10).",
    )
    lone_visit_reason = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        label="Why this visit may go ahead with one member of staff (P3)",
        help_text="Needed to authorise a lone visit; only the roles the school names may decide.",
    )
    reason = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        label="Reason (needed to refuse or send back)",
    )

    def __init__(self, *args, lone=False, **kwargs):
        super().__init__(*args, **kwargs)
        if not lone:
            del self.fields["lone_visit_reason"]
        self.helper = FormHelper()
        self.helper.add_input(Submit("decide", "Record decision", css_class="btn-lg"))


class CancelForm(BoundedFormMixin, forms.Form):
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), label="Why is it cancelled?")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.helper = FormHelper()
        self.helper.add_input(Submit("cancel", "Cancel the visit", css_class="btn-danger btn-lg"))


class PositionFields(forms.Form):
    """E2: where the browser says the phone is; filled by static/js/checkin.js when allowed."""

    lat = forms.FloatField(required=False, widget=forms.HiddenInput)
    lng = forms.FloatField(required=False, widget=forms.HiddenInput)
    accuracy = forms.FloatField(required=False, widget=forms.HiddenInput)

    def position(self):
        data = self.cleaned_data if self.is_valid() else {}
        if data.get("lat") is None or data.get("lng") is None:
            return None
        return {"lat": data["lat"], "lng": data["lng"], "accuracy": data.get("accuracy")}


class ExtendForm(BoundedFormMixin, PositionFields):
    minutes = forms.TypedChoiceField(
        label="Extend by",
        choices=[(m, f"{m} minutes") for m in EXTENSION_MINUTES],
        coerce=int,
        widget=forms.RadioSelect,
    )
    reason = forms.CharField(label="Why is it running longer? (D2)", max_length=500)


class DoorForm(BoundedFormMixin, PositionFields):
    reason = forms.ChoiceField(
        label="Why are you calling it off?", choices=DoorReason.choices, widget=forms.RadioSelect
    )
    note = forms.CharField(
        label="Anything the office should know",
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
