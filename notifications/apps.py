from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "notifications"
    verbose_name = "Messages (email, SMS)"

    def ready(self):
        from . import roles  # noqa: F401 (tells the DSL and head of role changes, A8)
