"""Login challenges that cost no database write to issue: signed by the service, spent once on use.

A challenge is `c1.<device_id>.<expires (epoch s)>.<nonce>.<mac>`: a 256-bit
random nonce, bound to the device and its expiry by an HMAC-SHA256 (128 bits
kept) under a key only the devices service knows (kept in its own database,
so every replica shares it). Issuing one is a device look-up and no write; it
is spent on use by inserting its digest under a unique id — the one insert
that wins is the one login that may use it (atomic on FerretDB and MongoDB;
find-and-modify is not, on FerretDB v1).
"""
import base64
import hashlib
import hmac
import secrets
from datetime import datetime

VERSION = "c1"
NONCE_BYTES = 32
MAC_BYTES = 16


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
    parts = challenge.split(".") if isinstance(challenge, str) else []
    if len(parts) != 5 or parts[0] != VERSION or not parts[2].isdigit():
        return "challenge_unknown", None
    _, owner, expires, nonce, mac = parts
    if not hmac.compare_digest(mac, _mac(key, owner, int(expires), nonce)):
        return "challenge_forged", None
    if owner != device_id:
        return "challenge_of_another_device", None
    expires_at = datetime.fromtimestamp(int(expires), tz=now.tzinfo)
    if expires_at <= now:
        return "challenge_expired", None
    return None, expires_at


def digest(challenge: str) -> str:
    """The id a spent challenge is kept under."""
    return hashlib.sha256(challenge.encode("utf-8")).hexdigest()


def new_key() -> bytes:
    return secrets.token_bytes(32)
