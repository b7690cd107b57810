from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "Accounts and sign-in"

    def ready(self):
        from allauth.account.decorators import secure_admin_login
        from django.contrib import admin

        from . import receivers

        receivers.connect()
        # The admin's own sign-in page would skip the second factor: /admin/login/ sends people
        # to the site's sign-in (password, then code) and back to the admin.
        admin.site.login = secure_admin_login(admin.site.login)
