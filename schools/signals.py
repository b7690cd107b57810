from django.db.models.signals import post_delete, post_save, pre_save
from django.dispatch import Signal, receiver

from .models import Membership
from .services import membership_sync_oversight


@receiver(pre_save, sender=Membership)
def membership_remember_previous_user(sender, instance, **kwargs):
    # A8: if a membership is handed to someone else, the previous holder must lose its access too.
    instance._previous_user_id = (
        Membership.objects.filter(pk=instance.pk).values_list("user_id", flat=True).first()
        if instance.pk
        else None
    )


# Memberships are edited in the admin as well as by services; a signal keeps A8's oversight
# group right whichever path made the change.
@receiver(post_save, sender=Membership)
@receiver(post_delete, sender=Membership)
def membership_changed(sender, instance, **kwargs):
    membership_sync_oversight(user=instance.user)
    previous = getattr(instance, "_previous_user_id", None)
    if previous and previous != instance.user_id:
        membership_sync_oversight(user=type(instance.user).objects.get(pk=previous))


# A8: a role was asked for, given, refused or taken away (schools/roles.py). Sent inside the
# change's transaction with event= ("requested" | "granted" | "refused" | "removed"), school=,
# user= (whose role), role=, by=, now=, key= (unique to this event: the outbox's key), about=
# (the RoleRequest, or None), reason= (a refusal's). notifications/roles.py tells the school's
# DSLs and headteacher, as schools may not import notifications (ARCHITECTURE.md).
role_changed = Signal()
