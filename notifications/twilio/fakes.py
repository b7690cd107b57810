"""A fake Twilio on loopback, speaking the 2010-04-01 REST API to the official client, and playing
the phones' part afterwards.

It takes texts (POST /2010-04-01/Accounts/{sid}/Messages.json) and calls (.../Calls.json) as the
client sends them (form-encoded, HTTP basic auth with the account SID and auth token; 401
otherwise), answers 201 with JSON of Twilio's shape, and keeps each in `messages` with the
callback URLs it was given. Point the client at it with TWILIO_BASE_URL = fake.url.

Then, driven by a test or the demo, it does what the phone network would, calling back the URLs
the message named, signed with the auth token exactly as Twilio signs:

    fake.deliver(sid)                 a text reached the phone (MessageStatus=delivered)
    fake.fail(sid)                    it did not (MessageStatus=undelivered, or status="failed")
    fake.answer(sid, press="1")       a call is answered: the TwiML is fetched and "heard", the
                                      keys in `press` are pressed one per <Gather>, and the call
                                      ends (CallStatus=completed)
    fake.no_answer(sid), fake.busy(sid)

With `auto` it does so by itself a moment after accepting: "deliver" (texts delivered, calls
answered with no key pressed), "answer" (texts delivered, calls answered and 1 pressed) or
"ring" (texts delivered, calls ring out: no-answer). What each call said is kept in its
`heard` (fake.heard_by(number) for a demo page); every callback made is in `callbacks`.

It needs no Django: callbacks go out through urllib to whatever URL the message named. Run on
its own (`python -m notifications.twilio.fakes --auto answer`), it prints the settings that point
the app at it and shows what each phone got at GET /_fake/phones.
"""

import argparse
import base64
import datetime
import email.utils
import re
import threading
import time
import urllib.error
import urllib.request
import uuid
from urllib.parse import parse_qs, urlencode, urljoin, urlsplit
from xml.etree import ElementTree

from twilio.request_validator import RequestValidator

from ..fakes import FakeGateway, JSONHandler

ACCOUNT_SID = "AC5ef8732a3c49700934481addd5ce1659"
AUTH_TOKEN = "7c3b9f0e2d4a4c51a8e6b2d19f0c7a35"
FROM = "+441614960999"
API_VERSION = "2010-04-01"
PATH = re.compile(rf"^/{API_VERSION}/Accounts/(?P<account>[^/]+)/(?P<kind>Messages|Calls)\.json$")
PHONE = re.compile(r"^\+?[0-9 ()-]{7,20}$")
AUTOS = (None, "deliver", "answer", "ring")
# A conversation longer than this many TwiML documents is a redirect loop.
MAX_TURNS = 10


def _now():
    return email.utils.format_datetime(datetime.datetime.now(datetime.UTC).replace(microsecond=0))


def _error(status, code, message):
    return {
        "code": code,
        "message": message,
        "more_info": f"https://www.twilio.com/docs/errors/{code}",
        "status": status,
    }


class TwilioHandler(JSONHandler):
    def send_error_json(self, status, message):
        self.send_json(status, _error(status, 20500 if status >= 500 else status, message))

    def _authorised(self, account):
        gateway = self.gateway
        expected = base64.b64encode(f"{gateway.account_sid}:{gateway.auth_token}".encode())
        if (
            self.headers.get("Authorization", "") == f"Basic {expected.decode()}"
            and account == gateway.account_sid
        ):
            return True
        self.send_json(401, _error(401, 20003, "Authenticate"))
        return False

    def do_POST(self):  # noqa: N802 (the base class's name)
        form = parse_qs(self._body().decode())
        match = PATH.match(urlsplit(self.path).path)
        if match is None:
            return self.send_json(404, _error(404, 20404, "The requested resource was not found"))
        if not self._authorised(match["account"]) or self.misbehave():
            return
        fields = {key: values[-1] for key, values in form.items()}
        refusal = self._refusal(match["kind"], fields)
        if refusal:
            return self.send_json(400, _error(400, *refusal))
        if match["kind"] == "Messages":
            message = self.gateway.take_text(fields)
        else:
            message = self.gateway.take_call(fields, events=form.get("StatusCallbackEvent", []))
        self.send_json(201, self.gateway.public(message))

    def do_GET(self):  # noqa: N802
        # Not Twilio's: what each phone got, for a demo page when the fake runs on its own.
        if urlsplit(self.path).path == "/_fake/phones":
            return self.send_json(200, self.gateway.phones())
        return self.send_json(404, _error(404, 20404, "The requested resource was not found"))

    @staticmethod
    def _refusal(kind, fields):
        if not PHONE.match(fields.get("To", "")):
            return 21211, f"Invalid 'To' Phone Number: {fields.get('To', '')}"
        if not fields.get("From"):
            return 21603, "A 'From' phone number is required."
        if kind == "Messages" and not fields.get("Body"):
            return 21602, "Message body is required."
        if kind == "Calls" and not (fields.get("Url") or fields.get("Twiml")):
            return 21205, "Url parameter is required."
        return None


class FakeTwilio(FakeGateway):
    handler_class = TwilioHandler
    account_sid = ACCOUNT_SID
    auth_token = AUTH_TOKEN

    def __init__(self, port=0, *, auto=None, auto_delay=0.2, ring_seconds=2.0, timeout=5.0):
        if auto not in AUTOS:
            raise ValueError(f"auto must be one of {AUTOS}")
        super().__init__(port)
        self.auto = auto
        self.auto_delay = auto_delay
        self.ring_seconds = ring_seconds
        self.timeout = timeout  # for each callback into the app
        self.callbacks = []  # {"sid", "url", "params", "status"} of every callback made
        self._timers = []
        # Callbacks go straight to the app, never through a proxy from the environment.
        self._opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))

    def stop(self):
        with self._lock:
            timers, self._timers = self._timers, []
        for timer in timers:
            timer.cancel()
        super().stop()

    # --- What the client sends --------------------------------------------------------------

    def take_text(self, fields):
        return self._take(
            "SM",
            kind="sms",
            fields=fields,
            body=fields["Body"],
            status_callback=fields.get("StatusCallback"),
        )

    def take_call(self, fields, *, events):
        return self._take(
            "CA",
            kind="call",
            fields=fields,
            url=fields.get("Url"),
            method=fields.get("Method", "POST").upper(),
            status_callback=fields.get("StatusCallback"),
            status_callback_event=events,
            ring_timeout=int(fields.get("Timeout") or 60),
            heard=[],
        )

    def _take(self, prefix, *, kind, fields, **details):
        sid = prefix + uuid.uuid4().hex
        message = self.accept(
            {
                "id": sid,
                "sid": sid,
                "kind": kind,
                "to": fields["To"],
                "from": fields["From"],
                "status": "queued",
                "date_created": _now(),
                **details,
            }
        )
        self._schedule(message)
        return message

    def public(self, message):
        """The JSON Twilio answers a create with (what the client parses into an instance)."""
        kind = "Messages" if message["kind"] == "sms" else "Calls"
        shared = {
            "sid": message["sid"],
            "account_sid": self.account_sid,
            "api_version": API_VERSION,
            "to": message["to"],
            "from": message["from"],
            "status": message["status"],
            "direction": "outbound-api",
            "date_created": message["date_created"],
            "date_updated": message["date_created"],
            "price": None,
            "price_unit": "GBP",
            "uri": f"/{API_VERSION}/Accounts/{self.account_sid}/{kind}/{message['sid']}.json",
        }
        if message["kind"] == "sms":
            return shared | {
                "body": message["body"],
                "num_segments": "1",
                "num_media": "0",
                "date_sent": None,
                "error_code": None,
                "error_message": None,
                "messaging_service_sid": None,
                "subresource_uris": {},
            }
        return shared | {
            "answered_by": None,
            "caller_name": None,
            "duration": None,
            "start_time": None,
            "end_time": None,
            "parent_call_sid": None,
            "queue_time": "0",
            "subresource_uris": {},
        }

    # --- What the phone does ----------------------------------------------------------------

    def deliver(self, sid):
        """The text reached the phone. Returns the app's HTTP status for the callback."""
        return self._text_status(sid, "delivered")

    def fail(self, sid, status="undelivered", error_code="30003"):
        """The text did not reach the phone (30003: the handset is off or unreachable)."""
        return self._text_status(sid, status, ErrorCode=error_code)

    def answer(self, sid, press=None):
        """Answer the call: fetch its TwiML, press the keys in `press` (one per <Gather>), hang
        up. Returns what the phone heard."""
        message = self._get(sid, "call")
        self._set(message, status="in-progress")
        heard = self._conversation(message, press or "")
        with self._lock:
            message["heard"].extend(heard)
        self._call_status(message, "completed", CallDuration=str(5 * max(len(heard), 1)))
        return heard

    def no_answer(self, sid):
        return self._call_status(self._get(sid, "call"), "no-answer")

    def busy(self, sid):
        return self._call_status(self._get(sid, "call"), "busy")

    def texts(self):
        return self.find(kind="sms")

    def calls(self):
        return self.find(kind="call")

    def heard_by(self, number):
        """Everything said on the calls to `number`, in order."""
        return [line for call in self.find(kind="call", to=number) for line in call["heard"]]

    def phones(self):
        """Each number's texts and calls as its phone saw them, for a demo page."""
        phones = {}
        for message in self.find():
            phone = phones.setdefault(message["to"], {"texts": [], "calls": []})
            if message["kind"] == "sms":
                phone["texts"].append({"body": message["body"], "status": message["status"]})
            else:
                phone["calls"].append({"heard": message["heard"], "status": message["status"]})
        return phones

    def post(self, url, params, *, sid=None, auth_token=None, signed=True):
        """POST `params` to `url` as Twilio does (signed with `auth_token`, by default ours).
        Returns (HTTP status or None if unreachable, body)."""
        if urlsplit(url).scheme not in ("http", "https"):
            raise ValueError(f"Not a web address: {url!r}")
        headers = {"Content-Type": "application/x-www-form-urlencoded"}
        if signed:
            validator = RequestValidator(auth_token or self.auth_token)
            headers["X-Twilio-Signature"] = validator.compute_signature(url, params)
        request = urllib.request.Request(  # noqa: S310 (http(s) only, checked above)
            url, data=urlencode(params).encode(), headers=headers, method="POST"
        )
        try:
            with self._opener.open(request, timeout=self.timeout) as answer:
                status, body = answer.status, answer.read().decode()
        except urllib.error.HTTPError as exc:
            status, body = exc.code, exc.read().decode()
        except OSError as exc:
            status, body = None, str(exc)
        with self._lock:
            self.callbacks.append({"sid": sid, "url": url, "params": params, "status": status})
        return status, body

    # --- Plumbing ---------------------------------------------------------------------------

    def _get(self, sid, kind):
        found = self.find(sid=sid, kind=kind)
        if not found:
            raise KeyError(f"No {kind} {sid} at the fake Twilio")
        return found[0]

    def _set(self, message, **changes):
        with self._lock:
            message.update(changes)

    def _text_status(self, sid, status, **extra):
        message = self._get(sid, "sms")
        self._set(message, status=status)
        params = {
            "AccountSid": self.account_sid,
            "ApiVersion": API_VERSION,
            "From": message["from"],
            "To": message["to"],
            "MessageSid": sid,
            "SmsSid": sid,
            "MessageStatus": status,
            "SmsStatus": status,
            **extra,
        }
        return self._status_callback(message, params)

    def _call_params(self, message, status):
        return {
            "AccountSid": self.account_sid,
            "ApiVersion": API_VERSION,
            "CallSid": message["sid"],
            "CallStatus": status,
            "Direction": "outbound-api",
            "From": message["from"],
            "To": message["to"],
            "Caller": message["from"],
            "Called": message["to"],
        }

    def _call_status(self, message, status, **extra):
        self._set(message, status=status)
        params = self._call_params(message, status) | {"CallbackSource": "call-progress-events"}
        return self._status_callback(message, params | extra)

    def _status_callback(self, message, params):
        if not message["status_callback"]:
            return None
        return self.post(message["status_callback"], params, sid=message["sid"])[0]

    def _conversation(self, message, keys):
        """Follow the call's TwiML as a phone would: what is said is heard, a <Gather> takes
        the next key (or times out and the call goes on), its action answers with more TwiML."""
        heard = []
        url, params = message["url"], self._call_params(message, "in-progress")
        for _ in range(MAX_TURNS):
            status, body = self.post(url, params, sid=message["sid"])
            if status != 200:
                break
            try:
                # The app's own TwiML, in tests and the demo: not untrusted input.
                verbs = list(ElementTree.fromstring(body))  # noqa: S314
            except ElementTree.ParseError:
                break
            url, params, keys = self._play(verbs, heard, url, params, keys)
            if url is None:
                break
        return heard

    def _play(self, verbs, heard, url, params, keys):
        """Play one TwiML document; returns where the call goes next (url None: it ends)."""
        for verb in verbs:
            if verb.tag == "Say":
                heard.append((verb.text or "").strip())
            elif verb.tag == "Gather":
                heard.extend((say.text or "").strip() for say in verb.iter("Say"))
                if keys:
                    digits = int(verb.get("numDigits") or 1)
                    pressed = {**params, "Digits": keys[:digits]}
                    return urljoin(url, verb.get("action") or url), pressed, keys[digits:]
            elif verb.tag == "Redirect":
                return urljoin(url, (verb.text or "").strip()), params, keys
            elif verb.tag in ("Hangup", "Reject"):
                break
        return None, params, keys

    def _schedule(self, message):
        auto = self.auto
        if auto is None:
            return
        if message["kind"] == "sms":
            action, delay = (lambda: self.deliver(message["sid"])), self.auto_delay
        elif auto == "ring":
            action, delay = (lambda: self.no_answer(message["sid"])), self.ring_seconds
        else:
            press = "1" if auto == "answer" else None
            action, delay = (lambda: self.answer(message["sid"], press=press)), self.auto_delay
        timer = threading.Timer(delay, action)
        timer.daemon = True
        with self._lock:
            self._timers.append(timer)
        timer.start()

    def __repr__(self):
        return f"<FakeTwilio {self.url} auto={self.auto}>"


def main(argv=None):
    """Run the fake on its own (`python -m notifications.twilio.fakes --auto answer`) and print
    the settings that point the app at it."""
    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("--port", type=int, default=8026)
    parser.add_argument("--auto", choices=[a for a in AUTOS if a], default="deliver")
    args = parser.parse_args(argv)
    with FakeTwilio(args.port, auto=args.auto) as fake:
        print(f"TWILIO_BASE_URL={fake.url}")
        print(f"TWILIO_ACCOUNT_SID={ACCOUNT_SID}")
        print(f"TWILIO_AUTH_TOKEN={AUTH_TOKEN}")
        print(f"TWILIO_FROM={FROM}")
        print(f"# What each phone got: {fake.url}/_fake/phones", flush=True)
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            pass


if __name__ == "__main__":
    main()
