"""A fake SMTP server on loopback (aiosmtpd), for the tests and the demo: Django's SMTP backend
talks to it as to a real mail server (EMAIL_URL=smtp://127.0.0.1:<port>), and it keeps every
message it was given. It can refuse recipients or answer slowly."""

import email
import email.policy
import logging
import socket
import threading
import time

from aiosmtpd.controller import Controller

# aiosmtpd logs every address it is given at INFO: a fake's log must carry none either.
logging.getLogger("mail.log").setLevel(logging.WARNING)


class _Handler:
    def __init__(self, fake):
        self.fake = fake

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: N802
        if address in self.fake.refuse:
            return "550 5.1.1 No such user here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: N802
        if self.fake.delay:
            time.sleep(self.fake.delay)
        parsed = email.message_from_bytes(envelope.content, policy=email.policy.default)
        body = parsed.get_body(preferencelist=("plain",))
        with self.fake.lock:
            self.fake.messages.append(
                {
                    "to": list(envelope.rcpt_tos),
                    "subject": str(parsed["Subject"]),
                    "message_id": str(parsed["Message-ID"]),
                    "body": body.get_content() if body else "",
                    "received_at": time.time(),
                }
            )
        return "250 Message accepted"


def _free_port():
    # aiosmtpd needs a port before it starts (it connects to itself to check it is up).
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class FakeSMTP:
    def __init__(self, port=0):
        self.messages = []
        self.refuse = set()
        self.delay = 0.0
        self.lock = threading.Lock()
        self.controller = Controller(
            _Handler(self), hostname="127.0.0.1", port=port or _free_port(), ready_timeout=5
        )

    def start(self):
        self.controller.start()
        return self

    def stop(self):
        self.controller.stop()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    @property
    def port(self):
        return self.controller.port

    @property
    def url(self):
        return f"smtp://127.0.0.1:{self.port}"
