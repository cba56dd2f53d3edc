"""Login challenges that cost no database write to issue: signed by the service, spent once on use.

A challenge is `c1.<device_id>.<expires (epoch s)>.<nonce>.<mac>`: a 256-bit
random nonce, bound to the device and its expiry by an HMAC-SHA256 (128 bits
kept) under a key only the devices service knows (kept in its own database,
so every replica shares it). Issuing one is a device look-up and no write; it
is spent on use by inserting its digest under a unique id — the one insert
that wins is the one login that may use it (atomic on FerretDB and MongoDB;
find-and-modify is not, on FerretDB v1).

Parsing is strict: the whole string must match the one format this module
issues, in ASCII (the expiry is 1–10 ASCII digits: `str.isdigit` would let
"²" through to `int`, which refuses it), before anything is computed from it.
Anything else is "challenge_unknown" — a refused login, never an error.
"""
import base64
import hashlib
import hmac
import re
import secrets
from datetime import datetime

VERSION = "c1"
NONCE_BYTES = 32
MAC_BYTES = 16
# c1.<device id: 1-64 ASCII letters/digits>.<expiry: 1-10 ASCII digits>.<nonce: 43 base64url>.<mac: 22 base64url>
FORMAT = re.compile(r"c1\.([A-Za-z0-9]{1,64})\.([0-9]{1,10})\.([A-Za-z0-9_-]{43})\.([A-Za-z0-9_-]{22})")
MAX_LENGTH = 150  # the longest challenge FORMAT allows, rounded up


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _mac(key: bytes, device_id: str, expires: int, nonce: str) -> str:
    body = f"{VERSION}.{device_id}.{expires}.{nonce}".encode()
    return _b64(hmac.new(key, body, hashlib.sha256).digest()[:MAC_BYTES])


def issue(key: bytes, device_id: str, expires_at: datetime) -> str:
    """A new challenge for the device, valid until `expires_at`."""
    expires = int(expires_at.timestamp())
    nonce = _b64(secrets.token_bytes(NONCE_BYTES))
    return f"{VERSION}.{device_id}.{expires}.{nonce}.{_mac(key, device_id, expires, nonce)}"


def check(key: bytes, device_id: str, challenge: str, now: datetime) -> tuple[str | None, datetime | None]:
    """(None, expires_at) for a genuine, fresh challenge of this device; else (reason, None)."""
    found = parse(challenge)
    if found is None:
        return "challenge_unknown", None
    owner, expires, nonce, mac = found
    if not hmac.compare_digest(mac, _mac(key, owner, expires, nonce)):
        return "challenge_forged", None
    if owner != device_id:
        return "challenge_of_another_device", None
    expires_at = datetime.fromtimestamp(expires, tz=now.tzinfo)
    if expires_at <= now:
        return "challenge_expired", None
    return None, expires_at


def parse(challenge) -> tuple[str, int, str, str] | None:
    """(device id, expiry, nonce, mac) of a challenge in the issued format (ASCII throughout); else None."""
    if not isinstance(challenge, str) or len(challenge) > MAX_LENGTH:
        return None
    found = FORMAT.fullmatch(challenge)
    if found is None:
        return None
    owner, expires, nonce, mac = found.groups()
    return owner, int(expires), nonce, mac


def digest(challenge: str) -> str:
    """The id a spent challenge is kept under."""
    return hashlib.sha256(challenge.encode("utf-8")).hexdigest()


def new_key() -> bytes:
    return secrets.token_bytes(32)
