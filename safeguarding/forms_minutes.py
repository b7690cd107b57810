"""Forms of the minutes screens (A1, A3, A6). The draft itself is saved as JSON by the tablet's
script (static/js/minutes.js); these are the plain forms around it."""

from django import forms
from django.contrib.auth import get_user_model
from django.utils import timezone

from homevisits.cleaning import LONG_TEXT_CHARS, BoundedFormMixin
from schools.selectors import display_name, roles_at, staff_of
from schools.validators import DateWindow

from .models import DebriefWith
from .services.minutes import DEBRIEF_ROLES


def action_owners(school):
    """The people an action may be given to (A7): the school's active staff, as the service's
    submit check counts them."""
    people = staff_of(school)
    return [{"id": person.pk, "name": display_name(person)} for person in people]


class AddendumForm(BoundedFormMixin, forms.Form):
    text = forms.CharField(
        label="Addendum",
        widget=forms.Textarea(attrs={"rows": 4}),
        max_length=LONG_TEXT_CHARS,
        help_text="A correction or a later note. The minutes themselves do not change; this is "
        "added below them with your name and the time.",
    )


class DebriefForm(BoundedFormMixin, forms.Form):
    # Chosen, never assumed: it says whose debrief this was (A6).
    led_as = forms.ChoiceField(
        label="The debrief was held with you as",
        choices=[("", "Choose…"), *DebriefWith.choices],
        error_messages={"required": "Say who the debrief was held with (A6)."},
    )
    debriefed = forms.ModelMultipleChoiceField(
        label="Who was debriefed",
        queryset=None,
        widget=forms.CheckboxSelectMultiple,
        help_text="Tick each member of staff from the visit who talked it through with you (A6).",
        error_messages={
            "required": "Tick who was debriefed: at least one of the staff on the visit (A6)."
        },
    )
    held_at = forms.DateTimeField(
        label="When it was held",
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        help_text="UK time.",
        # The service checks it is after the visit and not ahead of now (A6).
        validators=[DateWindow("When it was held", back=5 * 366, ahead=1)],
    )
    agreed = forms.CharField(
        label="What was agreed (A6)",
        widget=forms.Textarea(attrs={"rows": 6}),
        max_length=LONG_TEXT_CHARS,
    )

    def __init__(self, *args, visit, **kwargs):
        super().__init__(*args, **kwargs)
        field = self.fields["debriefed"]
        field.queryset = (
            get_user_model()
            .objects.filter(pk__in=[assignment.user_id for assignment in visit.assignments.all()])
            .order_by("first_name", "last_name", "pk")
        )
        field.label_from_instance = display_name

    @classmethod
    def initial_for(cls, *, user, visit, now):
        """The role the person held the debrief as when they hold only one that fits (else
        they choose), and the time now."""
        roles = roles_at(user, visit.school)
        fits = [choice for choice, role in DEBRIEF_ROLES.items() if role in roles]
        return {
            "led_as": fits[0] if len(fits) == 1 else "",
            "held_at": timezone.localtime(now).replace(second=0),
        }
