from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from .models import Membership
from .services import membership_sync_oversight


# Memberships are edited in the admin as well as by services; a signal keeps A8's oversight
# group right whichever path made the change.
@receiver(post_save, sender=Membership)
@receiver(post_delete, sender=Membership)
def membership_changed(sender, instance, **kwargs):
    membership_sync_oversight(user=instance.user)
