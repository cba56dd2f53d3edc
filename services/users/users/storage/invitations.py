"""Invitations: pending, accepted, revoked or expired; each holds its link's hash and its e-mail (outbox).

One pending invitation per (company, e-mail), held by the database: a unique index on `slot`, which is
`<company>:<email>` while the invitation is pending and `done:<invitation id>` afterwards (FerretDB
has no partial indexes). A link is spent at most once: a claim, then the guarded update.

Found without a scan: by link through key documents (kit KeyIndex `invitation-link:<hash>`, the current
link and every replaced one, written before the invitation holds it), a company's pending ones through a
key set (`company-invitations:<company>:<invitation>`, added before the insert, removed once it is no
longer pending).
"""
from __future__ import annotations

from datetime import datetime, timedelta

from pymongo import ASCENDING, ReturnDocument
from pymongo.errors import DuplicateKeyError

from kadra_defaults.outbox import find_one_and_update_with_outbox, insert_with_outbox, outbox_fields
from kadra_defaults.storage import KeyIndex, KeySet, Store, new_id, once

from users.storage.rosters import Rosters

INVITATIONS = "invitations"
INVITATION_KEYS_MADE = "made:invitation-keys:v1"  # the marker of the one-off keys for invitations from before


class Invitations(Store):
    """Invitations of people (by e-mail address) into a company."""

    @classmethod
    def ensure_indexes(cls, db) -> None:
        db[INVITATIONS].create_index("slot", unique=True)
        db[INVITATIONS].create_index("token_hash", unique=True)
        db[INVITATIONS].create_index("superseded_hashes")
        db[INVITATIONS].create_index([("company_id", ASCENDING), ("status", ASCENDING)])

        def fill():
            store = cls(db)
            for doc in db[INVITATIONS].find({}, {"company_id": 1, "token_hash": 1, "superseded_hashes": 1,
                                                 "status": 1}):
                for token_hash in [doc.get("token_hash"), *doc.get("superseded_hashes", [])]:
                    if isinstance(token_hash, str):
                        store._links.put(token_hash, doc["_id"])
                if doc.get("status") == "pending":
                    store._pending_of.add(doc["company_id"], doc["_id"])
        once(db, INVITATION_KEYS_MADE, fill)

    @property
    def _links(self) -> KeyIndex:
        return KeyIndex(self.db, "invitation-link")

    @property
    def _pending_of(self) -> KeySet:
        return KeySet(self.db, "company-invitations")

    def _not_pending(self, doc: dict | None) -> dict | None:
        if doc is not None:
            self._pending_of.remove(doc["company_id"], doc["_id"])
        return doc

    def create(self, company_id: str, email: str, role: str, invited_by: str, token_hash: str,
               expires_at: datetime, now: datetime, events: tuple = ()) -> dict | None:
        """A pending invitation; None when one is already pending for that address (unique slot).

        `events`: its e-mail's envelopes, stored in the same insert (the outbox).
        """
        doc = {
            "_id": new_id(), "company_id": company_id, "email": email, "role": role, "invited_by": invited_by,
            "token_hash": token_hash, "superseded_hashes": [], "expires_at": expires_at, "status": "pending",
            "slot": f"{company_id}:{email}", "created_at": now, "sent_at": now,
            "mail_event_ids": [e["id"] for e in events],
        }
        try:
            return self._insert(doc, now, events)
        finally:
            Rosters(self.db).changed(company_id)

    def _insert(self, doc: dict, now: datetime, events: tuple) -> dict | None:
        self._links.put(doc["token_hash"], doc["_id"])
        self._pending_of.add(doc["company_id"], doc["_id"])
        for _ in range(2):
            try:
                insert_with_outbox(self.db[INVITATIONS], doc, *events)
                return {**doc, **outbox_fields(*events)}
            except DuplicateKeyError:
                # An expired pending invitation must not block a new one: retire it, then try once more.
                stale = next((i for i in self.pending(doc["company_id"])
                              if i["slot"] == doc["slot"] and i["expires_at"] <= now), None)
                if stale is None:
                    break
                self._not_pending(self.db[INVITATIONS].find_one_and_update(
                    {"_id": stale["_id"], "status": "pending"},
                    {"$set": {"status": "expired", "slot": f"done:{stale['_id']}"}}))
        self._pending_of.remove(doc["company_id"], doc["_id"])
        self._links.drop(doc["token_hash"], doc["_id"])
        return None

    def get(self, company_id: str, invitation_id: str) -> dict | None:
        """The company's invitation with this id, or None."""
        if not isinstance(invitation_id, str):
            return None
        return self.db[INVITATIONS].find_one({"_id": invitation_id, "company_id": company_id})

    def by_token(self, token_hash: str) -> tuple[dict | None, bool]:
        """(invitation, superseded): the invitation whose current or an older link has this hash."""
        ref = self._links.get(token_hash) if isinstance(token_hash, str) else None
        doc = self.by_key(INVITATIONS, ref) if ref else None
        if doc is not None and doc.get("token_hash") == token_hash:
            return doc, False
        if doc is not None and token_hash in doc.get("superseded_hashes", []):
            return doc, True
        return None, True

    def pending(self, company_id: str) -> list[dict]:
        """The company's pending invitations, the oldest first."""
        found = [i for i in self.by_keys(INVITATIONS, self._pending_of.refs(company_id))
                 if i.get("company_id") == company_id and i.get("status") == "pending"]
        found.sort(key=lambda i: (i["created_at"], i["_id"]))
        return found

    def consume(self, invitation_id: str, token_hash: str, account_id: str, now: datetime) -> dict | None:
        """Mark the invitation accepted at most once: only while pending, unexpired and with this link.

        The claim makes "once" hold under concurrency on every backend (see kadra_defaults.storage).
        """
        if not self.claim(f"invitation-accept:{invitation_id}:{token_hash}", now + timedelta(days=30)):
            return None
        accepted = self.db[INVITATIONS].find_one_and_update(
            {"_id": invitation_id, "token_hash": token_hash, "status": "pending", "expires_at": {"$gt": now}},
            {"$set": {"status": "accepted", "slot": f"done:{invitation_id}", "accepted_at": now,
                      "accepted_by": account_id}},
            return_document=ReturnDocument.AFTER)
        if accepted is not None:
            self._not_pending(accepted)
            Rosters(self.db).changed(accepted["company_id"])
        return accepted

    def revoke(self, company_id: str, invitation_id: str, now: datetime) -> dict | None:
        """Withdraw the invitation while it is pending; returns it, or None when it was not pending."""
        revoked = self.db[INVITATIONS].find_one_and_update(
            {"_id": invitation_id, "company_id": company_id, "status": "pending"},
            {"$set": {"status": "revoked", "slot": f"done:{invitation_id}", "revoked_at": now}},
            return_document=ReturnDocument.AFTER)
        if revoked is not None:
            self._not_pending(revoked)
            Rosters(self.db).changed(company_id)
        return revoked

    def renew(self, invitation: dict, token_hash: str, expires_at: datetime, now: datetime,
              event: dict) -> dict | None:
        """A new link for a pending invitation, its e-mail in the same write; the old link's hash is kept
        in `superseded_hashes` (so using it says "replaced")."""
        self._links.put(token_hash, invitation["_id"])
        return find_one_and_update_with_outbox(
            self.db[INVITATIONS], {"_id": invitation["_id"], "status": "pending", "token_hash": invitation["token_hash"]},
            {"$set": {"token_hash": token_hash, "expires_at": expires_at, "sent_at": now},
             "$push": {"superseded_hashes": invitation["token_hash"], "mail_event_ids": event["id"]}},
            event, return_document=ReturnDocument.AFTER)
