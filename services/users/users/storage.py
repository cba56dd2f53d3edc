"""The users service's database: companies, memberships, invitations, ownership transfers, the audit log.

Invariants held by the database itself, not by read-then-write:
- one membership per (company, account): unique index (and the `_id` is `<company>:<account>`);
- one pending invitation per (company, e-mail): unique index on `slot`, which is `<company>:<email>`
  while the invitation is pending and `done:<invitation id>` afterwards (FerretDB has no partial indexes);
- a role change or removal never touches a membership whose role is `owner`: every such update
  filters on the roles the actor may manage, which never include `owner`;
- ownership moves only through `transfer_ownership`, a guarded sequence under a per-company lock.

On MongoDB a filtered find_one_and_update is atomic, and the filters above are enough. FerretDB v1
(our development and test server) applies it as a read, then a write by `_id`: a role change that
read "employee" could land after a transfer made that member the owner, leaving none (seen once in
twenty-way races). So the writes that touch roles also run one at a time per company inside this
process (`company_writes`); with several users replicas the database's own atomicity is what holds.

The users table (`roster`) is a derived copy, never an authority of its own: one document per company,
read by `_id` (on FerretDB's SQLite backend only a filter that is `_id` alone is a key look-up; any
other filter reads the whole collection). Every write that changes the table (a membership added,
changed or removed, an invitation created, accepted, revoked or expired, ownership moved) first
writes its own document, then sets the company's roster stamp to a new random value (`roster_stamps`,
by `_id`). A rebuild reads the stamp, then the memberships and invitations, and stores the rows tagged
with that stamp; a reader uses the copy only while its tag equals the current stamp. A write missing
from a rebuild's scan sets its stamp after the rebuild read the old one, so that copy stops matching.
Not a counter: FerretDB applies `$inc` (like every update) as read-modify-write, and concurrent ones
get lost (500 increments from 20 threads left 57); a fresh random stamp can be overwritten only by
another fresh one, never back to a value a copy was built for. The stamps live in their own
collection so that no other update of a document (say the company's name) can write an old stamp back.
No multi-document transaction is needed. A crash between a write and its stamp is covered by the
copy's maximum age (ROSTER_MAX_AGE).
"""
from __future__ import annotations

import json
import threading
import time
import weakref
from contextlib import contextmanager
import uuid
import zlib
from datetime import datetime, timedelta, timezone

from bson import Binary
from pymongo import ASCENDING, DESCENDING, ReturnDocument
from pymongo.errors import DuplicateKeyError

from kadra_defaults.storage import Mongo, Store
from kadra_defaults.outbox import OUTBOX, outbox_fields, with_outbox

COMPANIES = "companies"
MEMBERSHIPS = "memberships"
INVITATIONS = "invitations"
TRANSFERS = "ownership_transfers"
AUDIT = "audit"
ROSTERS = "rosters"
ROSTER_STAMPS = "roster_stamps"

EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
TRANSFER_LOCK_SECONDS = 30
# The table's copy is rebuilt after this long even without a change (names from identity, which sends no
# event for a changed full name, and a crash between a write and its version bump).
ROSTER_MAX_AGE = 30.0
COMPANY_FIELDS = ("name", "nip", "regon", "address", "contact_email", "contact_phone")


_company_locks: weakref.WeakValueDictionary = weakref.WeakValueDictionary()
_company_locks_guard = threading.Lock()


@contextmanager
def company_writes(company_id: str):
    """Run the block while no other role-changing write of this company runs in this process."""
    with _company_locks_guard:
        lock = _company_locks.get(company_id)
        if lock is None:
            lock = _company_locks[company_id] = threading.Lock()
    with lock:
        yield


def new_id() -> str:
    return uuid.uuid4().hex


def membership_id(company_id: str, account_id: str) -> str:
    return f"{company_id}:{account_id}"


def pending_slot(company_id: str, email: str) -> str:
    return f"{company_id}:{email}"


class UsersStore(Store):
    """Companies, memberships, roles, invitations and the audit log in the users database."""

    @classmethod
    def ensure_indexes(cls, db) -> None:
        db[COMPANIES].create_index("creation_key", unique=True)
        db[MEMBERSHIPS].create_index([("company_id", ASCENDING), ("account_id", ASCENDING)], unique=True)
        db[MEMBERSHIPS].create_index("account_id")
        db[INVITATIONS].create_index("slot", unique=True)
        db[INVITATIONS].create_index("token_hash", unique=True)
        db[INVITATIONS].create_index("superseded_hashes")
        db[INVITATIONS].create_index([("company_id", ASCENDING), ("status", ASCENDING)])
        db[TRANSFERS].create_index("token_hash", unique=True)
        db[TRANSFERS].create_index([("company_id", ASCENDING), ("status", ASCENDING)])
        db[AUDIT].create_index([("company_id", ASCENDING), ("at", DESCENDING)])

    # companies

    def create_company(self, owner_account_id: str, name: str, creation_key: str, now: datetime) -> tuple[dict, bool]:
        """Insert the company and its owner's membership; the same creation_key returns the same company.

        Returns (company, created). A retry after a crash between the two inserts completes the membership.
        """
        company = {
            "_id": new_id(), "name": name, "nip": None, "regon": None, "address": None,
            "contact_email": None, "contact_phone": None, "owner_account_id": owner_account_id,
            "creation_key": creation_key, "created_at": now, "updated_at": now,
            "transfer_lock": None, "transfer_lock_until": EPOCH,
        }
        created = True
        try:
            self.db[COMPANIES].insert_one(company)
        except DuplicateKeyError:
            company = self.db[COMPANIES].find_one({"creation_key": creation_key})
            created = False
            if company is None or company["owner_account_id"] != owner_account_id:
                raise
        self.add_membership(company["_id"], owner_account_id, "owner", now)
        return company, created

    def get_company(self, company_id: str) -> dict | None:
        return self.db[COMPANIES].find_one({"_id": company_id}) if isinstance(company_id, str) else None

    def update_company(self, company_id: str, changes: dict, now: datetime) -> tuple[dict, dict] | None:
        """Apply the changes; returns (before, after) or None when there is no such company."""
        before = self.db[COMPANIES].find_one_and_update(
            {"_id": company_id}, {"$set": {**changes, "updated_at": now}}, return_document=ReturnDocument.BEFORE)
        if before is None:
            return None
        return before, {**before, **changes, "updated_at": now}

    def companies(self, company_ids) -> dict[str, dict]:
        return {c["_id"]: c for c in self.db[COMPANIES].find({"_id": {"$in": list(company_ids)}})}

    # memberships

    def add_membership(self, company_id: str, account_id: str, role: str, now: datetime) -> bool:
        """Insert the membership; False when the person is already a member (unique index)."""
        try:
            self.db[MEMBERSHIPS].insert_one({
                "_id": membership_id(company_id, account_id), "company_id": company_id, "account_id": account_id,
                "role": role, "joined_at": now, "updated_at": now})
            return True
        except DuplicateKeyError:
            return False
        finally:
            self.roster_changed(company_id)

    def membership(self, company_id: str, account_id: str) -> dict | None:
        if not (isinstance(company_id, str) and isinstance(account_id, str)):
            return None
        return self.db[MEMBERSHIPS].find_one({"_id": membership_id(company_id, account_id)})

    def memberships_of(self, account_id: str) -> list[dict]:
        return list(self.db[MEMBERSHIPS].find({"account_id": account_id}).sort("joined_at", ASCENDING))

    def members(self, company_id: str) -> list[dict]:
        """Every membership of the company in the table's stable order: owner first, then by joining."""
        found = list(self.db[MEMBERSHIPS].find({"company_id": company_id}))
        found.sort(key=lambda m: (m["role"] != "owner", m["joined_at"], m["account_id"]))
        return found

    def change_role(self, company_id: str, account_id: str, role: str, manageable: set[str],
                    now: datetime) -> dict | None:
        """Set the role only if the current one is in `manageable` (never `owner`); returns the membership before."""
        allowed = sorted(set(manageable) - {"owner"})
        with company_writes(company_id):
            before = self.db[MEMBERSHIPS].find_one_and_update(
                {"_id": membership_id(company_id, account_id), "role": {"$in": allowed}},
                {"$set": {"role": role, "updated_at": now}}, return_document=ReturnDocument.BEFORE)
        if before is not None:
            self.roster_changed(company_id)
        return before

    def remove_member(self, company_id: str, account_id: str, manageable: set[str]) -> dict | None:
        """Delete the membership only if its role is in `manageable` (never `owner`); returns it."""
        allowed = sorted(set(manageable) - {"owner"})
        with company_writes(company_id):
            removed = self.db[MEMBERSHIPS].find_one_and_delete(
                {"_id": membership_id(company_id, account_id), "role": {"$in": allowed}})
        if removed is not None:
            self.roster_changed(company_id)
        return removed

    def owners(self, company_id: str) -> list[dict]:
        return list(self.db[MEMBERSHIPS].find({"company_id": company_id, "role": "owner"}))

    # the users table's copy (see the module's docstring)

    def roster_changed(self, company_id: str) -> None:
        """Mark the company's table changed; call it after the write that changed it."""
        if not isinstance(company_id, str):
            return
        stamp = {"$set": {"stamp": new_id()}}
        try:
            self.db[ROSTER_STAMPS].update_one({"_id": company_id}, stamp, upsert=True)
        except DuplicateKeyError:  # a concurrent first stamp was inserted meanwhile
            self.db[ROSTER_STAMPS].update_one({"_id": company_id}, stamp)

    def roster(self, company_id: str, max_age: float = ROSTER_MAX_AGE) -> tuple[list | None, str | None]:
        """(rows, stamp): the stored table while it is current, else (None, the stamp to build it for).

        Two key look-ups.
        """
        found = self.db[ROSTER_STAMPS].find_one({"_id": company_id})
        stamp = found["stamp"] if found else None
        copy = self.db[ROSTERS].find_one({"_id": company_id})
        if (copy is not None and stamp is not None and copy.get("stamp") == stamp
                and 0 <= time.time() - copy.get("built_at", 0) <= max_age):
            return json.loads(zlib.decompress(copy["rows"])), stamp
        return None, stamp

    def save_roster(self, company_id: str, stamp: str | None, rows: list) -> None:
        """Store the table built for `stamp`: the rows as one zlib-compressed JSON value (FerretDB decodes
        every field of a document on each read: 200 rows as sub-documents took 5-15 ms, as one JSON string
        (56 kB) ~1.5-2 ms, compressed (8 kB) ~1 ms)."""
        if stamp is None:  # no write has stamped this company yet (none exists, or a crash): nothing to tag
            return
        doc = {"stamp": stamp, "built_at": time.time(), "rows": Binary(zlib.compress(json.dumps(rows, separators=(",", ":")).encode(), 1))}
        try:
            self.db[ROSTERS].replace_one({"_id": company_id}, doc, upsert=True)
        except DuplicateKeyError:  # a concurrent rebuild's upsert won; either copy is checked by its stamp
            pass

    # invitations

    def create_invitation(self, company_id: str, email: str, role: str, invited_by: str, token_hash: str,
                          expires_at: datetime, now: datetime, extra: dict | None = None) -> dict | None:
        """A pending invitation; None when one is already pending for that address (unique slot).

        `extra` holds the outbox fields of its e-mail, stored in the same insert.
        """
        doc = {
            "_id": new_id(), "company_id": company_id, "email": email, "role": role, "invited_by": invited_by,
            "token_hash": token_hash, "superseded_hashes": [], "expires_at": expires_at, "status": "pending",
            "slot": pending_slot(company_id, email), "created_at": now, "sent_at": now,
            "mail_event_ids": [e["id"] for e in (extra or {}).get(OUTBOX, [])], **(extra or {}),
        }
        try:
            return self._insert_invitation(doc, now)
        finally:
            self.roster_changed(company_id)

    def _insert_invitation(self, doc: dict, now: datetime) -> dict | None:
        for _ in range(2):
            try:
                self.db[INVITATIONS].insert_one(doc)
                return doc
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

    def invitation(self, company_id: str, invitation_id: str) -> dict | None:
        if not isinstance(invitation_id, str):
            return None
        return self.db[INVITATIONS].find_one({"_id": invitation_id, "company_id": company_id})

    def invitation_by_token(self, token_hash: str) -> tuple[dict | None, bool]:
        """(invitation, superseded): the invitation whose current or an older link has this hash."""
        doc = self.db[INVITATIONS].find_one({"token_hash": token_hash})
        if doc is not None:
            return doc, False
        return self.db[INVITATIONS].find_one({"superseded_hashes": token_hash}), True

    def pending_invitations(self, company_id: str) -> list[dict]:
        found = list(self.db[INVITATIONS].find({"company_id": company_id, "status": "pending"}))
        found.sort(key=lambda i: (i["created_at"], i["_id"]))
        return found

    def consume_invitation(self, invitation_id: str, token_hash: str, account_id: str, now: datetime) -> dict | None:
        """Mark the invitation accepted at most once: only while pending, unexpired and with this link.

        The claim makes "once" hold under concurrency on every backend (see Store.claim).
        """
        if not self.claim(f"invitation-accept:{invitation_id}:{token_hash}", now + timedelta(days=30)):
            return None
        accepted = self.db[INVITATIONS].find_one_and_update(
            {"_id": invitation_id, "token_hash": token_hash, "status": "pending", "expires_at": {"$gt": now}},
            {"$set": {"status": "accepted", "slot": f"done:{invitation_id}", "accepted_at": now,
                      "accepted_by": account_id}},
            return_document=ReturnDocument.AFTER)
        if accepted is not None:
            self.roster_changed(accepted["company_id"])
        return accepted

    def revoke_invitation(self, company_id: str, invitation_id: str, now: datetime) -> dict | None:
        revoked = self.db[INVITATIONS].find_one_and_update(
            {"_id": invitation_id, "company_id": company_id, "status": "pending"},
            {"$set": {"status": "revoked", "slot": f"done:{invitation_id}", "revoked_at": now}},
            return_document=ReturnDocument.AFTER)
        if revoked is not None:
            self.roster_changed(company_id)
        return revoked

    def renew_invitation(self, invitation: dict, token_hash: str, expires_at: datetime, now: datetime,
                         event: dict) -> dict | None:
        """A new link for a pending invitation, its e-mail in the same write; the old link's hash is kept
        in `superseded_hashes` (so using it says "replaced")."""
        update = with_outbox({"$set": {"token_hash": token_hash, "expires_at": expires_at, "sent_at": now},
                              "$push": {"superseded_hashes": invitation["token_hash"], "mail_event_ids": event["id"]}},
                             event)
        return self.db[INVITATIONS].find_one_and_update(
            {"_id": invitation["_id"], "status": "pending", "token_hash": invitation["token_hash"]},
            update, return_document=ReturnDocument.AFTER)

    # ownership

    def create_transfer(self, company_id: str, from_account_id: str, to_account_id: str, token_hash: str,
                        expires_at: datetime, now: datetime, extra: dict | None = None) -> dict:
        """A pending transfer (its e-mail's outbox fields in `extra`); an earlier pending one stops working."""
        self.db[TRANSFERS].update_many({"company_id": company_id, "status": "pending"},
                                       {"$set": {"status": "superseded", "superseded_at": now}})
        doc = {"_id": new_id(), "company_id": company_id, "from_account_id": from_account_id,
               "to_account_id": to_account_id, "token_hash": token_hash, "expires_at": expires_at,
               "status": "pending", "created_at": now, **(extra or {})}
        self.db[TRANSFERS].insert_one(doc)
        return doc

    def transfer_by_token(self, token_hash: str) -> dict | None:
        return self.db[TRANSFERS].find_one({"token_hash": token_hash})

    def consume_transfer(self, transfer_id: str, account_id: str, now: datetime) -> dict | None:
        """Accept a pending transfer at most once (a claim, then the guarded update)."""
        if not self.claim(f"transfer-accept:{transfer_id}", now + timedelta(days=30)):
            return None
        return self.db[TRANSFERS].find_one_and_update(
            {"_id": transfer_id, "status": "pending", "to_account_id": account_id, "expires_at": {"$gt": now}},
            {"$set": {"status": "accepted", "accepted_at": now}}, return_document=ReturnDocument.AFTER)

    def transfer_ownership(self, company_id: str, from_account_id: str, to_account_id: str,
                           now: datetime) -> str | None:
        """Move ownership; returns None on success or why not ("owner_changed", "busy", "not_member").

        1. lock the company, only while `from` is still its owner and no other transfer runs;
        2. promote `to`, only if it is still a member and not the owner (from here on no role change
           or removal can touch it: those never match role `owner`);
        3. demote `from` to manager; 4. record the new owner and release the lock.
        Between 2 and 3 the company briefly has two owners, never zero.
        """
        lock = new_id()
        locked = self.db[COMPANIES].find_one_and_update(
            {"_id": company_id, "owner_account_id": from_account_id, "transfer_lock_until": {"$lt": now}},
            {"$set": {"transfer_lock": lock, "transfer_lock_until": now + timedelta(seconds=TRANSFER_LOCK_SECONDS)}})
        if locked is None:
            company = self.get_company(company_id)
            return "owner_changed" if company is None or company["owner_account_id"] != from_account_id else "busy"
        try:
            with company_writes(company_id):
                promoted = self.db[MEMBERSHIPS].update_one(
                    {"_id": membership_id(company_id, to_account_id),
                     "role": {"$in": ["manager", "employee", "warehouse"]}},
                    {"$set": {"role": "owner", "updated_at": now}})
                if not promoted.modified_count:
                    return "not_member"
                self.db[MEMBERSHIPS].update_one(
                    {"_id": membership_id(company_id, from_account_id), "role": "owner"},
                    {"$set": {"role": "manager", "updated_at": now}})
            self.db[COMPANIES].update_one({"_id": company_id, "transfer_lock": lock},
                                          {"$set": {"owner_account_id": to_account_id, "updated_at": now}})
            return None
        finally:
            self.db[COMPANIES].update_one({"_id": company_id, "transfer_lock": lock},
                                          {"$set": {"transfer_lock": None, "transfer_lock_until": EPOCH}})
            self.roster_changed(company_id)

    # audit log

    def audit(self, company_id: str, action: str, now: datetime, *, actor_account_id: str | None = None,
              subject_account_id: str | None = None, subject_email: str | None = None,
              details: dict | None = None, entry_id: str | None = None, mail: dict | None = None) -> dict:
        """One entry of the company's audit log (with the notice e-mail it causes); a repeated entry_id is
        written once."""
        doc = {"_id": entry_id or new_id(), "company_id": company_id, "action": action, "at": now,
               "actor_account_id": actor_account_id, "subject_account_id": subject_account_id,
               "subject_email": subject_email, "details": details or {},
               **outbox_fields(*([mail] if mail else []))}
        try:
            self.db[AUDIT].insert_one(doc)
        except DuplicateKeyError:
            pass
        return doc

    def audit_page(self, company_id: str, page: int, per_page: int) -> tuple[list[dict], int]:
        """Newest first; (entries of the page, total)."""
        cursor = (self.db[AUDIT].find({"company_id": company_id})
                  .sort([("at", DESCENDING), ("_id", DESCENDING)]).skip((page - 1) * per_page).limit(per_page))
        return list(cursor), self.db[AUDIT].count_documents({"company_id": company_id})


def users_store() -> Mongo:
    """The DependencyProvider that gives each worker a UsersStore."""
    return Mongo(UsersStore, service="users")
