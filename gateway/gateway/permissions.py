"""Who may do what in which company, answered in the gateway without an RPC on the hot path.

Each gunicorn worker keeps the memberships it has asked the users service about:
(company_id, account_id) -> {role, permissions} or None (not a member). The users service
publishes `{"kind": "membership", "data": {"company_id", "account_id"?}}` on the gateway feed
(with a publisher confirm, before its RPC answers) whenever a membership changes; the feed thread
drops the entry here, so the change applies to the person's very next request.

Two races, both closed:
- a change published while this worker is filling the same entry: every invalidation bumps a
  generation counter; a fill stores its answer only if no invalidation happened since it asked;
- the feed down (broker restart, worker start): while `feed.live()` is false every check asks the
  users service; on every (re)connect the feed calls `clear()` (resync) before it delivers anything,
  so nothing missed while disconnected survives.

Service tokens (for the product's other apps on `permissions/check`) are the contract in
kadra_defaults.contracts.service_tokens (HS256 JWTs; issue one with `kadra-service-token --name invoicing`).
"""
from __future__ import annotations

import re
import time

from flask import current_app

from kadra_defaults import settings
from kadra_defaults.contracts import service_tokens
from gateway import feed
from gateway.errors import Problem

KIND = "membership"
MAX_ENTRIES = 100_000
# Belt and braces: even with a live feed an entry is re-asked after this long.
ENTRY_TTL = 300.0
COMPANY_ID = re.compile(r"^[0-9a-f]{32}$")
ACCOUNT_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


_MISSING = object()


class MembershipCache(feed.Copies):
    """This process's memberships: (company_id, account_id) -> {role, permissions} or None."""

    def __init__(self):
        super().__init__(ttl=ENTRY_TTL, max_entries=MAX_ENTRIES)
        self.hits = self.misses = self.bypasses = 0

    def on_change(self, data: dict) -> None:
        """A feed message: forget the membership (or the whole company, or everything)."""
        company_id = data.get("company_id") if isinstance(data, dict) else None
        account_id = data.get("account_id") if isinstance(data, dict) else None
        if company_id and account_id:
            self.drop((company_id, account_id))
        elif company_id:
            self.drop(where=lambda key, _: key[0] == company_id)
        else:
            self.drop()

    def forget(self, company_id: str, account_id: str | None = None) -> None:
        """This worker changed the membership itself: don't wait for the feed."""
        self.on_change({"company_id": company_id, "account_id": account_id})

    def lookup(self, company_id: str, account_id: str, fetch) -> dict | None:
        """The membership, from the cache when the feed is live, else from `fetch()` (the users service)."""
        if not feed.live():
            self.bypasses += 1
            return fetch()
        key = (company_id, account_id)
        value = self.get(key, _MISSING)
        if value is not _MISSING:
            self.hits += 1
            return value
        self.misses += 1
        generation = self.generation()
        value = fetch()
        self.put(key, value, generation)
        return value


cache = MembershipCache()
_installed = {"done": False}


def install() -> None:
    """Subscribe this process's cache to the feed (idempotent) and make sure the feed thread runs."""
    if not _installed["done"]:
        feed.subscribe(KIND, cache.on_change, resync=cache.clear)
        _installed["done"] = True
    if not current_app.config.get("KADRA_FEED_DISABLED"):
        feed.ensure_started()


def membership(company_id: str, account_id: str) -> dict | None:
    """{role, permissions} of the account in the company, or None."""
    if not (isinstance(company_id, str) and COMPANY_ID.match(company_id)):
        return None
    if not (isinstance(account_id, str) and ACCOUNT_ID.match(account_id)):
        return None
    install()
    rpc = current_app.extensions["kadra_rpc"]
    return cache.lookup(company_id, account_id, lambda: rpc.call("users", "membership", company_id, account_id))


def allowed(company_id: str, account_id: str, permission: str) -> bool:
    found = membership(company_id, account_id)
    return found is not None and permission in found["permissions"]


def not_found() -> Problem:
    return Problem("not_found", detail="No such company, or you are not a member of it.",
                   detail_pl="Nie ma takiej firmy albo nie należysz do niej.")


def require(company_id: str, account_id: str, permission: str | None = None) -> dict:
    """The caller's membership; 404 for a non-member (never revealing the company), 403 without the permission."""
    found = membership(company_id, account_id)
    if found is None:
        raise not_found()
    if permission is not None and permission not in found["permissions"]:
        raise Problem("forbidden", detail=f"Your role does not allow this ({permission}).",
                      detail_pl=f"Twoja rola na to nie pozwala ({permission}).")
    return found


# service tokens


def service_token_secret() -> bytes | None:
    """The service-token secret: KADRA_SERVICE_TOKEN_SECRET, else the key file (None when neither exists)."""
    current = settings.current()
    return service_tokens.read_secret(current.service_token_secret, current.service_token_secret_file)


_secret_cache: dict[str, tuple[float, bytes | None]] = {}


def service_caller(bearer: str | None) -> str | None:
    """The app name of a valid service token in `bearer` (the secret is re-read at most every 10 s)."""
    if not bearer or not service_tokens.is_service_token(bearer):
        return None
    cached = _secret_cache.get("secret")
    now = time.monotonic()
    if cached is None or cached[0] < now:
        cached = (now + 10, service_token_secret())
        _secret_cache["secret"] = cached
    return service_tokens.verify(bearer, cached[1])


# the caller of the hot path

_verified: dict[str, dict] = {}
MAX_VERIFIED = 10_000


def fast_principal():
    """gateway.auth's checks for the permission-check hot path, with the signature check memoised.

    An access token is an immutable string: once its EdDSA signature verified, it verifies again, so
    this process keeps the claims of tokens it has verified (until they expire) and skips only the
    signature; expiry and revocation (feed or identity RPC, exactly as gateway.auth does) are
    checked on every request. Everything else goes through gateway.auth unchanged.
    """
    from flask import g

    from gateway import auth

    token = auth.bearer_token()
    claims = _verified.get(token) if token else None
    if claims is None or claims["exp"] + auth.LEEWAY <= time.time():
        _verified.pop(token, None)
        principal = auth.authenticated(auth.current_principal)()
        if token and not principal.device_id:
            if len(_verified) >= MAX_VERIFIED:
                _verified.clear()
            _verified[token] = auth.decode_access_token(token)
        return principal
    auth._install_feed(current_app._get_current_object())
    if auth._revoked(claims):
        raise auth.unauthorized(detail="This session has ended. Log in again.",
                                detail_pl="Ta sesja została zakończona. Zaloguj się ponownie.")
    principal = auth.Principal(account_id=claims["sub"], session_id=claims["sid"], device_id=claims.get("did"))
    g.kadra_principal = principal
    return principal
