"""Who is calling: access tokens verified locally, revocations heard from the feed.

    from gateway.auth import authenticated, current_principal

    @blp.route("/me")
    @authenticated                   # or @authenticated(device=True): a device-bound token
    def me():
        principal = current_principal()  # Principal(account_id, session_id, device_id)

Without a valid access token the answer is 401 problem+json `unauthorized`
with `WWW-Authenticate: Bearer`; a valid token that is not device-bound on a
`device=True` route gets 403 `forbidden`.

A token is valid when its header names (`kid`) one of the published keys
(the key ring's `<kid>.pub.pem` files, or the single KADRA_JWT_PUBLIC_KEY_FILE;
kadra_defaults.contracts.access_tokens, re-read while running), its EdDSA
signature checks with that key (no other algorithm is accepted), `iss` is
KADRA_PUBLIC_URL, `aud` is "kadra", `typ` is "access", it has not expired,
and it is not revoked. The same keys are published at /.well-known/jwks.json
(gateway.api.jwks).
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

from kadra_defaults.contracts.access_tokens import AUDIENCE
from kadra_defaults.contracts.ed25519_keys import ALGORITHM
from gateway import state
from gateway.errors import Problem

log = logging.getLogger(__name__)

ALGORITHMS = [ALGORITHM]
REQUIRED_CLAIMS = ["iss", "sub", "sid", "aud", "typ", "exp", "iat"]
KID = "kid"  # verified claims carry the kid of the key that verified them
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


def unauthorized(detail: str = "A valid access token is required.",
                 detail_pl: str = "Wymagany jest ważny token dostępu.", error: str | None = "invalid_token"):
    challenge = 'Bearer realm="kadra"' + (f', error="{error}"' if error else "")
    return Problem("unauthorized", detail=detail, detail_pl=detail_pl, headers={"WWW-Authenticate": challenge})


def decode_access_token(token: str) -> dict:
    """The claims of a valid access token (kid, signature, iss, aud, typ, exp); raises jwt.InvalidTokenError."""
    kadra = state.current()
    key = kadra.public_keys.get(jwt.get_unverified_header(token).get("kid"))
    if key is None:
        raise jwt.InvalidTokenError("no kid, or a kid that is not published")
    claims = jwt.decode(token, key, algorithms=ALGORITHMS, audience=AUDIENCE, issuer=kadra.issuer,
                        leeway=LEEWAY, options={"require": REQUIRED_CLAIMS, "verify_signature": True})
    # Which key vouched for these claims: admit() refuses them once it is retired, even where the
    # claims were kept after one signature check (gateway.permissions.VerifiedTokens).
    claims[KID] = jwt.get_unverified_header(token)["kid"]
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
    """The caller named by verified claims (decode_access_token), unless revoked or signed with a key no
    longer published; kept for current_principal()."""
    if state.current().public_keys.get(claims.get(KID)) is None:
        raise unauthorized()
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
