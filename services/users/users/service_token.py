"""`kadra-service-token --name invoicing`: issue a service token for one of the product's other apps.

The app sends it as `Authorization: Bearer kst1....` to
`GET /api/v1/companies/{company_id}/permissions/check`. The token is HMAC-SHA256-signed with
KADRA_SERVICE_TOKEN_SECRET, or, when that is not set, with the key in the file
KADRA_SERVICE_TOKEN_SECRET_FILE (default `.kadra/keys/service-token.secret`, created here with a
random 256-bit key on first use, mode 0600), which the gateway reads the same way. Rotating the
secret invalidates every token issued with it. The format matches gateway/gateway/permissions.py.
"""
import argparse
import base64
import hashlib
import hmac
import json
import os
import re
import secrets
import sys
import time

SECRET_ENV = "KADRA_SERVICE_TOKEN_SECRET"
SECRET_FILE_ENV = "KADRA_SERVICE_TOKEN_SECRET_FILE"
DEFAULT_SECRET_FILE = ".kadra/keys/service-token.secret"
PREFIX = "kst1."
NAME = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def secret(create: bool = True) -> bytes:
    """The signing key: the environment's, else the key file (created with a random key if missing)."""
    value = os.environ.get(SECRET_ENV)
    if value:
        return value.encode()
    path = os.environ.get(SECRET_FILE_ENV) or DEFAULT_SECRET_FILE
    if not os.path.exists(path) and create:
        os.makedirs(os.path.dirname(path) or ".", mode=0o700, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(secrets.token_hex(32) + "\n")
    with open(path, "rb") as f:
        return f.read().strip()


def issue(name: str, key: bytes, days: float = 365, now: float | None = None) -> str:
    """A token `kst1.<payload>.<mac>` for app `name`, valid `days` days."""
    issued = int(time.time() if now is None else now)
    payload = _b64(json.dumps({"name": name, "iat": issued, "exp": issued + int(days * 86400)},
                              separators=(",", ":")).encode())
    signed = PREFIX + payload
    return f"{signed}.{_b64(hmac.new(key, signed.encode(), hashlib.sha256).digest())}"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="kadra-service-token", description=__doc__.splitlines()[0])
    parser.add_argument("--name", required=True, help="the app the token is for, e.g. invoicing")
    parser.add_argument("--days", type=float, default=365, help="lifetime in days (default 365)")
    args = parser.parse_args(argv)
    if not NAME.match(args.name):
        parser.error("--name: lower-case letters, digits, '.', '_' or '-', at most 64")
    if args.days <= 0:
        parser.error("--days must be positive")
    sys.stdout.write(issue(args.name, secret(), args.days) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
