from django.apps import AppConfig


class EscalationConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "escalation"
    verbose_name = "Overdue escalation (E1-E3)"

    def ready(self):
        from . import (
            notices,  # noqa: F401 (connects visits' decisions to the authorisers' and staff's email)
            receivers,  # noqa: F401 (connects the outbox's signals to the timelines)
        )
