"""Run the watchdog: a process of its own that pages the technical contacts when the overdue
watch stops (escalation/watchdog.py). `make run` starts it; compose runs it as a service."""

import signal
import time

from django.core.management.base import BaseCommand
from django.db import close_old_connections

from escalation import watchdog


class Command(BaseCommand):
    help = "Page the technical contacts when the overdue watch stops, and when it is back."

    def add_arguments(self, parser):
        parser.add_argument("--every", type=float, default=10.0, help="seconds between looks")
        parser.add_argument("--once", action="store_true", help="look once and exit")

    def handle(self, *args, every, once, **options):
        self.stdout.write("Watchdog: watching the overdue watch's heartbeats.")
        if once:
            watchdog.check()
            return
        stopping = []
        signal.signal(signal.SIGTERM, lambda *_: stopping.append(True))
        while not stopping:
            try:
                watchdog.check()
            except Exception as exc:  # the database may be what is down: keep looking
                self.stderr.write(f"Watchdog could not check: {type(exc).__name__}")
            finally:
                # A database that went away is reconnected to on the next look.
                close_old_connections()
            time.sleep(every)
