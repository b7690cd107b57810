"""The admin's forms for people and their roles (A8: separation of duties, schools/roles.py)."""

from django import forms
from django.contrib.auth import get_user_model
from django.contrib.auth.forms import UserChangeForm as DjangoUserChangeForm

from .models import Membership
from .roles import RoleRefused, check_role_give

User = get_user_model()


class UserAddForm(forms.ModelForm):
    """A new person: name, email and username, never a password. They are sent a link to set
    their own (schools/admin.py), so nobody else ever knows it (A8)."""

    class Meta:
        model = User
        fields = ("username", "first_name", "last_name", "email")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name in self.Meta.fields:
            self.fields[name].required = True
        self.fields[
            "email"
        ].help_text = (
            "They are sent a link here to set their own password; they sign in with it too."
        )

    def clean_email(self):
        # allauth finds an account by its email in lower case (the reset link).
        email = self.cleaned_data["email"].strip().lower()
        if User.objects.filter(email__iexact=email).exists():
            raise forms.ValidationError(
                "Someone already has this email address: each person signs in with their own."
            )
        return email

    def save(self, commit=True):
        user = super().save(commit=False)
        user.set_unusable_password()
        if commit:
            user.save()
        return user


class UserChangeForm(DjangoUserChangeForm):
    """A person's page without the password hash and its "set a password" link: nobody sets
    another person's password, superusers included (A8). They are sent a reset link."""

    password = None


ROLE_FIXED = (
    "A role is not changed: take it away and give the new one (a DSL, deputy DSL or "
    "headteacher role waits for a second person's approval, A8)."
)


class MembershipForm(forms.ModelForm):
    """Giving a role, checked by the rules of schools/roles.py; the admin sets `by` (the person
    giving it) on a subclass per request. A role already given is shown, never changed: a
    changed role would skip the approval a safeguarding role needs."""

    by = None

    class Meta:
        model = Membership
        fields = ("user", "school", "role")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            for name in ("user", "school", "role"):
                if name in self.fields:
                    self.fields[name].disabled = True
                    self.fields[name].help_text = ROLE_FIXED

    def clean(self):
        cleaned = super().clean()
        if self.instance.pk:
            return cleaned
        school, role = cleaned.get("school"), cleaned.get("role")
        if school is None or not role:
            return cleaned
        # On a person's page the person is the page's: not saved yet while they are being
        # added, a new starter with no role anywhere (checked as None).
        person = cleaned.get("user") or (self.instance.user if self.instance.user_id else None)
        if person is None:
            if "user" in self.fields and not self.fields["user"].disabled:
                return cleaned  # "This field is required." is already said
        elif person.pk is None:
            person = None
        try:
            check_role_give(user=person, school=school, role=role, by=self.by)
        except RoleRefused as refusal:
            raise forms.ValidationError(refusal.messages) from None
        return cleaned
