"""Service tokens: how the product's other apps (invoicing, warehouse…) call Kadra as themselves.

A service token is a JWT signed with HS256 by the service-token secret (``KADRA_SERVICE_TOKEN_SECRET``,
or the key file ``KADRA_SERVICE_TOKEN_SECRET_FILE``)::

    header  {"alg": "HS256", "typ": "JWT", "kid": "<first 16 hex of SHA-256 of the secret>"}
    claims  {"iss": "kadra", "aud": "kadra-service", "sub": "<app name>", "iat", "exp", "jti"}

``kadra-service-token --name invoicing`` issues one; the app sends it as ``Authorization: Bearer …`` to
``GET /api/v1/companies/{company_id}/permissions/check``, the only route that takes it. Changing the
secret revokes every token. ``kid`` names the secret a token was signed with (not the secret itself),
so a gateway holding another secret refuses it without trying. An access token (EdDSA, audience
``kadra``) is never a service token: the algorithm and the audience differ, and each is verified only
with its own algorithm.

Tokens issued before these JWTs (``kst1.<payload>.<mac>``, HMAC-SHA256 by the same secret) keep
working until they expire (``verify`` accepts them); nothing issues them any more.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import re
import secrets
import time
import uuid

import jwt

ISSUER = "kadra"
AUDIENCE = "kadra-service"
ALGORITHM = "HS256"
LEGACY_PREFIX = "kst1."
NAME = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")
MAX_TOKEN = 2048


def key_id(secret: bytes) -> str:
    """The `kid` of tokens signed with `secret`: names it without revealing it."""
    return hashlib.sha256(secret).hexdigest()[:16]


def issue(name: str, secret: bytes, days: float = 365, now: float | None = None) -> str:
    """A service token for the app `name`, valid `days` days."""
    if not NAME.match(name):
        raise ValueError("an app name is lower-case letters, digits, '.', '_' or '-', at most 64")
    issued = int(time.time() if now is None else now)
    claims = {"iss": ISSUER, "aud": AUDIENCE, "sub": name, "iat": issued, "exp": issued + int(days * 86400),
              "jti": uuid.uuid4().hex}
    return jwt.encode(claims, secret, algorithm=ALGORITHM, headers={"kid": key_id(secret)})


def is_service_token(token: str) -> bool:
    """Whether `token` is shaped as a service token (cheap: no signature checked)."""
    if not isinstance(token, str) or len(token) > MAX_TOKEN:
        return False
    if token.startswith(LEGACY_PREFIX):
        return True
    try:
        return jwt.get_unverified_header(token).get("alg") == ALGORITHM
    except jwt.PyJWTError:
        return False


def verify(token: str, secret: bytes | None, now: float | None = None) -> str | None:
    """The app's name when the token is genuine, unexpired and signed with `secret`; else None."""
    if not secret or not isinstance(token, str) or len(token) > MAX_TOKEN:
        return None
    if token.startswith(LEGACY_PREFIX):
        return _verify_legacy(token, secret, now)
    try:
        if jwt.get_unverified_header(token).get("kid") != key_id(secret):
            return None
        claims = jwt.decode(token, secret, algorithms=[ALGORITHM], audience=AUDIENCE, issuer=ISSUER,
                            options={"require": ["exp", "iat", "sub", "aud", "iss"], "verify_exp": now is None})
    except jwt.PyJWTError:
        return None
    if now is not None and float(claims["exp"]) <= now:
        return None
    name = claims.get("sub")
    return name if isinstance(name, str) and NAME.match(name) else None


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _verify_legacy(token: str, secret: bytes, now: float | None) -> str | None:
    """A `kst1.` token issued before the JWTs: HMAC-SHA256 over `kst1.<payload>`."""
    signed, _, mac = token.rpartition(".")
    try:
        expected = hmac.new(secret, signed.encode(), hashlib.sha256).digest()
        if not hmac.compare_digest(expected, _unb64(mac)):
            return None
        claims = json.loads(_unb64(signed[len(LEGACY_PREFIX):]))
    except (ValueError, TypeError):
        return None
    if not isinstance(claims, dict) or not isinstance(claims.get("name"), str):
        return None
    if float(claims.get("exp", 0)) <= (time.time() if now is None else now):
        return None
    return claims["name"]


def read_secret(value: str, path: str, create: bool = False) -> bytes | None:
    """The secret: `value` (the environment's) when set, else the key file's content.

    With `create`, a missing file is made with a random 256-bit key, mode 0600 (the issuing command
    does this on first use; the gateway only reads). None when there is neither.
    """
    if value:
        return value.encode()
    if create and not os.path.exists(path):
        os.makedirs(os.path.dirname(path) or ".", mode=0o700, exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass
        else:
            with os.fdopen(fd, "w") as f:
                f.write(secrets.token_hex(32) + "\n")
    try:
        with open(path, "rb") as f:
            content = f.read().strip()
    except OSError:
        return None
    return content or None


def main(argv=None) -> int:
    """`kadra-service-token --name invoicing [--days 365]`: print a new service token for that app."""
    import argparse
    import sys

    from kadra_defaults import settings

    parser = argparse.ArgumentParser(prog="kadra-service-token",
                                     description="Issue a service token for one of the product's other apps.")
    parser.add_argument("--name", required=True, help="the app the token is for, e.g. invoicing")
    parser.add_argument("--days", type=float, default=365, help="lifetime in days (default 365)")
    args = parser.parse_args(argv)
    if not NAME.match(args.name):
        parser.error("--name: lower-case letters, digits, '.', '_' or '-', at most 64")
    if args.days <= 0:
        parser.error("--days must be positive")
    current = settings.check_or_exit("kadra-service-token")
    secret = read_secret(current.service_token_secret, current.service_token_secret_file, create=True)
    sys.stdout.write(issue(args.name, secret, args.days) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
