"""Ownership transfers: the offer (a link e-mailed to the new owner) and the guarded move itself.

Found without a scan: by link through a key document (kit KeyIndex `transfer-link:<hash>`), a company's
pending offer through a key set (`company-transfers:<company>:<transfer>`).
"""
from __future__ import annotations

from datetime import datetime, timedelta

from pymongo import ASCENDING, ReturnDocument

from kadra_defaults.outbox import insert_with_outbox, outbox_fields
from kadra_defaults.storage import KeyIndex, KeySet, Store, new_id, once

from users.storage.companies import Companies
from users.storage.memberships import Memberships
from users.storage.rosters import Rosters

TRANSFERS = "ownership_transfers"
TRANSFER_KEYS_MADE = "made:transfer-keys:v1"  # the marker of the one-off keys for transfers from before


class Transfers(Store):
    """Offers of a company's ownership, one pending per company."""

    @classmethod
    def ensure_indexes(cls, db) -> None:
        db[TRANSFERS].create_index("token_hash", unique=True)
        db[TRANSFERS].create_index([("company_id", ASCENDING), ("status", ASCENDING)])

        def fill():
            store = cls(db)
            for doc in db[TRANSFERS].find({}, {"company_id": 1, "token_hash": 1, "status": 1}):
                if isinstance(doc.get("token_hash"), str):
                    store._links.put(doc["token_hash"], doc["_id"])
                if doc.get("status") == "pending":
                    store._pending_of.add(doc["company_id"], doc["_id"])
        once(db, TRANSFER_KEYS_MADE, fill)

    @property
    def _links(self) -> KeyIndex:
        return KeyIndex(self.db, "transfer-link")

    @property
    def _pending_of(self) -> KeySet:
        return KeySet(self.db, "company-transfers")

    def create(self, company_id: str, from_account_id: str, to_account_id: str, token_hash: str,
               expires_at: datetime, now: datetime, events: tuple = ()) -> dict:
        """A pending transfer (its e-mail's envelopes `events` in its outbox); an earlier pending one stops working."""
        for earlier in self._pending_of.refs(company_id):
            self.db[TRANSFERS].update_one({"_id": earlier, "company_id": company_id, "status": "pending"},
                                          {"$set": {"status": "superseded", "superseded_at": now}})
            self._pending_of.remove(company_id, earlier)
        doc = {"_id": new_id(), "company_id": company_id, "from_account_id": from_account_id,
               "to_account_id": to_account_id, "token_hash": token_hash, "expires_at": expires_at,
               "status": "pending", "created_at": now}
        self._links.put(token_hash, doc["_id"])
        self._pending_of.add(company_id, doc["_id"])
        insert_with_outbox(self.db[TRANSFERS], doc, *events)
        return {**doc, **outbox_fields(*events)}

    def by_token(self, token_hash: str) -> dict | None:
        """The transfer whose link has this hash, or None."""
        ref = self._links.get(token_hash) if isinstance(token_hash, str) else None
        doc = self.by_key(TRANSFERS, ref) if ref else None
        return doc if doc is not None and doc.get("token_hash") == token_hash else None

    def consume(self, transfer_id: str, account_id: str, now: datetime) -> dict | None:
        """Accept a pending transfer at most once (a claim, then the guarded update)."""
        if not self.claim(f"transfer-accept:{transfer_id}", now + timedelta(days=30)):
            return None
        accepted = self.db[TRANSFERS].find_one_and_update(
            {"_id": transfer_id, "status": "pending", "to_account_id": account_id, "expires_at": {"$gt": now}},
            {"$set": {"status": "accepted", "accepted_at": now}}, return_document=ReturnDocument.AFTER)
        if accepted is not None:
            self._pending_of.remove(accepted["company_id"], transfer_id)
        return accepted

    def move_ownership(self, company_id: str, from_account_id: str, to_account_id: str,
                       now: datetime) -> str | None:
        """Move ownership; returns None on success or why not ("owner_changed", "busy", "not_member").

        1. lock the company, only while `from` is still its owner and no other transfer runs;
        2. promote `to`, only if it is still a member and not the owner (from here on no role change
           or removal can touch it: those never match role `owner`);
        3. demote `from` to manager; 4. record the new owner and release the lock.
        Between 2 and 3 the company briefly has two owners, never zero.
        """
        companies = Companies(self.db)
        lock = companies.lock_for_transfer(company_id, from_account_id, now)
        if lock is None:
            company = companies.get(company_id)
            return "owner_changed" if company is None or company["owner_account_id"] != from_account_id else "busy"
        try:
            if not Memberships(self.db).hand_over(company_id, from_account_id, to_account_id, now):
                return "not_member"
            companies.set_owner(company_id, lock, to_account_id, now)
            return None
        finally:
            companies.unlock(company_id, lock)
            Rosters(self.db).changed(company_id)
