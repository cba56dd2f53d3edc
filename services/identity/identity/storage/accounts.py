"""Accounts: one per normalised e-mail address (a unique index), `pending` until sign-up finishes."""
from datetime import timedelta

from pymongo import ASCENDING, ReturnDocument

from kadra_defaults import clock
from kadra_defaults.outbox import update_with_outbox
from kadra_defaults.storage import Store

ACCOUNTS = "accounts"


def normalise_email(email: str) -> str:
    return email.strip().lower()


class Accounts(Store):
    """The accounts collection, in the product's words."""

    @classmethod
    def ensure_indexes(cls, db) -> None:
        db[ACCOUNTS].create_index([("email_norm", ASCENDING)], unique=True, name="email_norm_unique")
        db[ACCOUNTS].create_index([("status", ASCENDING), ("created_at", ASCENDING)], name="status_created")

    def insert(self, doc: dict) -> None:
        """Raises DuplicateKeyError when the normalised e-mail is taken."""
        self.db[ACCOUNTS].insert_one(doc)

    def by_id(self, account_id, active_only: bool = True) -> dict | None:
        doc = self.by_key(ACCOUNTS, account_id)  # by `_id` alone, the status judged here (kit: key look-ups)
        if doc is not None and active_only and doc.get("status") != "active":
            return None
        return doc

    def by_ids(self, account_ids: list) -> list[dict]:
        """The active accounts among these ids."""
        ids = list(dict.fromkeys(account_ids))
        if len(ids) == 1:  # GET /me: one key look-up (FerretDB pushes `_id` equality down, not `$in`)
            doc = self.by_id(ids[0])
            return [doc] if doc else []
        return list(self.db[ACCOUNTS].find({"_id": {"$in": ids}, "status": "active"}))

    def by_email(self, email: str, active_only: bool = True) -> dict | None:
        query = {"email_norm": normalise_email(email)}
        if active_only:
            query["status"] = "active"
        return self.db[ACCOUNTS].find_one(query)

    def activate(self, account_id: str, company_id: str) -> None:
        """A finished sign-up: active, remembering its company (a retry answers with it)."""
        self.db[ACCOUNTS].update_one({"_id": account_id}, {"$set": {
            "status": "active", "signup_company_id": company_id, "updated_at": clock.now()},
            "$unset": {"signup": ""}})

    def delete_pending(self, account_id: str) -> None:
        self.db[ACCOUNTS].delete_one({"_id": account_id, "status": "pending"})

    def pending_signups(self, older_than: float) -> list[dict]:
        cutoff = clock.now() - timedelta(seconds=older_than)
        return list(self.db[ACCOUNTS].find({"status": "pending", "created_at": {"$lt": cutoff}}).limit(50))

    def set_password(self, account_id: str, password_hash: str, *events) -> bool:
        now = clock.now()
        update = {"$set": {"password_hash": password_hash, "password_changed_at": now, "updated_at": now}}
        return update_with_outbox(self.db[ACCOUNTS], {"_id": account_id}, update, *events).matched_count == 1

    def upgrade_hash(self, account_id: str, old_hash: str, new_hash: str) -> None:
        """Store a re-hash with today's parameters, unless the password changed meanwhile."""
        self.db[ACCOUNTS].update_one({"_id": account_id, "password_hash": old_hash},
                                     {"$set": {"password_hash": new_hash}})

    def update_profile(self, account_id: str, changes: dict) -> dict | None:
        changes = dict(changes, updated_at=clock.now())
        return self.db[ACCOUNTS].find_one_and_update({"_id": account_id, "status": "active"}, {"$set": changes},
                                                     return_document=ReturnDocument.AFTER)

    def change_email(self, account_id: str, from_norm: str, email: str) -> dict | None:
        """Set the e-mail if it is still `from_norm`; raises DuplicateKeyError when the new one is taken."""
        now = clock.now()
        update = {"$set": {"email": email, "email_norm": normalise_email(email), "email_changed_at": now,
                           "updated_at": now}}
        return self.db[ACCOUNTS].find_one_and_update({"_id": account_id, "email_norm": from_norm}, update,
                                                     return_document=ReturnDocument.AFTER)
