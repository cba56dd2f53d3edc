"""Access tokens (JWT, EdDSA/Ed25519), refresh tokens and one-time tokens.

Access tokens: 15 minutes, claims iss (KADRA_PUBLIC_URL), sub, sid, aud="kadra",
typ="access", iat, exp, jti (and did when bound to the trusted device); the
header names the signing key (`kid`). The contract, the key ring and how it is
re-read while running: kadra_defaults.contracts.access_tokens. Their times are wall-clock
time (time.time()), never the test-shiftable service clock, because the
gateway checks them against its own wall clock.

Refresh tokens and one-time tokens: 256 bits from `secrets`, handed out once,
stored only as their SHA-256 (a fast hash is right for random secrets of
this size: there is nothing to guess).
"""
import hashlib
import re
import secrets
import time
import uuid

import jwt

from kadra_defaults import settings
from kadra_defaults.contracts.access_tokens import AUDIENCE, HEADER_TYP, SigningKeys, signing_keys_of
from kadra_defaults.contracts.ed25519_keys import ALGORITHM

ACCESS_TTL = 15 * 60
REFRESH_TTL = 30 * 24 * 3600
# How long a revocation must be remembered: the longest access-token life, plus the gateway's leeway.
REVOCATION_TTL = ACCESS_TTL + 30
_GENERATION = re.compile(r"[0-9]{1,9}")


_signing: dict = {}


def signing_keys() -> SigningKeys:
    """This process's signing key ring (one per key settings; it re-reads its files by itself)."""
    current = settings.current()
    where = (current.jwt_keys_dir, current.jwt_public_keys_dir, current.jwt_private_key_file)
    found = _signing.get(where)
    if found is None:
        _signing.clear()
        found = _signing[where] = signing_keys_of(current)
    return found


def access_token(account_id: str, session_id: str, device_id: str | None = None, now: float | None = None) -> str:
    issued = int(time.time() if now is None else now)
    signing = signing_keys().current()
    claims = {"iss": settings.current().public_url, "sub": account_id, "sid": session_id, "aud": AUDIENCE,
              "typ": "access", "iat": issued, "exp": issued + ACCESS_TTL, "jti": uuid.uuid4().hex}
    if device_id:
        claims["did"] = device_id
    return jwt.encode(claims, signing.key, algorithm=ALGORITHM, headers={"typ": HEADER_TYP, "kid": signing.kid})


def new_secret() -> str:
    """A fresh 256-bit token, URL-safe."""
    return secrets.token_urlsafe(32)


def refresh_secret(session_id: str, generation: int = 0) -> str:
    """A refresh token: `<session id>.<generation>.<256-bit secret>` (identity finds its chain by key)."""
    return f"{session_id}.{generation}.{new_secret()}"


def refresh_chain(token: str) -> tuple[str, int] | None:
    """(session id, generation) of a chained refresh token; None for an older, opaque one."""
    parts = token.split(".")
    # ASCII digits only: str.isdigit accepts "²" or "١", which int() then refuses (a 500).
    if len(parts) != 3 or not 0 < len(parts[0]) <= 64 or not _GENERATION.fullmatch(parts[1]):
        return None
    return parts[0], int(parts[1])


def digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def pair(access: str, refresh: str) -> dict:
    return {"access_token": access, "refresh_token": refresh, "token_type": "Bearer", "expires_in": ACCESS_TTL}
