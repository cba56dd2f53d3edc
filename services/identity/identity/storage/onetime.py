"""One-time tokens (password reset, e-mail change confirmation and undo), each consumed at most once.

A token is stored as its hash (the document's `_id`), with its kind, account, expiry and the e-mail
events it sends (the outbox, in the same insert). Consuming it is a claim (kit: claims).
"""
from datetime import timedelta

from pymongo import ASCENDING

from kadra_defaults import clock
from kadra_defaults.outbox import announce_decoy, insert_with_outbox, update_with_outbox
from kadra_defaults.storage import Expiries, Store, sweep_expired

ONETIME = "onetime_tokens"
KEPT = timedelta(days=1)  # a token is kept a day past its expiry


class OneTime(Store):
    """The one-time tokens collection."""

    @classmethod
    def ensure_indexes(cls, db) -> None:
        db[ONETIME].create_index([("account_id", ASCENDING), ("kind", ASCENDING)], name="account_kind")
        db[ONETIME].create_index([("expires_at", ASCENDING)], name="expires")

    def insert(self, token_hash: str, kind: str, account_id: str | None, ttl: float,
               data: dict | None = None, events: tuple = (), decoy_mail: bool = False) -> None:
        """Store the token (hashed) with its e-mails; `decoy_mail`: none, but the outbox's index write all the
        same (kadra_defaults.outbox.announce_decoy), so a decoy costs what a real one does."""
        now = clock.now()
        if decoy_mail:
            announce_decoy(self.db[ONETIME], token_hash)
        Expiries(self.db).due(ONETIME, token_hash, now + timedelta(seconds=ttl) + KEPT)
        insert_with_outbox(self.db[ONETIME], {
            "_id": token_hash, "kind": kind, "account_id": account_id, "data": data or {}, "created_at": now,
            "expires_at": now + timedelta(seconds=ttl), "used_at": None, "voided": False}, *events)

    def void(self, account_id: str, kind: str) -> None:
        """Every live token of this kind for this account stops working."""
        self.db[ONETIME].update_many({"account_id": account_id, "kind": kind, "used_at": None, "voided": False},
                                     {"$set": {"voided": True}})

    def peek(self, token_hash: str, kind: str) -> dict | None:
        """The token's document, live or not, without consuming it."""
        return self.db[ONETIME].find_one({"_id": token_hash, "kind": kind})

    def consume(self, token_hash: str, kind: str, *events: dict) -> dict | None:
        """The token's document if it was live and this call is the one that consumed it; None otherwise.

        `events`: e-mails the consumption causes, stored in the same write (so sent once, by the one consumer)."""
        now = clock.now()
        doc = self.db[ONETIME].find_one(
            {"_id": token_hash, "kind": kind, "used_at": None, "voided": False, "expires_at": {"$gt": now}})
        if doc is None or not self.claim(f"onetime:{token_hash}", doc["expires_at"]):
            return None
        update_with_outbox(self.db[ONETIME], {"_id": token_hash}, {"$set": {"used_at": now}}, *events)
        doc["used_at"] = now
        return doc

    def sweep(self, now) -> int:
        """Forget tokens a day past their expiry (one whose e-mail is still pending stays): due buckets."""
        return sweep_expired(self.db, ONETIME, now, keep=KEPT)
