"""The company audit log: one entry per thing that happened, with the notice e-mail it causes (outbox)."""
from __future__ import annotations

from datetime import datetime

from pymongo import ASCENDING, DESCENDING
from pymongo.errors import DuplicateKeyError

from kadra_defaults.outbox import insert_with_outbox, outbox_fields
from kadra_defaults.storage import Store, new_id

AUDIT = "audit"


class AuditLog(Store):
    """Each company's log, newest first."""

    @classmethod
    def ensure_indexes(cls, db) -> None:
        db[AUDIT].create_index([("company_id", ASCENDING), ("at", DESCENDING)])

    def write(self, company_id: str, action: str, now: datetime, *, actor_account_id: str | None = None,
              subject_account_id: str | None = None, subject_email: str | None = None,
              details: dict | None = None, entry_id: str | None = None, mail: dict | None = None) -> dict:
        """One entry of the company's audit log (with the notice e-mail it causes); a repeated entry_id is
        written once."""
        doc = {"_id": entry_id or new_id(), "company_id": company_id, "action": action, "at": now,
               "actor_account_id": actor_account_id, "subject_account_id": subject_account_id,
               "subject_email": subject_email, "details": details or {}}
        mails = (mail,) if mail else ()
        try:
            insert_with_outbox(self.db[AUDIT], doc, *mails)
        except DuplicateKeyError:
            pass
        return {**doc, **outbox_fields(*mails)}

    def page(self, company_id: str, page: int, per_page: int) -> tuple[list[dict], int]:
        """Newest first; (entries of the page, total)."""
        cursor = (self.db[AUDIT].find({"company_id": company_id})
                  .sort([("at", DESCENDING), ("_id", DESCENDING)]).skip((page - 1) * per_page).limit(per_page))
        return list(cursor), self.db[AUDIT].count_documents({"company_id": company_id})
