"""allauth's sign-in form in the school's words."""

from allauth.account.forms import LoginForm as AllauthLoginForm


class LoginForm(AllauthLoginForm):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["login"].label = "Username or email"
        # allauth puts its own "Forgot your password?" link here; the page has one of its own.
        self.fields["password"].help_text = ""
