"""Who may do what in which company, answered in the gateway without an RPC on the hot path.

Memberships come from this app's copy (gateway.copies.Memberships, kept current by the users
service's feed messages) while the feed is live, and from the users service otherwise.

Service tokens (for the product's other apps on `permissions/check`) are the contract in
kadra_defaults.contracts.service_tokens (HS256 JWTs; issue one with `kadra-service-token --name invoicing`).
"""
from __future__ import annotations

import re
import time

from kadra_defaults.contracts import service_tokens
from gateway import auth, state
from gateway.errors import Problem

COMPANY_ID = re.compile(r"^[0-9a-f]{32}$")
ACCOUNT_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


def membership(company_id: str, account_id: str) -> dict | None:
    """{role, permissions} of the account in the company, or None."""
    if not (isinstance(company_id, str) and COMPANY_ID.match(company_id)):
        return None
    if not (isinstance(account_id, str) and ACCOUNT_ID.match(account_id)):
        return None
    kadra = state.current()
    kadra.feed.ensure_started()
    return kadra.memberships.lookup(company_id, account_id,
                                    lambda: kadra.rpc.call("users", "membership", company_id, account_id))


def allowed(company_id: str, account_id: str, permission: str) -> bool:
    """Whether the person may do it: a member whose role grants it, and not held back by the company's
    second-factor policy (they reach none of the company until they set one up)."""
    found = membership(company_id, account_id)
    return found is not None and permission in found["permissions"] and not found.get("second_factor_required")


def forget(company_id: str, account_id: str | None = None) -> None:
    """This worker changed the membership (or the whole company) itself: don't wait for the feed."""
    state.current().memberships.forget(company_id, account_id)


def not_found() -> Problem:
    return Problem("not_found", detail="No such company, or you are not a member of it.",
                   detail_pl="Nie ma takiej firmy albo nie należysz do niej.")


def setup_required(company_id: str, company_name: str | None) -> Problem:
    """403 for a member the company's policy holds back until they set up a second factor (users/policy.py)."""
    name = company_name or ""
    return Problem("second_factor_setup_required",
                   detail=f"{name or 'This company'} requires two-step login of every member. Turn it on in My "
                          f"account (/me/second-factor), then come back.",
                   detail_pl=f"{('Firma ' + name) if name else 'Ta firma'} wymaga logowania dwuetapowego od każdego "
                             f"użytkownika. Włącz je w Moje konto (/me/second-factor) i wróć.",
                   extra={"company_id": company_id, "company_name": company_name})


def require(company_id: str, account_id: str, permission: str | None = None) -> dict:
    """The caller's membership; 404 for a non-member (never revealing the company), 403
    `second_factor_setup_required` while the company's policy holds them back, 403 without the permission."""
    found = membership(company_id, account_id)
    if found is None:
        raise not_found()
    if found.get("second_factor_required"):
        raise setup_required(company_id, found.get("company_name"))
    if permission is not None and permission not in found["permissions"]:
        raise Problem("forbidden", detail=f"Your role does not allow this ({permission}).",
                      detail_pl=f"Twoja rola na to nie pozwala ({permission}).")
    return found


def service_caller(bearer: str | None) -> str | None:
    """The app name of a valid service token in `bearer` (gateway.state's ServiceTokens)."""
    return state.current().service_tokens.caller(bearer)


class ServiceTokens:
    """Checks service tokens with the secret from settings, re-read at most every 10 s (a rotated key file)."""

    REREAD_AFTER = 10.0

    def __init__(self, secret: str, secret_file: str):
        self._secret, self._secret_file = secret, secret_file
        self._cached: tuple[float, bytes | None] | None = None

    def caller(self, bearer: str | None) -> str | None:
        """The app name of a valid service token in `bearer`."""
        if not bearer or not service_tokens.is_service_token(bearer):
            return None
        now = time.monotonic()
        if self._cached is None or self._cached[0] < now:
            self._cached = (now + self.REREAD_AFTER, service_tokens.read_secret(self._secret, self._secret_file))
        return service_tokens.verify(bearer, self._cached[1])


class VerifiedTokens:
    """The claims of access tokens whose signature this app has verified, until they expire."""

    MAX_ENTRIES = 10_000

    def __init__(self):
        self._claims: dict[str, dict] = {}

    def get(self, token: str | None) -> dict | None:
        claims = self._claims.get(token) if token else None
        if claims is not None and claims["exp"] + auth.LEEWAY <= time.time():
            self._claims.pop(token, None)
            return None
        return claims

    def keep(self, token: str, claims: dict) -> None:
        if len(self._claims) >= self.MAX_ENTRIES:
            self._claims.clear()
        self._claims[token] = claims


def fast_principal() -> auth.Principal:
    """gateway.auth's checks for the permission-check hot path, with the signature check memoised.

    An access token is an immutable string: once its EdDSA signature verified, it verifies again, so
    the app keeps the claims of tokens it has verified (until they expire) and skips only the
    signature; expiry and revocation (feed or identity RPC, exactly as gateway.auth does) are
    checked on every request. Everything else goes through gateway.auth unchanged.
    """
    verified = state.current().verified
    token = auth.bearer_token()
    claims = verified.get(token)
    if claims is None:
        principal = auth.authenticate()
        if not principal.device_id:
            verified.keep(token, auth.decode_access_token(token))
        return principal
    state.current().feed.ensure_started()
    return auth.admit(claims)
