"""Exit 1 if the worker or beat has been silent too long: a container healthcheck."""

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from escalation.services import WATCHERS, watchers_down


class Command(BaseCommand):
    help = "Exit non-zero when the worker's or beat's heartbeat is stale (see /healthz)."

    def add_arguments(self, parser):
        parser.add_argument("watcher", choices=WATCHERS)

    def handle(self, *args, watcher, **options):
        if watcher in watchers_down(now=timezone.now()):
            raise CommandError(f"No {watcher} heartbeat within HEARTBEAT_STALE_SECONDS.")
        self.stdout.write(f"{watcher} is beating.")
