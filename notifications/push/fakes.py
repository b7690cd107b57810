"""A fake push service on loopback, speaking the Web Push protocol to pywebpush.

It takes what a browser's push service takes (RFC 8030: `POST /push/<token>` with a `TTL`,
and optionally `Urgency` and `Topic`), only payloads encrypted as RFC 8291 says
(`Content-Encoding: aes128gcm`), and only with a valid VAPID token (RFC 8292: `Authorization:
vapid t=<JWT>, k=<public key>`, the JWT signed by that key, for this origin, not expired). It
answers 201 and records each push; `decrypt()` opens one with the browser's keys, to read
what the phone would show. `gone(endpoint)` makes it answer 410, as a push service does once
the person unsubscribed or cleared the browser.

    with FakePushService() as service:
        endpoint = service.new_endpoint()
        ...  # subscribe with it, send
        [push] = service.find(endpoint=endpoint)
        json.loads(decrypt(push, browser_private_key, auth_secret))
"""

import json
import re
import secrets
import time
from urllib.parse import urlsplit

import http_ece
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from ..fakes import FakeGateway, JSONHandler
from .keys import b64url_decode

URGENCIES = {"very-low", "low", "normal", "high"}
MAX_PAYLOAD_BYTES = 4096  # RFC 8030 7.2: what every push service must take
MAX_TOKEN_LIFETIME = 24 * 3600  # RFC 8292 2: a push service may refuse a longer one
TOPIC_CHARS = 32
TOPIC = re.compile(r"^[A-Za-z0-9_-]{1,32}$")  # RFC 8030 5.4


class BadToken(ValueError):
    """A push's VAPID authorization is refused: 401 when there is none, 403 when it is bad."""

    def __init__(self, message, status=403):
        super().__init__(message)
        self.status = status


def vapid_claims(authorization, *, audience, now=None):
    """The claims of a VAPID `Authorization` header, with its public key as "k", checked: the
    signature against that key, the audience, the expiry. BadToken says what is wrong."""
    scheme, _, params = (authorization or "").partition(" ")
    if scheme.lower() != "vapid":
        raise BadToken("No VAPID authorization", status=401)
    parts = {}
    for part in params.split(","):
        name, _, value = part.strip().partition("=")
        parts[name] = value
    token, key = parts.get("t", ""), parts.get("k", "")
    try:
        header_part, claims_part, signature_part = token.split(".")
        header = json.loads(b64url_decode(header_part))
        claims = json.loads(b64url_decode(claims_part))
        signature = b64url_decode(signature_part)
        public_key = ec.EllipticCurvePublicKey.from_encoded_point(
            ec.SECP256R1(), b64url_decode(key)
        )
    except ValueError as exc:
        raise BadToken("Malformed VAPID token or key") from exc
    if header.get("alg") != "ES256" or len(signature) != 64 or not isinstance(claims, dict):
        raise BadToken("A VAPID token is an ES256 JWT")
    r, s = int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big")
    try:
        public_key.verify(
            encode_dss_signature(r, s),
            f"{header_part}.{claims_part}".encode(),
            ec.ECDSA(hashes.SHA256()),
        )
    except InvalidSignature as exc:
        raise BadToken("VAPID signature does not match its key") from exc
    now = time.time() if now is None else now
    if claims.get("aud") != audience:
        raise BadToken("VAPID audience is not this push service")
    expires = claims.get("exp")
    if not isinstance(expires, int) or not now < expires <= now + MAX_TOKEN_LIFETIME:
        raise BadToken("VAPID token expired, or lives too long")
    subject = str(claims.get("sub", ""))
    if not subject.startswith(("mailto:", "https:")):
        raise BadToken("VAPID subject must be a mailto: or https: URL")
    return {**claims, "k": key.rstrip("=")}


def decrypt(push, private_key, auth_secret):
    """The text of a recorded `push`, opened with the browser's keys: its P-256 private key
    (a cryptography key) and its 16-byte auth secret. The transport sends JSON: json.loads()."""
    return http_ece.decrypt(
        push["body"], private_key=private_key, auth_secret=auth_secret, version="aes128gcm"
    ).decode("utf-8")


class PushHandler(JSONHandler):
    def do_POST(self):  # noqa: N802 (the base class's name)
        body = self._body()  # read first: the connection is reused for the next request
        if self.misbehave():
            return
        endpoint = self.gateway.url + urlsplit(self.path).path
        state = self.gateway.endpoint_state(endpoint)
        if state is None:
            return self.refuse(404, "No such subscription")
        if state == "gone":
            return self.refuse(410, "Subscription expired or unsubscribed")
        try:
            claims = vapid_claims(self.headers.get("Authorization"), audience=self.gateway.url)
        except BadToken as exc:
            return self.refuse(exc.status, str(exc))
        if state["key"] and claims["k"] != state["key"]:
            # RFC 8292 4: a subscription made with an applicationServerKey takes pushes
            # signed by that key only.
            return self.refuse(403, "VAPID key is not the one the browser subscribed with")
        problem = self.header_problem(body)
        if problem:
            return self.refuse(*problem)
        push = self.gateway.accept(
            {
                "endpoint": endpoint,
                "ttl": int(self.headers["TTL"]),
                "urgency": self.headers.get("Urgency", "normal"),
                "topic": self.headers.get("Topic"),
                "content_encoding": self.headers.get("Content-Encoding"),
                "vapid": claims,
                "body": body,
            }
        )
        self.send_response(201)
        self.send_header("Location", f"{self.gateway.url}/message/{push['id']}")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def header_problem(self, body):
        """(status, reason) for a push the protocol does not allow, else None."""
        ttl = self.headers.get("TTL", "")
        if not ttl.isdigit():
            return 400, "TTL is required (RFC 8030 5.2)"
        if self.headers.get("Urgency", "normal") not in URGENCIES:
            return 400, "Urgency is very-low, low, normal or high"
        topic = self.headers.get("Topic")
        if topic is not None and not TOPIC.match(topic):
            return 400, f"Topic is up to {TOPIC_CHARS} characters of the base64url alphabet"
        if body and self.headers.get("Content-Encoding") != "aes128gcm":
            return 415, "Payloads are encrypted as aes128gcm (RFC 8291)"
        if len(body) > MAX_PAYLOAD_BYTES:
            return 413, "Payload too large"
        return None

    def refuse(self, status, reason):
        # Mozilla's push service answers errors in this shape.
        self.send_json(status, {"code": status, "error": reason, "message": reason})


class FakePushService(FakeGateway):
    handler_class = PushHandler
    decrypt = staticmethod(decrypt)

    def __init__(self, port=0):
        super().__init__(port)
        self._endpoints = {}  # endpoint -> {"key": applicationServerKey or None}
        self._gone = set()

    def new_endpoint(self, application_server_key=None):
        """A new subscription's endpoint, as a browser gets from its push service. Given the
        `application_server_key` the browser subscribed with, pushes signed by another are
        refused, as real push services do."""
        endpoint = f"{self.url}/push/{secrets.token_urlsafe(24)}"
        key = application_server_key.rstrip("=") if application_server_key else None
        with self._lock:
            self._endpoints[endpoint] = {"key": key}
        return endpoint

    def gone(self, endpoint):
        """From now on, pushes to `endpoint` are answered 410 Gone."""
        with self._lock:
            self._gone.add(endpoint)

    def endpoint_state(self, endpoint):
        """None for an endpoint this service never gave, "gone", or its subscription."""
        with self._lock:
            if endpoint in self._gone:
                return "gone"
            return self._endpoints.get(endpoint)
