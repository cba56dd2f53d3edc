"""Sign-ups waiting for their e-mailed link, and the notices sent instead to addresses that have an account.

A sign-up is stored under the SHA-256 of its link's token (the document's `_id`: every look-up is by key,
kit: key look-ups), with what the account will be made of — the address, the name, the company's name,
the language and the password's argon2id hash, never the password — its expiry, the id its account will
have, and the confirmation e-mail (the outbox, in the same insert). Nothing here is unique per address:
any number of sign-ups for one address may wait, and the first one confirmed makes the account (the
accounts' unique address decides, storage/accounts.py). A notice to an address that has an account is a
document of the same collection (kind "notice") carrying only its e-mail, so both kinds of sign-up write
the same.

Documents a day past their expiry are swept (a pending e-mail keeps its document).
"""
from datetime import timedelta

from pymongo import ASCENDING

from kadra_defaults import clock
from kadra_defaults.outbox import insert_with_outbox
from kadra_defaults.storage import Expiries, Store, sweep_expired

SIGNUPS = "signups"
KEPT = timedelta(days=1)  # a sign-up or notice is kept a day past its expiry


class Signups(Store):
    """The signups collection."""

    @classmethod
    def ensure_indexes(cls, db) -> None:
        db[SIGNUPS].create_index([("expires_at", ASCENDING)], name="expires")

    def add(self, token_hash: str, kind: str, ttl: float, data: dict | None = None, events: tuple = ()) -> None:
        """A sign-up (kind "signup", its `data`) or a notice (kind "notice"), with its e-mail events."""
        now = clock.now()
        Expiries(self.db).due(SIGNUPS, token_hash, now + timedelta(seconds=ttl) + KEPT)
        insert_with_outbox(self.db[SIGNUPS], {"_id": token_hash, "kind": kind, **(data or {}), "created_at": now,
                                              "expires_at": now + timedelta(seconds=ttl)}, *events)

    def get(self, token_hash: str) -> dict | None:
        """The sign-up of this token's hash, live or not (the caller judges its expiry)."""
        doc = self.by_key(SIGNUPS, token_hash)
        return doc if doc is not None and doc.get("kind") == "signup" else None

    def confirmed(self, token_hash: str) -> None:
        """Its account exists: the password's hash is no longer kept here."""
        self.db[SIGNUPS].update_one({"_id": token_hash}, {"$set": {"confirmed_at": clock.now()},
                                                          "$unset": {"password_hash": ""}})

    def sweep(self, now) -> int:
        """Forget sign-ups and notices a day past their expiry (one whose e-mail is still pending stays): due
        buckets, no scan."""
        return sweep_expired(self.db, SIGNUPS, now, keep=KEPT)
