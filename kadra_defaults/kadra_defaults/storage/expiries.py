"""Due buckets (kit tactic 8): what must go at a time is swept by the buckets that ended, never by a scan."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Callable

from pymongo.errors import BulkWriteError, DuplicateKeyError

from kadra_defaults import clock
from kadra_defaults.storage.database import EXPIRIES_COLLECTION
from kadra_defaults.storage.leases import Lease

_aware = clock.aware


class Expiries:
    """`due(kind, ref, at)`: `ref` (a document `_id`) is to be judged at `at`; `sweep(kind, rule)`: judge
    everything whose bucket has ended, without a scan.

    A bucket is `bucket_seconds` long (an hour by default; a day suits things kept for weeks). Slots are
    numbered 1, 2, … per bucket by unique insert; a process remembers the next free number per bucket
    (and a hint document, made before the bucket's first slot and moved every `HINT_EVERY` numbers, helps
    a fresh process and tells the sweep a bucket is empty), so a `due` usually costs one insert. `rule(ref, bucket_end)` deletes what may go (by `_id`) and may call `due` again for a later
    time; it must be idempotent (a sweep that died half-way repeats its bucket), and answers true when it
    deleted. A document goes within one bucket after its time, not at the first tick after it. One sweeper at a time
    per kind (a lease); the sweep remembers the last bucket done in `<kind>:swept`.
    """

    HINT_EVERY = 32
    LOOKBACK = 48  # buckets a first sweep looks back
    SETTLE = 60  # seconds after its end before a bucket is swept (a writer's clock a little behind the sweeper's)
    _next: dict = {}  # (database, kind, bucket) -> the first number this process has not seen taken

    def __init__(self, db, bucket_seconds: int = 3600, collection: str = EXPIRIES_COLLECTION):
        self.db = db
        self.bucket_seconds = int(bucket_seconds)
        self.collection = db[collection]

    def bucket(self, at: datetime) -> int:
        return int(at.timestamp() // self.bucket_seconds)

    def due(self, kind: str, ref: str, at: datetime) -> None:
        """Judge document `ref` of `kind` once `at`'s bucket has ended."""
        self.due_many(kind, [ref], at)

    def due_many(self, kind: str, refs: list, at: datetime) -> None:
        if not refs:
            return
        bucket = max(self.bucket(at), self.bucket(clock.now()))  # never a bucket a sweep may have done
        cache = (self.db.name, kind, bucket)
        n = Expiries._next.get(cache)
        if n is None:
            hint = self.collection.find_one({"_id": f"{kind}:{bucket}#"})
            if hint is None:  # the bucket's hint exists before its first slot: no hint, an empty bucket
                try:
                    self.collection.update_one({"_id": f"{kind}:{bucket}#"}, {"$max": {"n": 0}}, upsert=True)
                except DuplicateKeyError:
                    pass
            n = (hint or {}).get("n", 0) + 1
        waiting = list(refs)
        while waiting:  # a block of numbers at once; the ones another process took go again, later
            block = [{"_id": f"{kind}:{bucket}:{n + i}", "ref": ref} for i, ref in enumerate(waiting)]
            taken = set()
            try:
                self.collection.insert_many(block, ordered=False)
            except BulkWriteError as exc:
                errors = exc.details.get("writeErrors") or []
                if any(error.get("code") != 11000 for error in errors):
                    raise
                taken = {error["index"] for error in errors}
            top = n + len(block) - 1
            if top // self.HINT_EVERY != (n - 1) // self.HINT_EVERY:
                try:
                    self.collection.update_one({"_id": f"{kind}:{bucket}#"}, {"$max": {"n": top}}, upsert=True)
                except DuplicateKeyError:
                    self.collection.update_one({"_id": f"{kind}:{bucket}#"}, {"$max": {"n": top}})
            waiting = [waiting[i] for i in sorted(taken)]
            n = top + 1
        if len(Expiries._next) > 10000:  # forget buckets this process no longer writes to
            Expiries._next.clear()
        Expiries._next[cache] = n

    def adopt_once(self, kind: str, collection: str, when: Callable[[dict], datetime | None],
                   query: dict | None = None) -> None:
        """Make due, once per database, the documents of `collection` written before they were made due
        when written: one scan (`query`), then a marker `made-due:<kind>:v1`. `when(doc)`: its time, or None."""
        marker = f"made-due:{kind}:v1"
        if self.collection.find_one({"_id": marker}) is not None:
            return
        for doc in self.db[collection].find(query or {}):
            at = when(doc)
            if at is not None and isinstance(doc["_id"], str):
                self.due(kind, doc["_id"], _aware(at))
        try:
            self.collection.insert_one({"_id": marker})
        except DuplicateKeyError:
            pass

    def sweep(self, kind: str, rule: Callable[[str, datetime], object], now: datetime | None = None) -> int:
        """Run `rule` on every slot of `kind` in buckets that ended before `now`; returns how many times it
        answered true (deleted)."""
        now = now or clock.now()
        lease = Lease(self.db, f"sweep:{kind}", ttl=600)
        if not lease.take():
            return 0
        try:
            return self._sweep(kind, rule, now)
        finally:
            lease.release()

    def _sweep(self, kind, rule, now) -> int:
        state_id = f"{kind}:swept"
        state = self.collection.find_one({"_id": state_id}) or {}
        last = self.bucket(now - timedelta(seconds=self.SETTLE)) - 1  # the newest bucket that has ended
        cleanup = state.get("cleanup")
        if cleanup:  # slots of a bucket done by a sweep that stopped before deleting them
            self._drop_slots(kind, *cleanup)
        first = state["bucket"] + 1 if "bucket" in state else last - self.LOOKBACK
        judged = 0
        for bucket in range(first, last + 1):
            if self.collection.find_one({"_id": f"{kind}:{bucket}#"}) is None:
                continue  # nothing was ever made due in it: one key look-up
            end = datetime.fromtimestamp((bucket + 1) * self.bucket_seconds, tz=timezone.utc)
            n, misses, highest = 1, 0, 0
            while misses < 3:  # numbers are dense; a few more looks cover a reservation that failed
                slot = self.collection.find_one({"_id": f"{kind}:{bucket}:{n}"})
                if slot is None:
                    misses += 1
                else:
                    misses, highest = 0, n
                    judged += 1 if rule(slot["ref"], end) else 0
                n += 1
            self.collection.update_one({"_id": state_id}, {"$set": {"bucket": bucket, "cleanup": [bucket, highest]}},
                                       upsert=True)
            self._drop_slots(kind, bucket, highest)
            self.collection.update_one({"_id": state_id}, {"$set": {"cleanup": None}})
        if first <= last:
            self.collection.update_one({"_id": state_id}, {"$set": {"bucket": last}}, upsert=True)
        return judged

    def _drop_slots(self, kind: str, bucket: int, highest: int) -> None:
        for n in range(1, highest + 1):
            self.collection.delete_one({"_id": f"{kind}:{bucket}:{n}"})
        self.collection.delete_one({"_id": f"{kind}:{bucket}#"})


def sweep_expired(db, collection: str, now: datetime | None = None, keep: timedelta = timedelta(0),
                  gone: Callable[[dict], None] | None = None) -> int:
    """Delete the documents of `collection` made due (kind = the collection's name) whose `expires_at` +
    `keep` is before the end of their bucket; one whose expiry moved later, or that still holds e-mail
    envelopes (an `outbox`), is made due again. Documents from before the due buckets are made due once per
    database (one scan, a marker). `gone(doc)` is told of each document deleted (to drop its keys)."""
    now = now or clock.now()
    expiries = Expiries(db)
    expiries.adopt_once(collection, collection, lambda doc: _aware(doc.get("expires_at")) + keep
                        if isinstance(doc.get("expires_at"), datetime) else None, {"expires_at": {"$ne": None}})

    def rule(doc_id: str, bucket_end: datetime) -> bool:
        doc = db[collection].find_one({"_id": doc_id})
        expires_at = _aware((doc or {}).get("expires_at"))
        if expires_at is None:
            return False
        if doc.get("outbox"):  # an e-mail still waits for the relay: look again in an hour
            expiries.due(collection, doc_id, bucket_end + timedelta(hours=1))
            return False
        if expires_at + keep <= bucket_end:
            deleted = db[collection].delete_one({"_id": doc_id}).deleted_count == 1
            if deleted and gone is not None:
                gone(doc)
            return deleted
        expiries.due(collection, doc_id, expires_at + keep)
        return False
    return expiries.sweep(collection, rule, now)
