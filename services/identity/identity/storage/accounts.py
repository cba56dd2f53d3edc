"""Accounts: one per normalised e-mail address (a unique index), `pending` until sign-up finishes.

An account is found by its address through a key document `email:<normalised address>` (kit: key
documents): two key look-ups instead of a scan of every account on each login, reset request and
sign-up. The key is written before the account (and before a changed address is stored), dropped
after it goes; a reader checks the account it names still has that address, so a key left by a write
that failed is harmless. Keys for accounts from before are made once per database (`ensure_indexes`).
"""
from datetime import timedelta

from pymongo import ASCENDING, ReturnDocument
from pymongo.errors import DuplicateKeyError

from kadra_defaults import clock
from kadra_defaults.outbox import find_one_and_update_with_outbox, update_with_outbox
from kadra_defaults.storage import KeyIndex, KeySet, Store, once

ACCOUNTS = "accounts"
EMAIL_KEY = "email"
PENDING_SIGNUPS, ALL = "pending-signups", "all"
PENDING_KEYS_MADE = "made:pending-signups:v1"  # the marker of the one-off list of sign-ups left pending before
EMAIL_KEYS_MADE = "made:email-keys:v1"  # the marker of the one-off keys for accounts from before
STALE_KEY = timedelta(minutes=5)  # a key whose account never appeared is taken over after this


def normalise_email(email: str) -> str:
    return email.strip().lower()


class Accounts(Store):
    """The accounts collection, in the product's words."""

    @classmethod
    def ensure_indexes(cls, db) -> None:
        db[ACCOUNTS].create_index([("email_norm", ASCENDING)], unique=True, name="email_norm_unique")
        db[ACCOUNTS].create_index([("status", ASCENDING), ("created_at", ASCENDING)], name="status_created")
        def fill():  # once: one scan per database
            keys = KeyIndex(db, EMAIL_KEY)
            for doc in db[ACCOUNTS].find({}, {"email_norm": 1}):
                if isinstance(doc.get("email_norm"), str):
                    keys.put(doc["email_norm"], doc["_id"])
        once(db, EMAIL_KEYS_MADE, fill)

        def fill_pending():  # once: sign-ups left pending by a version before the list
            pending = KeySet(db, PENDING_SIGNUPS)
            for doc in db[ACCOUNTS].find({"status": "pending"}, {"_id": 1}):
                pending.add(ALL, doc["_id"])
        once(db, PENDING_KEYS_MADE, fill_pending)

    @property
    def _pending(self) -> KeySet:
        """The accounts whose sign-up is confirmed but not finished (a company step that failed or timed
        out): what the 30 s timer finishes, listed so that it never reads every account."""
        return KeySet(self.db, PENDING_SIGNUPS)

    @property
    def email_keys(self) -> KeyIndex:
        return KeyIndex(self.db, EMAIL_KEY)

    def _take_email(self, norm: str, account_id: str) -> None:
        """Point `norm`'s key at `account_id` (before the write that stores the address); DuplicateKeyError
        when another account has that address. A key whose account does not have the address (a write
        that failed, an address changed since) is taken over; one younger than STALE_KEY is not (its
        account may be about to be written)."""
        self.email_keys.take(norm, account_id, load=lambda holder: self.by_key(ACCOUNTS, holder),
                             holds=lambda account: account.get("email_norm") == norm, young=STALE_KEY)

    def insert(self, doc: dict) -> None:
        """Raises DuplicateKeyError when the normalised e-mail is taken."""
        self._take_email(doc["email_norm"], doc["_id"])
        if doc.get("status") == "pending":
            self._pending.add(ALL, doc["_id"])
        try:
            self.db[ACCOUNTS].insert_one(doc)
        except DuplicateKeyError:
            self.email_keys.drop(doc["email_norm"], doc["_id"])
            raise

    def by_id(self, account_id, active_only: bool = True) -> dict | None:
        doc = self.by_key(ACCOUNTS, account_id)  # by `_id` alone, the status judged here (kit: key look-ups)
        if doc is not None and active_only and doc.get("status") != "active":
            return None
        return doc

    def by_ids(self, account_ids: list) -> list[dict]:
        """The active accounts among these ids."""
        ids = list(dict.fromkeys(account_ids))
        if len(ids) == 1:  # GET /me: one key look-up
            doc = self.by_id(ids[0])
            return [doc] if doc else []
        return [doc for doc in self.by_keys(ACCOUNTS, ids) if doc.get("status") == "active"]

    def by_email(self, email: str, active_only: bool = True) -> dict | None:
        """The account with this address (through its key document: two key look-ups, no scan)."""
        norm = normalise_email(email)
        account_id = self.email_keys.get(norm)
        doc = self.by_id(account_id, active_only) if account_id else None
        return doc if doc is not None and doc.get("email_norm") == norm else None

    def activate(self, account_id: str, company_id: str) -> None:
        """A finished sign-up: active, remembering its company (a retry answers with it)."""
        self.db[ACCOUNTS].update_one({"_id": account_id}, {"$set": {
            "status": "active", "signup_company_id": company_id, "updated_at": clock.now()},
            "$unset": {"signup": ""}})
        self._pending.remove(ALL, account_id)

    def delete_pending(self, account_id: str) -> None:
        doc = self.by_key(ACCOUNTS, account_id)
        if doc is not None and self.db[ACCOUNTS].delete_one({"_id": account_id, "status": "pending"}).deleted_count:
            self.email_keys.drop(doc.get("email_norm"), account_id)
            self._pending.remove(ALL, account_id)

    def pending_signups(self, older_than: float) -> list[dict]:
        """Up to 50 pending sign-ups older than `older_than` seconds, the oldest first (from their list)."""
        cutoff = clock.now() - timedelta(seconds=older_than)
        listed = self.by_keys(ACCOUNTS, self._pending.refs(ALL))
        found = sorted((doc for doc in listed if doc.get("status") == "pending" and doc["created_at"] < cutoff),
                       key=lambda doc: doc["created_at"])
        for done in (doc["_id"] for doc in listed if doc.get("status") != "pending"):
            self._pending.remove(ALL, done)  # finished by a process that died before unlisting it
        return found[:50]

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

    def change_email(self, account_id: str, from_norm: str, email: str, *events: dict) -> dict | None:
        """Set the e-mail if it is still `from_norm` (with the e-mails `events` the change causes, in the same
        write); raises DuplicateKeyError when the new one is taken."""
        now = clock.now()
        norm = normalise_email(email)
        update = {"$set": {"email": email, "email_norm": norm, "email_changed_at": now, "updated_at": now}}
        if norm != from_norm:
            self._take_email(norm, account_id)
        try:
            changed = find_one_and_update_with_outbox(self.db[ACCOUNTS], {"_id": account_id, "email_norm": from_norm},
                                                      update, *events, return_document=ReturnDocument.AFTER)
        except DuplicateKeyError:
            self.email_keys.drop(norm, account_id)
            raise
        if norm != from_norm:
            if changed is None:
                self.email_keys.drop(norm, account_id)
            else:
                self.email_keys.drop(from_norm, account_id)
        return changed
