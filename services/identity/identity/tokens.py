"""Access tokens (JWT, EdDSA/Ed25519), refresh tokens and one-time tokens.

Access tokens: 15 minutes, claims sub, sid, aud="kadra", typ="access", iat,
exp, jti (and did when bound to the trusted device). Their times are wall-clock
time (time.time()), never the test-shiftable service clock, because the
gateway checks them against its own wall clock.

Refresh tokens and one-time tokens: 256 bits from `secrets`, handed out once,
stored only as their SHA-256 (a fast hash is right for random secrets of
this size: there is nothing to guess).
"""
import functools
import hashlib
import secrets
import time
import uuid

import jwt

from kadra_defaults import settings
from identity.keys import load_private

AUDIENCE = "kadra"
ALGORITHM = "EdDSA"
ACCESS_TTL = 15 * 60
REFRESH_TTL = 30 * 24 * 3600
# How long a revocation must be remembered: the longest access-token life, plus the gateway's leeway.
REVOCATION_TTL = ACCESS_TTL + 30


@functools.lru_cache(maxsize=4)
def _private_key(path: str):
    return load_private(path)


def signing_key():
    return _private_key(settings.current().jwt_private_key_file)


def access_token(account_id: str, session_id: str, device_id: str | None = None, now: float | None = None) -> str:
    issued = int(time.time() if now is None else now)
    claims = {"sub": account_id, "sid": session_id, "aud": AUDIENCE, "typ": "access",
              "iat": issued, "exp": issued + ACCESS_TTL, "jti": uuid.uuid4().hex}
    if device_id:
        claims["did"] = device_id
    return jwt.encode(claims, signing_key(), algorithm=ALGORITHM, headers={"typ": "at+jwt"})


def new_secret() -> str:
    """A fresh 256-bit token, URL-safe."""
    return secrets.token_urlsafe(32)


def refresh_secret(session_id: str, generation: int = 0) -> str:
    """A refresh token: `<session id>.<generation>.<256-bit secret>` (identity finds its chain by key)."""
    return f"{session_id}.{generation}.{new_secret()}"


def refresh_chain(token: str) -> tuple[str, int] | None:
    """(session id, generation) of a chained refresh token; None for an older, opaque one."""
    parts = token.split(".")
    if len(parts) != 3 or not 0 < len(parts[0]) <= 64 or not parts[1].isdigit() or len(parts[1]) > 9:
        return None
    return parts[0], int(parts[1])


def digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def pair(access: str, refresh: str) -> dict:
    return {"access_token": access, "refresh_token": refresh, "token_type": "Bearer", "expires_in": ACCESS_TTL}
