"""A fake GOV.UK Notify on loopback, speaking the v2 REST API to notifications-python-client.

It checks the client's JSON Web Token against the API key, accepts text messages (POST
/v2/notifications/sms), and answers GET /v2/notifications?reference=..., which the transport
asks after a send whose outcome it does not know. Like Notify, it does not refuse a second
message with the same reference: finding the first is the sender's job.
"""

import datetime
import json
import re
import threading
import urllib.error
import urllib.request

from notifications_python_client.authentication import decode_jwt_token
from notifications_python_client.errors import TokenError

from ..fakes import FakeGateway, JSONHandler

SERVICE_ID = "26785a09-ab16-4eb0-8407-a37497a57506"
SECRET = "3d844edf-8d35-48ac-975b-e847b4f122b0"
# Notify's API keys are "<name>-<service id>-<secret>".
API_KEY = f"homevisits_fake-{SERVICE_ID}-{SECRET}"
PHONE = re.compile(r"^\+?[0-9 ()-]{7,20}$")


def _now():
    return datetime.datetime.now(datetime.UTC).isoformat().replace("+00:00", "Z")


class NotifyHandler(JSONHandler):
    def _authorised(self):
        header = self.headers.get("Authorization", "")
        token = header.removeprefix("Bearer ").strip()
        try:
            decode_jwt_token(token, SECRET)
        except (TokenError, Exception):
            self.send_json(
                403,
                {
                    "status_code": 403,
                    "errors": [{"error": "AuthError", "message": "Invalid token: signature"}],
                },
            )
            return False
        return True

    def do_POST(self):  # noqa: N802 (the base class's name)
        body = self.json_body()
        if not self._authorised() or self.misbehave():
            return
        if self.path.rstrip("/") != "/v2/notifications/sms":
            return self.send_error_json(404, "Not found")
        if not isinstance(body, dict) or not PHONE.match(str(body.get("phone_number", ""))):
            return self.send_json(
                400,
                {
                    "status_code": 400,
                    "errors": [
                        {
                            "error": "ValidationError",
                            "message": "phone_number Not a UK mobile number",
                        }
                    ],
                },
            )
        text = (body.get("personalisation") or {}).get("body", "")
        message = self.gateway.accept(
            {
                "type": "sms",
                "phone_number": body["phone_number"],
                "reference": body.get("reference"),
                "body": text,
                "template_id": body.get("template_id"),
                "status": "created",
                "created_at": _now(),
            }
        )
        self.send_json(
            201,
            {
                "id": message["id"],
                "reference": message["reference"],
                "content": {"body": text, "from_number": "GOVUK"},
                "uri": f"{self.gateway.url}/v2/notifications/{message['id']}",
                "template": {"id": body.get("template_id"), "version": 1, "uri": ""},
            },
        )

    def do_GET(self):  # noqa: N802
        if not self._authorised() or self.misbehave():
            return
        path = self.path.split("?", 1)[0].rstrip("/")
        if path == "/v2/notifications":
            query = self.query()
            found = [
                self._public(m)
                for m in self.gateway.find()
                if ("reference" not in query or m.get("reference") == query["reference"])
                and ("template_type" not in query or m.get("type") == query["template_type"])
            ]
            return self.send_json(200, {"notifications": found, "links": {}})
        if path.startswith("/v2/notifications/"):
            found = self.gateway.find(id=path.rsplit("/", 1)[-1])
            if found:
                return self.send_json(200, self._public(found[0]))
        return self.send_error_json(404, "No result found")

    @staticmethod
    def _public(message):
        return {
            "id": message["id"],
            "reference": message.get("reference"),
            "phone_number": message.get("phone_number"),
            "type": message["type"],
            "status": message["status"],
            "body": message.get("body"),
            "created_at": message.get("created_at"),
        }


class FakeNotify(FakeGateway):
    """`report(message, status)` posts Notify's delivery receipt for a text to `callback_url`
    with `callback_token`, as Notify does; with `auto_report` set, it does so by itself a
    moment after taking each text."""

    handler_class = NotifyHandler
    api_key = API_KEY

    def __init__(self, port=0, *, callback_url="", callback_token="", auto_report=None):
        super().__init__(port)
        self.callback_url, self.callback_token = callback_url, callback_token
        self.auto_report = auto_report

    def accept(self, message):
        message = super().accept(message)
        if self.auto_report and self.callback_url:
            timer = threading.Timer(0.2, self.report, args=(message, self.auto_report))
            timer.daemon = True
            timer.start()
        return message

    def report(self, message, status="delivered"):
        """POST Notify's receipt for `message`; returns the app's HTTP status."""
        message["status"] = status
        body = json.dumps(
            {
                "id": message["id"],
                "reference": message.get("reference"),
                "to": message.get("phone_number"),
                "status": status,
                "created_at": message.get("created_at"),
                "completed_at": _now(),
                "sent_at": _now(),
                "notification_type": "sms",
            }
        ).encode()
        request = urllib.request.Request(  # noqa: S310 (the test's own loopback URL)
            self.callback_url,
            data=body,
            method="POST",
            headers={
                "Content-Type": "application/json",
                "Authorization": f"Bearer {self.callback_token}",
            },
        )
        try:
            with urllib.request.urlopen(request, timeout=5) as answer:  # noqa: S310 (loopback)
                return answer.status
        except urllib.error.HTTPError as exc:
            return exc.code
