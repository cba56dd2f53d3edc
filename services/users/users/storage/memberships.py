"""Memberships and their roles.

Invariants held by the database itself, not by read-then-write:
- one membership per (company, account): unique index (and the `_id` is `<company>:<account>`);
- a role change or removal never touches a membership whose role is `owner`: every such update
  filters on the roles the actor may manage, which never include `owner`; the owner's role moves
  only through the ownership move (`hand_over`, storage/transfers.py).

Look-ups by company and by account go through key sets (kit KeySet: `company-members:<company>:<account>`,
`account-companies:<account>:<company>`), added before the membership is written and removed after it is
deleted; the memberships they name are read by `_id` and checked. No scan, however many companies.

On MongoDB a filtered find_one_and_update is atomic, and the filters above are enough. FerretDB v1
(our development and test server) applies it as a read, then a write by `_id`: a role change that
read "employee" could land after a transfer made that member the owner, leaving none (seen once in
twenty-way races). So the writes that touch roles also run one at a time per company, across every
users replica, under the company's lease (`company_writes`: the storage kit's Lease, a document claimed
by unique key; a crashed holder's lease is taken over after its ttl). An in-process lock would hold
for one replica only, and the Kubernetes base runs two.
"""
from __future__ import annotations

from contextlib import contextmanager
from datetime import datetime

from pymongo import ASCENDING, ReturnDocument
from pymongo.errors import DuplicateKeyError

from kadra_defaults.storage import KeySet, Lease, LeaseBusy, Store, once

from users.exceptions import Unavailable
from users.storage.rosters import Rosters

MEMBERSHIPS = "memberships"
MEMBERSHIP_KEYS_MADE = "made:membership-keys:v1"  # the marker of the one-off keys for memberships from before
# A role-changing write takes milliseconds; the ttl only bounds how long a crashed holder blocks the company.
COMPANY_LEASE_TTL = 10.0
COMPANY_LEASE_WAIT = 5.0


@contextmanager
def company_writes(db, company_id: str):
    """Run the block while no other role-changing write of this company runs in any users process.

    Raises `Unavailable` (503, Retry-After) when the lease stays taken longer than a request waits.
    """
    try:
        with Lease(db, f"company-roles:{company_id}", ttl=COMPANY_LEASE_TTL).held(wait=COMPANY_LEASE_WAIT):
            yield  # the writes in the block never take a lease: a LeaseBusy here is this one's
    except LeaseBusy:
        raise Unavailable() from None


def membership_id(company_id: str, account_id: str) -> str:
    return f"{company_id}:{account_id}"


class Memberships(Store):
    """Who belongs to which company, with which role."""

    @classmethod
    def ensure_indexes(cls, db) -> None:
        db[MEMBERSHIPS].create_index([("company_id", ASCENDING), ("account_id", ASCENDING)], unique=True)
        db[MEMBERSHIPS].create_index("account_id")

        def fill():
            store = cls(db)
            for doc in db[MEMBERSHIPS].find({}, {"company_id": 1, "account_id": 1}):
                store._keys_added(doc["company_id"], doc["account_id"])
        once(db, MEMBERSHIP_KEYS_MADE, fill)

    @property
    def _members(self) -> KeySet:
        return KeySet(self.db, "company-members")

    @property
    def _companies(self) -> KeySet:
        return KeySet(self.db, "account-companies")

    def _keys_added(self, company_id: str, account_id: str) -> None:
        self._members.add(company_id, account_id)
        self._companies.add(account_id, company_id)

    def _keys_removed(self, company_id: str, account_id: str) -> None:
        self._members.remove(company_id, account_id)
        self._companies.remove(account_id, company_id)

    def add(self, company_id: str, account_id: str, role: str, now: datetime) -> bool:
        """Insert the membership; False when the person is already a member (unique index)."""
        self._keys_added(company_id, account_id)  # first: never a membership its sets do not list
        try:
            self.db[MEMBERSHIPS].insert_one({
                "_id": membership_id(company_id, account_id), "company_id": company_id, "account_id": account_id,
                "role": role, "joined_at": now, "updated_at": now})
            return True
        except DuplicateKeyError:
            return False
        finally:
            Rosters(self.db).changed(company_id)

    def get(self, company_id: str, account_id: str) -> dict | None:
        """The person's membership of the company, or None (a key look-up)."""
        if not (isinstance(company_id, str) and isinstance(account_id, str)):
            return None
        return self.by_key(MEMBERSHIPS, membership_id(company_id, account_id))

    def of_account(self, account_id: str) -> list[dict]:
        """Every membership of the person, the oldest first (its key set, then each by `_id`)."""
        ids = [membership_id(company_id, account_id) for company_id in self._companies.refs(account_id)]
        found = [m for m in self.by_keys(MEMBERSHIPS, ids) if m.get("account_id") == account_id]
        found.sort(key=lambda m: (m["joined_at"], m["company_id"]))
        return found

    def of_company(self, company_id: str) -> list[dict]:
        """Every membership of the company in the table's stable order: owner first, then by joining."""
        ids = [membership_id(company_id, account_id) for account_id in self._members.refs(company_id)]
        found = [m for m in self.by_keys(MEMBERSHIPS, ids) if m.get("company_id") == company_id]
        found.sort(key=lambda m: (m["role"] != "owner", m["joined_at"], m["account_id"]))
        return found

    def owners(self, company_id: str) -> list[dict]:
        """The company's owner memberships (one, but for the moment inside an ownership move)."""
        return [m for m in self.of_company(company_id) if m["role"] == "owner"]

    def set_role(self, company_id: str, account_id: str, role: str, manageable: set[str],
                 now: datetime) -> dict | None:
        """Set the role only if the current one is in `manageable` (never `owner`); returns the membership before."""
        allowed = sorted(set(manageable) - {"owner"})
        with company_writes(self.db, company_id):
            before = self.db[MEMBERSHIPS].find_one_and_update(
                {"_id": membership_id(company_id, account_id), "role": {"$in": allowed}},
                {"$set": {"role": role, "updated_at": now}}, return_document=ReturnDocument.BEFORE)
        if before is not None:
            Rosters(self.db).changed(company_id)
        return before

    def remove(self, company_id: str, account_id: str, manageable: set[str]) -> dict | None:
        """Delete the membership only if its role is in `manageable` (never `owner`); returns it."""
        allowed = sorted(set(manageable) - {"owner"})
        with company_writes(self.db, company_id):
            removed = self.db[MEMBERSHIPS].find_one_and_delete(
                {"_id": membership_id(company_id, account_id), "role": {"$in": allowed}})
        if removed is not None:
            self._keys_removed(company_id, account_id)
            Rosters(self.db).changed(company_id)
        return removed

    def hand_over(self, company_id: str, from_account_id: str, to_account_id: str, now: datetime) -> bool:
        """Make `to` the owner and `from` a manager; False (nothing changed) when `to` is no longer a member.

        `to` is promoted first, so the company briefly has two owners, never zero; from then on no role
        change or removal can touch it (those never match role `owner`). The caller holds the company's
        transfer lock (storage/transfers.py) and marks the table changed.
        """
        with company_writes(self.db, company_id):
            promoted = self.db[MEMBERSHIPS].update_one(
                {"_id": membership_id(company_id, to_account_id),
                 "role": {"$in": ["manager", "employee", "warehouse"]}},
                {"$set": {"role": "owner", "updated_at": now}})
            if not promoted.modified_count:
                return False
            self.db[MEMBERSHIPS].update_one(
                {"_id": membership_id(company_id, from_account_id), "role": "owner"},
                {"$set": {"role": "manager", "updated_at": now}})
        return True
