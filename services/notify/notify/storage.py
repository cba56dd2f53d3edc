"""The notify service's database: the message log, one document per e-mail keyed by the event id.

    {_id: <event id>, type, template, locale, recipient, status: queued|sent|retrying|failed,
     attempts, last_error, created_at, updated_at, sent_at, next_try_at, failed_reason}

``status`` is ``sent`` exactly once per event: that is what makes a second delivery of the same
event send nothing. No payload (and so no token) is ever stored here.

Retention: an entry is made due (kit: due buckets) KADRA_MAIL_LOG_RETENTION_DAYS (90) after it is
first written, and the sweep removes it then without a scan. An event delivered again after that
would be sent again: outbox envelopes are published within minutes, never months later.
"""
from __future__ import annotations

from pymongo.errors import BulkWriteError, DuplicateKeyError

from datetime import datetime, timedelta, timezone

from kadra_defaults import clock, settings
from kadra_defaults.storage import Expiries, Mongo, Store

MESSAGES = "messages"


def _retention() -> timedelta:
    return timedelta(days=settings.current().mail_log_retention_days)


class NotifyStore(Store):
    """The message log in notify's own database."""

    @classmethod
    def ensure_indexes(cls, db) -> None:
        db[MESSAGES].create_index("status", name="status")

    @property
    def messages(self):
        return self.db[MESSAGES]

    def get(self, event_id: str) -> dict | None:
        return self.messages.find_one({"_id": event_id})

    def _due(self, event_ids: list[str], written_at: datetime) -> None:
        """The entries go with the sweep once the retention after `written_at` has passed."""
        Expiries(self.db).due_many(MESSAGES, list(event_ids), written_at + _retention())

    def judge(self, event_id: str, bucket_end: datetime) -> bool:
        """The sweep's rule: delete the entry once older than the retention (a longer one set since: later)."""
        doc = self.get(event_id)
        if doc is None:
            return
        created = doc.get("created_at") or doc.get("updated_at")
        if created is not None and created.tzinfo is None:
            created = created.replace(tzinfo=timezone.utc)
        if created is None or created + _retention() <= bucket_end:
            return self.messages.delete_one({"_id": event_id}).deleted_count == 1
        Expiries(self.db).due(MESSAGES, event_id, created + _retention())
        return False

    def sweep(self, now: datetime | None = None) -> int:
        """Remove the log entries whose retention ended (only the due buckets are read)."""
        expiries = Expiries(self.db)
        expiries.adopt_once(MESSAGES, MESSAGES, lambda doc: (doc.get("created_at") or doc.get("updated_at") or clock.now())
                            + _retention())  # entries from before, once
        return expiries.sweep(MESSAGES, self.judge, now or clock.now())

    def record_sent(self, event_id: str, fields: dict, attempts: int) -> None:
        """The server accepted the e-mail: one insert when it is the first try, else one update."""
        now = clock.now()
        doc = {"_id": event_id, **fields, "status": "sent", "attempts": attempts, "last_error": None,
               "created_at": now, "updated_at": now, "sent_at": now, "next_try_at": None}
        try:
            self._due([event_id], now)
            self.messages.insert_one(doc)
        except DuplicateKeyError:
            self.messages.update_one({"_id": event_id}, {"$set": {
                **fields, "status": "sent", "attempts": attempts, "updated_at": now, "sent_at": now,
                "next_try_at": None}})

    def record_sent_many(self, records: list[dict]) -> None:
        """Many accepted e-mails at once: one insert of them all, an update for each that had a log entry.

        A record is ``{"event_id", "fields", "attempts", "sent_at"}`` (see notify.journal). Idempotent:
        replaying a record that is already in the log writes the same thing again.
        """
        if not records:
            return
        docs = []
        for record in records:
            sent_at = record["sent_at"]
            docs.append({"_id": record["event_id"], **record["fields"], "status": "sent",
                         "attempts": record["attempts"], "last_error": None, "created_at": sent_at,
                         "updated_at": sent_at, "sent_at": sent_at, "next_try_at": None})
        self._due([doc["_id"] for doc in docs], min(doc["created_at"] for doc in docs))
        try:
            self.messages.insert_many(docs, ordered=False)
        except BulkWriteError as exc:
            errors = exc.details.get("writeErrors") or []
            if any(error.get("code") != 11000 for error in errors) or exc.details.get("writeConcernErrors"):
                raise
            for error in errors:  # tried before (retrying) or a replayed record: update in place
                doc = docs[error["index"]]
                self.messages.update_one({"_id": doc["_id"]}, {"$set": {
                    key: doc[key] for key in doc if key not in ("_id", "created_at", "last_error")}})

    def record_failure(self, event_id: str, fields: dict, *, status: str, attempts: int, error: str,
                       next_try_at=None) -> None:
        """A try failed: `retrying` (with the time of the next try) or `failed` (given up, dead-lettered)."""
        now = clock.now()
        if attempts <= 1:  # its first write (a later failure finds the entry made due already)
            self._due([event_id], now)
        try:
            self.messages.update_one(
                {"_id": event_id, "status": {"$ne": "sent"}},
                {"$set": {**fields, "status": status, "attempts": attempts, "last_error": error,
                          "updated_at": now, "next_try_at": next_try_at},
                 "$setOnInsert": {"created_at": now, "sent_at": None}},
                upsert=True)
        except DuplicateKeyError:  # already sent by an earlier delivery: the log keeps saying so
            pass

    def statuses(self, event_ids: list[str]) -> dict[str, dict]:
        found = {doc["_id"]: doc for doc in self.by_keys(MESSAGES, event_ids)}
        out = {}
        for event_id in event_ids:
            doc = found.get(event_id)
            if doc is None:  # not tried yet: still in the publisher's outbox or in the queue
                out[event_id] = {"status": "queued", "attempts": 0, "last_error": None, "sent_at": None}
                continue
            sent_at = doc.get("sent_at")
            out[event_id] = {"status": doc["status"], "attempts": doc.get("attempts", 0),
                             "last_error": doc.get("last_error"),
                             "sent_at": sent_at.isoformat() if sent_at else None}
        return out


def notify_store() -> Mongo:
    """The DependencyProvider that gives each worker a NotifyStore."""
    return Mongo(NotifyStore, service="notify")
