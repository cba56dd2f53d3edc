"""What one gateway app holds for its life, made by create_app and kept on `app.extensions["kadra"]`.

Nothing of it lives at module level (the flaskr pattern): two apps in one process (tests) share nothing.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from flask import current_app

if TYPE_CHECKING:
    from kadra_defaults.contracts.access_tokens import PublicKeys
    from gateway.auth import Revocations
    from gateway.copies import Companies, Memberships, Profiles
    from gateway.feed import Feed
    from gateway.permissions import ServiceTokens, VerifiedTokens
    from gateway.spool import Spool

EXTENSION = "kadra"


@dataclass
class State:
    """The RPC client, the feed and what it keeps current, the spool, and the keys tokens are checked with."""

    rpc: Any
    feed: Feed
    spool: Spool
    revocations: Revocations
    memberships: Memberships
    profiles: Profiles
    companies: Companies
    public_keys: PublicKeys  # the published keys, by kid (re-read while running)
    issuer: str  # the `iss` of our access tokens: KADRA_PUBLIC_URL
    service_tokens: ServiceTokens
    verified: VerifiedTokens
    roles: list | None = field(default=None)  # the role catalogue, asked once (fixed data)

    def call_later(self, service: str, method: str, **kwargs) -> str:
        """Spool the call and make sure the feed thread runs (it makes the call once the broker answers)."""
        name = self.spool.call_later(service, method, **kwargs)
        self.feed.ensure_started()
        return name


def current() -> State:
    """The state of the app handling this request."""
    return current_app.extensions[EXTENSION]
