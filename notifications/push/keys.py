"""The keys Web Push uses, in the forms browsers and pywebpush take them.

The application server (VAPID, RFC 8292) key pair is a P-256 key:
- VAPID_PUBLIC_KEY: the public key as an uncompressed point (65 bytes, starting 0x04),
  base64url without padding: what the browser's `pushManager.subscribe()` wants as its
  `applicationServerKey`.
- VAPID_PRIVATE_KEY: the private key as its raw 32-byte number, base64url without padding:
  what pywebpush (py_vapid's `Vapid.from_string`) takes. It is the form the `web-push` tools of
  other languages print too. `manage.py vapid_keys` prints a new pair in these forms.

A browser's subscription carries its own keys (RFC 8291): `p256dh`, its P-256 public key (65
bytes), and `auth`, a 16-byte secret, both base64url.
"""

import base64
import binascii
import re

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

BASE64URL = re.compile(r"^[A-Za-z0-9_-]+={0,2}$")
AUTH_SECRET_BYTES = 16


def b64url_encode(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text):
    """The bytes of base64url `text`, padded or not; ValueError if it is not base64url."""
    if not isinstance(text, str) or not BASE64URL.match(text):
        raise ValueError("not base64url")
    text = text.rstrip("=")
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError) as exc:
        raise ValueError("not base64url") from exc


def public_point(public_key):
    """`public_key` (a cryptography P-256 public key) as base64url of its uncompressed point."""
    return b64url_encode(
        public_key.public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )
    )


def new_vapid_pair():
    """A new application server key pair: (VAPID_PUBLIC_KEY, VAPID_PRIVATE_KEY)."""
    private_key = ec.generate_private_key(ec.SECP256R1())
    raw = private_key.private_numbers().private_value.to_bytes(32, "big")
    return public_point(private_key.public_key()), b64url_encode(raw)


def receiver_key(p256dh):
    """A browser's `p256dh` as a P-256 public key; ValueError if it is not one."""
    raw = b64url_decode(p256dh)
    if len(raw) != 65 or raw[0] != 4:
        raise ValueError("not an uncompressed P-256 point")
    # Also refuses a point that is not on the curve, which would only fail later, at each send.
    return ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), raw)


def auth_secret(auth):
    """A browser's `auth` secret as bytes; ValueError if it is not 16 bytes of base64url."""
    raw = b64url_decode(auth)
    if len(raw) != AUTH_SECRET_BYTES:
        raise ValueError("not a 16-byte secret")
    return raw
