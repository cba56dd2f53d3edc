"""Who is calling: access tokens verified locally, revocations heard from the feed.

    from gateway.auth import authenticated, current_principal

    @blp.route("/me")
    @authenticated                   # or @authenticated(device=True): a device-bound token
    def me():
        principal = current_principal()  # Principal(account_id, session_id, device_id)

Without a valid access token the answer is 401 problem+json `unauthorized`
with `WWW-Authenticate: Bearer`; a valid token that is not device-bound on a
`device=True` route gets 403 `forbidden`.

A token is valid when its EdDSA signature checks with the public key from
KADRA_JWT_PUBLIC_KEY_FILE (no other algorithm is accepted), `aud` is
"kadra", `typ` is "access", it has not expired, and it is not revoked.
Revocations (by session `sid`, by device `did`, or by account `sub` with a
cutoff on `iat`) come from identity over the gateway feed (gateway.feed)
within a second; while the feed is not live (broker restart, worker start)
each request asks identity instead (`identity.check_access`), so a revoked
token is never accepted because a message was missed.

Where a route checks the token itself: `authenticate()` does what the decorator
does; `admit(claims)` does the part after the signature check (revocation) for
claims verified earlier (gateway.permissions' hot path).
"""
import copy
import functools
import logging
import threading
import time
from dataclasses import dataclass

import jwt
from flask import g, request

from gateway import state
from gateway.errors import Problem

log = logging.getLogger(__name__)

AUDIENCE = "kadra"
ALGORITHMS = ["EdDSA"]
REQUIRED_CLAIMS = ["sub", "sid", "aud", "typ", "exp", "iat"]
# A few seconds of clock difference between identity and the gateway are tolerated.
LEEWAY = 5
SECURITY_SCHEME = "bearerAuth"


@dataclass(frozen=True)
class Principal:
    account_id: str
    session_id: str
    device_id: str | None


class Revocations:
    """The current revocation set of this app (one per worker): small, because entries end with the token lifetime.

    `apply` (feed messages) and `replace` (the resync) both run on the feed thread, in order.
    """

    def __init__(self):
        self._lock = threading.Lock()
        self._sids: dict[str, float] = {}
        self._dids: dict[str, float] = {}
        self._subs: dict[str, tuple[float, float]] = {}  # sub -> (issued-before cutoff, until)
        self._last_prune = 0.0

    def _add(self, entry: dict) -> None:
        until = float(entry.get("until") or 0)
        if "sid" in entry:
            self._sids[entry["sid"]] = max(until, self._sids.get(entry["sid"], 0))
        elif "did" in entry:
            self._dids[entry["did"]] = max(until, self._dids.get(entry["did"], 0))
        elif "sub" in entry:
            before = float(entry.get("before") or 0)
            old_before, old_until = self._subs.get(entry["sub"], (0.0, 0.0))
            self._subs[entry["sub"]] = (max(before, old_before), max(until, old_until))

    def apply(self, data: dict) -> None:
        """A feed message: `{"entries": [{"sid"|"did"|"sub": ..., "until": epoch, "before"?: epoch}]}`."""
        with self._lock:
            for entry in data.get("entries", ()):
                self._add(entry)

    def replace(self, entries: list) -> None:
        """The whole set, as identity.revocations() returns it (a snapshot that does not load changes nothing)."""
        fresh = Revocations()
        for entry in entries:
            fresh._add(entry)
        with self._lock:
            self._sids, self._dids, self._subs = fresh._sids, fresh._dids, fresh._subs

    def _prune(self, now: float) -> None:
        self._last_prune = now
        self._sids = {k: v for k, v in self._sids.items() if v > now}
        self._dids = {k: v for k, v in self._dids.items() if v > now}
        self._subs = {k: v for k, v in self._subs.items() if v[1] > now}

    def is_revoked(self, claims: dict, now: float | None = None) -> bool:
        now = time.time() if now is None else now
        with self._lock:
            if now - self._last_prune > 60:
                self._prune(now)
            if self._sids.get(claims.get("sid"), 0) > now:
                return True
            did = claims.get("did")
            if did and self._dids.get(did, 0) > now:
                return True
            sub = self._subs.get(claims.get("sub"))
            if sub and sub[1] > now and float(claims.get("iat", 0)) < sub[0]:
                return True
        return False

    def __len__(self) -> int:
        return len(self._sids) + len(self._dids) + len(self._subs)


class PublicKey:
    """The public key access tokens are checked with: given (tests pass a PEM), else read from its file once."""

    def __init__(self, pem: bytes | str | None, path: str):
        self._key = pem or None
        self._path = path

    def get(self):
        if self._key is None:
            from cryptography.hazmat.primitives.serialization import load_pem_public_key

            with open(self._path, "rb") as f:
                self._key = load_pem_public_key(f.read())
        return self._key


def unauthorized(detail: str = "A valid access token is required.",
                 detail_pl: str = "Wymagany jest ważny token dostępu.", error: str | None = "invalid_token"):
    challenge = 'Bearer realm="kadra"' + (f', error="{error}"' if error else "")
    return Problem("unauthorized", detail=detail, detail_pl=detail_pl, headers={"WWW-Authenticate": challenge})


def decode_access_token(token: str) -> dict:
    """The claims of a valid access token (signature, aud, typ, exp); raises jwt.InvalidTokenError."""
    claims = jwt.decode(token, state.current().public_key.get(), algorithms=ALGORITHMS, audience=AUDIENCE,
                        leeway=LEEWAY, options={"require": REQUIRED_CLAIMS, "verify_signature": True})
    if claims.get("typ") != "access":
        raise jwt.InvalidTokenError("not an access token")
    if not isinstance(claims.get("sub"), str) or not isinstance(claims.get("sid"), str):
        raise jwt.InvalidTokenError("bad sub/sid")
    return claims


def _revoked(claims: dict) -> bool:
    """Locally while the feed is live; one RPC to identity otherwise (safe, slower)."""
    kadra = state.current()
    if kadra.feed.live():
        return kadra.revocations.is_revoked(claims)
    answer = kadra.rpc.call("identity", "check_access", sid=claims["sid"], sub=claims["sub"],
                            did=claims.get("did"), iat=claims["iat"])
    return not answer.get("active", False)


def admit(claims: dict) -> Principal:
    """The caller named by verified claims (decode_access_token), unless revoked; kept for current_principal()."""
    if _revoked(claims):
        raise unauthorized(detail="This session has ended. Log in again.",
                           detail_pl="Ta sesja została zakończona. Zaloguj się ponownie.")
    principal = Principal(account_id=claims["sub"], session_id=claims["sid"], device_id=claims.get("did"))
    g.kadra_principal = principal
    return principal


def authenticate(device: bool = False) -> Principal:
    """The caller of this request from its bearer access token (401, or 403 without a device token on
    a `device` route); kept for current_principal()."""
    token = bearer_token()
    if token is None:
        raise unauthorized(error=None)
    state.current().feed.ensure_started()
    try:
        claims = decode_access_token(token)
    except jwt.InvalidTokenError:
        raise unauthorized() from None
    principal = admit(claims)
    if device and not principal.device_id:
        raise Problem("forbidden", detail="This needs the trusted device's token.",
                      detail_pl="To wymaga tokenu zaufanego urządzenia.")
    return principal


def authenticated(fn=None, *, device: bool = False):
    """`@authenticated` or `@authenticated(device=True)`: the route needs a valid access token."""

    def decorate(view):
        @functools.wraps(view)
        def wrapper(*args, **kwargs):
            authenticate(device)
            return view(*args, **kwargs)

        # OpenAPI: the operation needs the bearer scheme (registered by gateway.api.auth).
        wrapper._apidoc = copy.deepcopy(getattr(view, "_apidoc", {}))
        wrapper._apidoc.setdefault("manual_doc", {})["security"] = [{SECURITY_SCHEME: []}]
        return wrapper

    if fn is not None:
        return decorate(fn)
    return decorate


def current_principal() -> Principal:
    """The caller of an `@authenticated` route."""
    principal = g.get("kadra_principal")
    if principal is None:
        raise RuntimeError("current_principal() outside an @authenticated route")
    return principal


def bearer_token() -> str | None:
    """The raw bearer token of this request, if any."""
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None
