"""Small fake gateways on loopback, for the tests and the demo: each speaks its provider's API
to the provider's official client, pointed at it by its base URL (NOTIFY_BASE_URL, ...).

A fake records what it received (what each phone would have been sent) and can be told to
misbehave: answer slowly (`delay`: the message is still taken, late, as a gateway that is slow
but working would), fail the next requests with a status, fail a share of them at random,
hang (`hang`: requests are held unanswered and, once released, dropped untaken, as a gateway
that is stuck would), or run a hook the moment it has accepted a message (the tests kill the
sender there, between the gateway's acceptance and the outbox's "sent" mark).
"""

import contextlib
import json
import random
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit


class Behaviour:
    """How the fake answers; change it while it runs (all under one lock)."""

    def __init__(self):
        self.lock = threading.Lock()
        self.delay = 0.0
        self.fail_next = []  # statuses to answer the next requests with, in order
        self.failure_rate = 0.0
        self.failure_status = 500
        self.hang = threading.Event()  # set: requests are held, then dropped untaken
        self.on_accept = None  # called with the accepted message, before the answer
        self.random = random.Random(0)  # noqa: S311 (which requests fail, not a secret)

    def failure(self):
        """The status to fail this request with, or None to serve it."""
        with self.lock:
            if self.fail_next:
                return self.fail_next.pop(0)
            if self.failure_rate and self.random.random() < self.failure_rate:
                return self.failure_status
        return None


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        # A client that gave up (its timeout, or a sender killed mid-request) is what the fakes
        # are for: no traceback for it.
        import sys

        if not isinstance(sys.exc_info()[1], (BrokenPipeError, ConnectionResetError)):
            super().handle_error(request, client_address)


class FakeGateway:
    """A ThreadingHTTPServer on 127.0.0.1 with a handler class of the provider's shape."""

    handler_class = None

    def __init__(self, port=0):
        self.behaviour = Behaviour()
        self.messages = []  # every message accepted, in order
        self.requests = []  # (method, path) of every request, for tests of what was asked
        self._lock = threading.Lock()
        handler = type("Handler", (self.handler_class,), {"gateway": self})
        self.server = _Server(("127.0.0.1", port), handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self):
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self):
        self.thread.start()
        return self

    def stop(self):
        self.behaviour.hang.clear()
        self.server.shutdown()
        self.server.server_close()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    def accept(self, message):
        message = {"id": str(uuid.uuid4()), "received_at": time.time(), **message}
        with self._lock:
            self.messages.append(message)
        hook = self.behaviour.on_accept
        if hook is not None:
            hook(message)
        return message

    def find(self, **match):
        with self._lock:
            return [m for m in self.messages if all(m.get(k) == v for k, v in match.items())]


class JSONHandler(BaseHTTPRequestHandler):
    """Request plumbing shared by the fakes: JSON in and out, misbehaviour applied first."""

    gateway = None
    protocol_version = "HTTP/1.1"

    def log_message(self, format, *args):  # noqa: A002 (the base class's name)
        pass  # quiet: the tests read gateway.messages, not a log

    def _body(self):
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def json_body(self):
        with contextlib.suppress(ValueError):
            return json.loads(self._body() or b"{}")
        return None

    def form_body(self):
        return {k: v[-1] for k, v in parse_qs(self._body().decode()).items()}

    def query(self):
        return {k: v[-1] for k, v in parse_qs(urlsplit(self.path).query).items()}

    def send_json(self, status, payload):
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def misbehave(self):
        """Apply the gateway's behaviour; True if the request was answered with a failure."""
        behaviour = self.gateway.behaviour
        with self.gateway._lock:
            self.gateway.requests.append((self.command, urlsplit(self.path).path))
        if behaviour.hang.is_set():
            while behaviour.hang.is_set():
                time.sleep(0.05)
            self.close_connection = True  # stuck: the request is never taken
            return True
        if behaviour.delay:
            time.sleep(behaviour.delay)
        status = behaviour.failure()
        if status is not None:
            self.send_error_json(status, "Fake gateway told to fail")
            return True
        return False

    def send_error_json(self, status, message):
        self.send_json(status, {"status_code": status, "errors": [{"message": message}]})
