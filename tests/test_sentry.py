"""Errors reach the maintainers through Sentry (issue 11, item 10), with nothing personal in them.

The real sentry-sdk is pointed (by its DSN) at a small fake Sentry on loopback, in a process of
its own (Sentry hooks into Django and Celery for the whole process); what the fake receives is
what would have left the school's server."""

import gzip
import http.server
import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from homevisits.sentry import scrub_event

ROOT = Path(__file__).resolve().parent.parent

PROGRAM = """
import os, django, logging
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "homevisits.settings")
django.setup()
import sentry_sdk
from django.test import Client

try:
    raise ValueError("could not text Mrs Jones on 07700 900123 (jones@example.org)")
except ValueError:
    sentry_sdk.capture_exception()
logging.getLogger("homevisits").error("alert for 07700 900456 not queued")
# A request that fails inside Django: the request's body and cookies must not leave.
Client(raise_request_exception=False).post(
    "/notifications/push/subscribe/", {"code_word": "bluebell"}, HTTP_COOKIE="sessionid=secret"
)
sentry_sdk.flush(timeout=10)
"""


class FakeSentry(http.server.ThreadingHTTPServer):
    def __init__(self):
        self.received = []
        super().__init__(("127.0.0.1", 0), Handler)


class Handler(http.server.BaseHTTPRequestHandler):
    def do_POST(self):  # noqa: N802 (http.server's name)
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        encoding = self.headers.get("Content-Encoding")
        if encoding == "gzip":
            body = gzip.decompress(body)
        elif encoding == "br":  # sentry-sdk compresses with Brotli when it is installed
            import brotli

            body = brotli.decompress(body)
        self.server.received.append(body.decode("utf-8", "replace"))
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, *args):
        pass


@pytest.fixture
def fake_sentry():
    server = FakeSentry()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def test_an_error_reaches_sentry_without_phone_numbers_emails_or_the_request(fake_sentry):
    port = fake_sentry.server_address[1]
    env = {
        **os.environ,
        "SENTRY_DSN": f"http://publickey@127.0.0.1:{port}/1",
        "SECRET_KEY": "sentry-test",
        "DEBUG": "false",
        "ALLOWED_HOSTS": "testserver",
    }
    env.pop("DATABASE_URL", None)
    env.pop("REDIS_URL", None)
    result = subprocess.run(
        [sys.executable, "-c", PROGRAM],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-2000:]

    sent = "\n".join(fake_sentry.received)
    assert "ValueError" in sent  # the maintainers see what failed ...
    assert "could not text Mrs Jones on [phone] ([email])" in sent
    for personal in ("07700 900123", "jones@example.org", "07700 900456", "bluebell", "secret"):
        assert personal not in sent, personal  # ... and nothing of whom it was about


def test_scrubbing_keeps_the_url_and_drops_the_rest():
    event = {
        "request": {
            "url": "https://hv.example.org/a/tok3n/?next=/x",
            "method": "POST",
            "data": {"code_word": "bluebell"},
            "cookies": {"sessionid": "s"},
            "headers": {"Cookie": "sessionid=s"},
        },
        "user": {"username": "dsl", "email": "dee@example.org"},
        "server_name": "school-server",
        "exception": {
            "values": [
                {
                    "value": "no mobile 07700 900123",
                    "stacktrace": {"frames": [{"function": "f", "vars": {"pupil": "Harry"}}]},
                }
            ]
        },
        "breadcrumbs": {"values": [{"message": "sent to a@b.org", "data": {"to": "x"}}]},
        "extra": {"sys.argv": ["manage.py"]},
    }

    scrubbed = json.dumps(scrub_event(event))

    assert "https://hv.example.org/a/tok3n/" in scrubbed and "next=" not in scrubbed
    for gone in ("bluebell", "sessionid", "dee@example.org", "school-server", "Harry", "a@b.org"):
        assert gone not in scrubbed, gone
    assert "no mobile [phone]" in scrubbed
