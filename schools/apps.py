from django.apps import AppConfig


class SchoolsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "schools"
    verbose_name = "Schools and people"

    def ready(self):
        from django.db.models.signals import post_migrate

        from . import signals  # noqa: F401

        post_migrate.connect(_ensure_school_admins_group, sender=self)


def _ensure_school_admins_group(sender, using, **kwargs):
    # Every installation gets the group a school admin is put in, not only the demo.
    from .services import school_admins_group

    school_admins_group()
