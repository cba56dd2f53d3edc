"""The company audit log: one entry per thing that happened, with the notice e-mail it causes (outbox).

Kept forever (it is the company's record) and read a page at a time without a scan: each entry takes
the company's next number first (`audit_numbers`: `audit:<company>:<n>` naming the entry, dense by
unique insert, kit: counted attempts), then is stored; a page, newest first, is the numbers from the
company's highest down, read by `_id` (the numbers, then the entries). A number whose entry is missing
(the write died in between, or a repeated event raced its first delivery) is skipped: such a page shows
one entry fewer. Entries from before the numbers get theirs in one pass per database, in time order.
"""
from __future__ import annotations

from datetime import datetime

from pymongo import ASCENDING, DESCENDING
from pymongo.errors import DuplicateKeyError

from kadra_defaults import clock
from kadra_defaults.outbox import insert_with_outbox, outbox_fields
from kadra_defaults.storage import AttemptCounter, Store, new_id

AUDIT = "audit"
NUMBERS = "audit_numbers"
NUMBERED = "made:audit-numbers:v1"  # the marker of the one-off numbering of entries from before
UNLIMITED = 10 ** 15


def _key(company_id: str) -> str:
    return f"audit:{company_id}"


class AuditLog(Store):
    """Each company's log, newest first."""

    @classmethod
    def ensure_indexes(cls, db) -> None:
        db[AUDIT].create_index([("company_id", ASCENDING), ("at", DESCENDING)])
        if db[NUMBERS].find_one({"_id": NUMBERED}) is None:  # once: number the entries from before
            counter = AttemptCounter(db, collection=NUMBERS)
            for entry in db[AUDIT].find({}, {"company_id": 1, "at": 1}).sort([("at", ASCENDING), ("_id", ASCENDING)]):
                if isinstance(entry.get("company_id"), str) and not entry.get("number"):
                    n = counter.reserve(_key(entry["company_id"]), UNLIMITED, fields={"ref": entry["_id"]})
                    db[AUDIT].update_one({"_id": entry["_id"]}, {"$set": {"number": n}})
            try:
                db[NUMBERS].insert_one({"_id": NUMBERED, "at": clock.now()})
            except DuplicateKeyError:
                pass

    def write(self, company_id: str, action: str, now: datetime, *, actor_account_id: str | None = None,
              subject_account_id: str | None = None, subject_email: str | None = None,
              details: dict | None = None, entry_id: str | None = None, mail: dict | None = None,
              mails: tuple = ()) -> dict:
        """One entry of the company's audit log (with the notice e-mails it causes, `mail` and `mails`); a
        repeated entry_id is written once."""
        entry_id = entry_id or new_id()
        if self.by_key(AUDIT, entry_id) is not None:  # a repeated event: written once
            return self.by_key(AUDIT, entry_id)
        number = AttemptCounter(self.db, collection=NUMBERS).reserve(_key(company_id), UNLIMITED,
                                                                      fields={"ref": entry_id})
        doc = {"_id": entry_id, "number": number, "company_id": company_id, "action": action, "at": now,
               "actor_account_id": actor_account_id, "subject_account_id": subject_account_id,
               "subject_email": subject_email, "details": details or {}}
        mails = ((mail,) if mail else ()) + tuple(mails)
        try:
            insert_with_outbox(self.db[AUDIT], doc, *mails)
        except DuplicateKeyError:
            pass
        return {**doc, **outbox_fields(*mails)}

    def page(self, company_id: str, page: int, per_page: int) -> tuple[list[dict], int]:
        """Newest first; (entries of the page, total): key look-ups of the page's numbers, then its entries."""
        counter = AttemptCounter(self.db, collection=NUMBERS)
        total = counter.used(_key(company_id))
        while counter.taken(_key(company_id), total + 1):  # the hint may lag a racing write
            total += 1
        top = total - (page - 1) * per_page
        numbers = list(range(top, max(top - per_page, 0), -1))
        refs = {doc["_id"]: doc.get("ref") for doc in self.by_keys(NUMBERS, [f"{_key(company_id)}:{n}" for n in numbers])}
        entries = {doc["_id"]: doc for doc in self.by_keys(AUDIT, [r for r in refs.values() if r])}
        page_entries = []
        for n in numbers:
            entry = entries.get(refs.get(f"{_key(company_id)}:{n}"))
            # its own number only (a repeated event that raced its first delivery took a number it did not keep)
            if entry is not None and entry.get("company_id") == company_id and entry.get("number") in (n, None):
                page_entries.append(entry)
        return page_entries, total
