"""The demo's gateways (`make run` starts this): a fake Twilio for texts and phone calls and a
fake mail server, on loopback, and a small inbox of what each phone and mailbox was sent,
which the demo's page "What the phones received" shows. Nothing leaves this machine."""

import json
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from threading import Thread

from django.core.management.base import BaseCommand

from notifications.email.fakes import FakeSMTP
from notifications.twilio.fakes import FakeTwilio


def _inbox_server(port, twilio, smtp):
    class Inbox(BaseHTTPRequestHandler):
        def log_message(self, format, *args):  # noqa: A002 (the base class's name)
            pass

        def do_GET(self):  # noqa: N802 (the base class's name)
            with smtp.lock:
                emails = list(smtp.messages)
            data = json.dumps({"phones": twilio.phones(), "emails": emails}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    server = ThreadingHTTPServer(("127.0.0.1", port), Inbox)
    Thread(target=server.serve_forever, daemon=True).start()
    return server


class Command(BaseCommand):
    help = "Run the demo's fake Twilio, mail server and inbox on loopback until stopped."

    def add_arguments(self, parser):
        parser.add_argument("--twilio-port", type=int, default=8026)
        parser.add_argument("--smtp-port", type=int, default=8025)
        parser.add_argument("--inbox-port", type=int, default=8027)

    def handle(self, *args, twilio_port, smtp_port, inbox_port, **options):
        # Texts are delivered, calls answered but no key pressed: the alert stays for the office
        # to answer on the board, as a head who picked up and did not press 1 would leave it.
        with FakeTwilio(twilio_port, auto="deliver") as twilio, FakeSMTP(smtp_port) as smtp:
            inbox = _inbox_server(inbox_port, twilio, smtp)
            self.stdout.write(
                f"Demo gateways: Twilio {twilio.url}, mail {smtp.url}, inbox "
                f"http://127.0.0.1:{inbox_port}/"
            )
            try:
                while True:
                    time.sleep(3600)
            except KeyboardInterrupt:
                pass
            finally:
                inbox.shutdown()
