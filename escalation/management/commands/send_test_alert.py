"""Prove that a phone can be reached: send a test text (and, with --call, a phone call) now,
straight through the configured providers, and say what the gateway answered."""

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from notifications.models import Channel
from notifications.services import send_now
from schools.phones import e164, is_dialable


class Command(BaseCommand):
    help = "Send a test text (and with --call a phone call) to a mobile, to prove the set-up."

    def add_arguments(self, parser):
        parser.add_argument("--to", required=True, help="the mobile, e.g. 07700 900123")
        parser.add_argument("--call", action="store_true", help="also ring it")

    def handle(self, *args, to, call, **options):
        if not is_dialable(to):
            raise CommandError(f"{to!r} is not a phone number that can be dialled.")
        to = e164(to)
        now = timezone.now()
        failed = False
        for channel in [Channel.SMS] + ([Channel.VOICE] if call else []):
            row, error = send_now(
                key=f"test:{now.isoformat()}:{channel}",
                school=None,
                label="Test",
                channel=channel,
                address=to.strip(),
                subject="homevisits test alert",
                body=(
                    "This is a test from homevisits: alerts about staff on home visits will "
                    "reach this phone. Nothing needs doing."
                ),
                now=now,
            )
            how = settings.NOTIFICATION_TRANSPORTS[channel].rsplit(".", 1)[-1]
            label = row.get_channel_display()
            if error:
                failed = True
                self.stderr.write(f"{label} through {how}: failed: {error}")
                continue
            row.refresh_from_db()
            self.stdout.write(
                f"{label} through {how}: accepted"
                + (f" (the gateway's id: {row.provider_ref})" if row.provider_ref else "")
                + (" (written to the log: no gateway is set)" if how == "LogTransport" else "")
            )
        if failed:
            raise CommandError("The test alert did not go: see above, and the README's set-up.")
