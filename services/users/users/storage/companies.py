"""Companies: their data, their owner, and the lock an ownership move holds on them."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from pymongo import ReturnDocument
from pymongo.errors import DuplicateKeyError

from kadra_defaults.storage import Store, new_id

from users.storage.memberships import Memberships

COMPANIES = "companies"
EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
TRANSFER_LOCK_SECONDS = 30


class Companies(Store):
    """Each company's document, keyed by its id."""

    @classmethod
    def ensure_indexes(cls, db) -> None:
        db[COMPANIES].create_index("creation_key", unique=True)

    def create(self, owner_account_id: str, name: str, creation_key: str, now: datetime) -> tuple[dict, bool]:
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
        Memberships(self.db).add(company["_id"], owner_account_id, "owner", now)
        return company, created

    def get(self, company_id: str) -> dict | None:
        """The company, or None (a key look-up)."""
        return self.by_key(COMPANIES, company_id)

    def of_ids(self, company_ids) -> dict[str, dict]:
        """The companies with these ids, by id."""
        return {c["_id"]: c for c in self.by_keys(COMPANIES, company_ids)}

    def update(self, company_id: str, changes: dict, now: datetime) -> tuple[dict, dict] | None:
        """Apply the changes; returns (before, after) or None when there is no such company."""
        before = self.db[COMPANIES].find_one_and_update(
            {"_id": company_id}, {"$set": {**changes, "updated_at": now}}, return_document=ReturnDocument.BEFORE)
        if before is None:
            return None
        return before, {**before, **changes, "updated_at": now}

    def set_second_factor_required(self, company_id: str, required: bool, now: datetime) -> bool:
        """Turn the company's second-factor policy on or off; True when this call changed it (a filtered update:
        of two racing switches one changes it)."""
        result = self.db[COMPANIES].update_one(
            {"_id": company_id, "second_factor_required": {"$ne": True} if required else True},
            {"$set": {"second_factor_required": required, "second_factor_required_at": now, "updated_at": now}})
        return bool(result.modified_count)

    # the ownership move's lock (storage/transfers.py says the whole sequence)

    def lock_for_transfer(self, company_id: str, owner_account_id: str, now: datetime) -> str | None:
        """Lock the company while `owner_account_id` still owns it and no other move holds it: the lock's id."""
        lock = new_id()
        locked = self.db[COMPANIES].find_one_and_update(
            {"_id": company_id, "owner_account_id": owner_account_id, "transfer_lock_until": {"$lt": now}},
            {"$set": {"transfer_lock": lock, "transfer_lock_until": now + timedelta(seconds=TRANSFER_LOCK_SECONDS)}})
        return lock if locked is not None else None

    def set_owner(self, company_id: str, lock: str, owner_account_id: str, now: datetime) -> None:
        """Record the new owner, under the lock."""
        self.db[COMPANIES].update_one({"_id": company_id, "transfer_lock": lock},
                                      {"$set": {"owner_account_id": owner_account_id, "updated_at": now}})

    def unlock(self, company_id: str, lock: str) -> None:
        """Release the lock (only this one: the filter names it)."""
        self.db[COMPANIES].update_one({"_id": company_id, "transfer_lock": lock},
                                      {"$set": {"transfer_lock": None, "transfer_lock_until": EPOCH}})
