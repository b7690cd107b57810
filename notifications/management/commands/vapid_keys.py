"""Print a new VAPID key pair for Web Push, as the settings read it from the environment.

Made here, with `cryptography`; nothing is fetched. Keep the private key secret, and keep the
pair: browsers subscribe with the public key, and a new pair means every browser must
subscribe again.
"""

from django.core.management.base import BaseCommand

from notifications.push.keys import new_vapid_pair


class Command(BaseCommand):
    help = "Print a new VAPID key pair (VAPID_PUBLIC_KEY, VAPID_PRIVATE_KEY) for Web Push."

    def handle(self, *args, **options):
        public, private = new_vapid_pair()
        self.stdout.write(f"VAPID_PUBLIC_KEY={public}")
        self.stdout.write(f"VAPID_PRIVATE_KEY={private}")
