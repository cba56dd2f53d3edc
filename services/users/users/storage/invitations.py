"""Invitations: pending, accepted, revoked or expired; each holds its link's hash and its e-mail (outbox).

One pending invitation per (company, e-mail), held by the database: a unique index on `slot`, which is
`<company>:<email>` while the invitation is pending and `done:<invitation id>` afterwards (FerretDB
has no partial indexes). A link is spent at most once: a claim, then the guarded update.
"""
from __future__ import annotations

from datetime import datetime, timedelta

from pymongo import ASCENDING, ReturnDocument
from pymongo.errors import DuplicateKeyError

from kadra_defaults.outbox import find_one_and_update_with_outbox, insert_with_outbox, outbox_fields
from kadra_defaults.storage import Store, new_id

from users.storage.rosters import Rosters

INVITATIONS = "invitations"


class Invitations(Store):
    """Invitations of people (by e-mail address) into a company."""

    @classmethod
    def ensure_indexes(cls, db) -> None:
        db[INVITATIONS].create_index("slot", unique=True)
        db[INVITATIONS].create_index("token_hash", unique=True)
        db[INVITATIONS].create_index("superseded_hashes")
        db[INVITATIONS].create_index([("company_id", ASCENDING), ("status", ASCENDING)])

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
        for _ in range(2):
            try:
                insert_with_outbox(self.db[INVITATIONS], doc, *events)
                return {**doc, **outbox_fields(*events)}
            except DuplicateKeyError:
                # An expired pending invitation must not block a new one: retire it, then try once more.
                stale = self.db[INVITATIONS].find_one(
                    {"slot": doc["slot"], "status": "pending", "expires_at": {"$lte": now}})
                if stale is None:
                    return None
                self.db[INVITATIONS].update_one(
                    {"_id": stale["_id"], "status": "pending"},
                    {"$set": {"status": "expired", "slot": f"done:{stale['_id']}"}})
        return None

    def get(self, company_id: str, invitation_id: str) -> dict | None:
        """The company's invitation with this id, or None."""
        if not isinstance(invitation_id, str):
            return None
        return self.db[INVITATIONS].find_one({"_id": invitation_id, "company_id": company_id})

    def by_token(self, token_hash: str) -> tuple[dict | None, bool]:
        """(invitation, superseded): the invitation whose current or an older link has this hash."""
        doc = self.db[INVITATIONS].find_one({"token_hash": token_hash})
        if doc is not None:
            return doc, False
        return self.db[INVITATIONS].find_one({"superseded_hashes": token_hash}), True

    def pending(self, company_id: str) -> list[dict]:
        """The company's pending invitations, the oldest first."""
        found = list(self.db[INVITATIONS].find({"company_id": company_id, "status": "pending"}))
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
            Rosters(self.db).changed(accepted["company_id"])
        return accepted

    def revoke(self, company_id: str, invitation_id: str, now: datetime) -> dict | None:
        """Withdraw the invitation while it is pending; returns it, or None when it was not pending."""
        revoked = self.db[INVITATIONS].find_one_and_update(
            {"_id": invitation_id, "company_id": company_id, "status": "pending"},
            {"$set": {"status": "revoked", "slot": f"done:{invitation_id}", "revoked_at": now}},
            return_document=ReturnDocument.AFTER)
        if revoked is not None:
            Rosters(self.db).changed(company_id)
        return revoked

    def renew(self, invitation: dict, token_hash: str, expires_at: datetime, now: datetime,
              event: dict) -> dict | None:
        """A new link for a pending invitation, its e-mail in the same write; the old link's hash is kept
        in `superseded_hashes` (so using it says "replaced")."""
        return find_one_and_update_with_outbox(
            self.db[INVITATIONS], {"_id": invitation["_id"], "status": "pending", "token_hash": invitation["token_hash"]},
            {"$set": {"token_hash": token_hash, "expires_at": expires_at, "sent_at": now},
             "$push": {"superseded_hashes": invitation["token_hash"], "mail_event_ids": event["id"]}},
            event, return_document=ReturnDocument.AFTER)
