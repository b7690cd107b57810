"""Forms of the minutes screens (A1, A3, A6). The draft itself is saved as JSON by the tablet's
script (static/js/minutes.js); these are the plain forms around it."""

from django import forms
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
    led_as = forms.ChoiceField(
        label="The debrief was held with you as", choices=DebriefWith.choices
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

    @classmethod
    def initial_for(cls, *, user, visit, now):
        """The role the person most likely held the debrief as, and the time now."""
        roles = roles_at(user, visit.school)
        led_as = next(
            (choice for choice, role in DEBRIEF_ROLES.items() if role in roles),
            DebriefWith.LINE_MANAGER,
        )
        return {"led_as": led_as, "held_at": timezone.localtime(now).replace(second=0)}
