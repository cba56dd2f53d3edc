"""One-time tokens (password reset, e-mail change confirmation and undo), each consumed at most once.

A token is stored as its hash (the document's `_id`), with its kind, account, expiry and the e-mail
events it sends (the outbox, in the same insert). Consuming it is a claim (kit: claims). An account's live
tokens of a kind are listed in a key set (`live-<kind>:<account>:<hash>`, kit KeySet) so that voiding them
(a new reset link, a new e-mail change) reads those, never the collection; a token leaves the list when it is
used or voided, and one that simply expires costs one key read in the next void.
"""
from datetime import timedelta

from pymongo import ASCENDING

from kadra_defaults import clock
from kadra_defaults.outbox import announce_decoy, insert_with_outbox, update_with_outbox
from kadra_defaults.storage import Expiries, KeySet, Store, once, sweep_expired

ONETIME = "onetime_tokens"
KEPT = timedelta(days=1)  # a token is kept a day past its expiry
LIVE_KEYS_MADE = "made:live-onetime-keys:v1"  # the marker of the one-off lists of live tokens from before
NOBODY = "-"  # the list value of a token without an account (a decoy)


class OneTime(Store):
    """The one-time tokens collection."""

    @classmethod
    def ensure_indexes(cls, db) -> None:
        db[ONETIME].create_index([("account_id", ASCENDING), ("kind", ASCENDING)], name="account_kind")
        db[ONETIME].create_index([("expires_at", ASCENDING)], name="expires")

        def fill():
            store = cls(db)
            for doc in db[ONETIME].find({"used_at": None, "voided": False}, {"kind": 1, "account_id": 1}):
                store._listed(doc)
        once(db, LIVE_KEYS_MADE, fill)

    def _live(self, kind: str) -> KeySet:
        return KeySet(self.db, f"live-{kind}")

    def _listed(self, doc: dict) -> None:
        self._live(doc["kind"]).add(doc.get("account_id") or NOBODY, doc["_id"])

    def _unlisted(self, doc: dict) -> None:
        self._live(doc["kind"]).remove(doc.get("account_id") or NOBODY, doc["_id"])

    def insert(self, token_hash: str, kind: str, account_id: str | None, ttl: float,
               data: dict | None = None, events: tuple = (), decoy_mail: bool = False) -> None:
        """Store the token (hashed) with its e-mails; `decoy_mail`: none, but the outbox's index write all the
        same (kadra_defaults.outbox.announce_decoy), so a decoy costs what a real one does."""
        now = clock.now()
        if decoy_mail:
            announce_decoy(self.db[ONETIME], token_hash)
        Expiries(self.db).due(ONETIME, token_hash, now + timedelta(seconds=ttl) + KEPT)
        self._listed({"_id": token_hash, "kind": kind, "account_id": account_id})  # a decoy too: the same writes
        insert_with_outbox(self.db[ONETIME], {
            "_id": token_hash, "kind": kind, "account_id": account_id, "data": data or {}, "created_at": now,
            "expires_at": now + timedelta(seconds=ttl), "used_at": None, "voided": False}, *events)

    def void(self, account_id: str, kind: str) -> None:
        """Every live token of this kind for this account stops working (its list, then each by `_id`)."""
        live = self._live(kind)
        for token_hash in live.refs(account_id):
            self.db[ONETIME].update_one({"_id": token_hash, "account_id": account_id, "kind": kind, "used_at": None,
                                         "voided": False}, {"$set": {"voided": True}})
            live.remove(account_id, token_hash)

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
        self._unlisted(doc)
        return doc

    def sweep(self, now) -> int:
        """Forget tokens a day past their expiry (one whose e-mail is still pending stays): due buckets."""
        return sweep_expired(self.db, ONETIME, now, keep=KEPT, gone=self._unlisted)
