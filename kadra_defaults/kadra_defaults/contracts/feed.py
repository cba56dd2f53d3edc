"""The gateway feed: how a service tells every gateway worker, within a second, that something changed.

Services publish ``{"kind": <kind>, "data": {...}}`` as JSON to the fan-out exchange ``EXCHANGE``
(``contracts.publishing.Feed`` does it with a publisher confirm); each gateway worker consumes it
through a queue of its own (gateway/gateway/feed.py). Messages are transient: a worker that was
disconnected resynchronises when it reconnects.

Kinds and their data:
- ``revocation``  ``{"entries": [{"sid"|"did"|"sub": id, "until": epoch, "before"?: epoch}]}`` (identity):
                  sessions, devices or whole accounts whose access tokens stop working now;
- ``account``     ``{"account_id"}`` (identity): the person's profile changed (GET /me's copy);
- ``membership``  ``{"company_id", "account_id"?}`` (users): a membership, role or company name changed;
                  without ``account_id`` every member of the company is concerned.
"""
from __future__ import annotations

EXCHANGE = "kadra.gateway.feed"
EXCHANGE_TYPE = "fanout"

REVOCATION = "revocation"
ACCOUNT = "account"
MEMBERSHIP = "membership"
KINDS = (REVOCATION, ACCOUNT, MEMBERSHIP)


def message(kind: str, data: dict) -> dict:
    """One feed message (the body, before JSON)."""
    if kind not in KINDS:
        raise ValueError(f"unknown feed kind {kind!r}")
    return {"kind": kind, "data": data}


def revocation(entries: list[dict]) -> dict:
    return message(REVOCATION, {"entries": entries})


def account_changed(account_id: str) -> dict:
    return message(ACCOUNT, {"account_id": account_id})


def membership_changed(company_id: str, account_id: str | None = None) -> dict:
    data = {"company_id": company_id}
    if account_id:
        data["account_id"] = account_id
    return message(MEMBERSHIP, data)
