from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "audit"
    verbose_name = "Audit trail"

    def ready(self):
        # The other apps' models are attached to here, not imported (ARCHITECTURE.md: audit is
        # floor 1 and imports nothing above schools).
        from . import receivers, triggers

        triggers.register_triggers()
        receivers.connect()
