"""Leases (kit tactic 5): work one process at a time may do across every replica."""
from __future__ import annotations

import time
from datetime import datetime, timedelta

from pymongo.errors import DuplicateKeyError

from kadra_defaults import clock
from kadra_defaults.storage.database import LEASES_COLLECTION, new_id


class Lease:
    """Exclusive work across processes: `with Lease(db, "company:42").held(): ...`.

    Taking it inserts `lease:<name>` (a unique key: one holder); a lease whose holder died is taken
    over once its `ttl` has passed. Keep the work well inside the ttl; `held()` waits up to `wait`
    seconds for the lease and raises `LeaseBusy` after that.
    """

    def __init__(self, db, name: str, ttl: float = 10.0, collection: str = LEASES_COLLECTION):
        self.db = db
        self.name = name
        self.ttl = ttl
        self.collection = db[collection]
        self.owner = new_id()

    @property
    def _key(self) -> str:
        return f"lease:{self.name}"

    def take(self) -> bool:
        """Take the lease now if it is free (or its holder's time ran out); True when this one holds it."""
        now = clock.now()
        doc = {"_id": self._key, "owner": self.owner, "until": now + timedelta(seconds=self.ttl)}
        try:
            self.collection.insert_one(doc)
            return True
        except DuplicateKeyError:
            pass
        held = self.collection.find_one({"_id": self._key})
        if held is not None and held.get("until") and held["until"] < now:
            # Expired: remove that holder's document (by its owner, so never a newer holder's), then race
            # the others for the insert.
            self.collection.delete_one({"_id": self._key, "owner": held["owner"]})
            try:
                self.collection.insert_one(doc)
                return True
            except DuplicateKeyError:
                return False
        return False

    def renew(self) -> bool:
        """Extend this holder's lease by its ttl from now; False when the lease is no longer this holder's
        (its time ran out and another took it, or it was never taken)."""
        until = clock.now() + timedelta(seconds=self.ttl)
        return self.collection.update_one({"_id": self._key, "owner": self.owner},
                                          {"$set": {"until": until}}).matched_count == 1

    def release(self) -> None:
        """Give the lease back (only this holder's document is removed)."""
        self.collection.delete_one({"_id": self._key, "owner": self.owner})

    def held(self, wait: float = 5.0, poll: float = 0.01):
        """A context manager holding the lease for its block."""
        return _Held(self, wait, poll)


class LeaseBusy(RuntimeError):
    """The lease stayed taken for longer than the caller would wait."""


class _Held:
    def __init__(self, lease: Lease, wait: float, poll: float):
        self.lease, self.wait, self.poll = lease, wait, poll

    def __enter__(self) -> Lease:
        deadline = time.monotonic() + self.wait
        delay = self.poll
        while not self.lease.take():
            if time.monotonic() > deadline:
                raise LeaseBusy(self.lease.name)
            time.sleep(delay)
            delay = min(0.1, delay * 2)
        return self.lease

    def __exit__(self, *exc) -> None:
        self.lease.release()


def expired_leases(db, now: datetime | None = None) -> int:
    """Remove leases whose holders' time ran out long ago (a minute)."""
    now = now or clock.now()
    return db[LEASES_COLLECTION].delete_many({"until": {"$lt": now - timedelta(minutes=1)}}).deleted_count
