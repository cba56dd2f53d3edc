"""Counted attempts (kit tactic 4): "at most N per key" by reserving numbered attempts before the work."""
from __future__ import annotations

from datetime import datetime

from pymongo.errors import DuplicateKeyError

from kadra_defaults import clock
from kadra_defaults.storage.database import ATTEMPTS_COLLECTION
from kadra_defaults.storage.expiries import Expiries, sweep_expired


class AttemptCounter:
    """Numbered attempts per key, reserved before the work: `reserve(key, limit)` -> n, or None past it.

    `key` names what is counted and its window (`"login:ala@example.pl:<streak>"`,
    `f"invite:{company}:{window_index(86400)}"`). A small hint document per key remembers the highest
    number handed out, so a reservation usually costs one read and one insert, not n inserts.
    Reservations expire with `expires_at` (the sweep removes them: `sweep_attempts`).
    """

    def __init__(self, db, collection: str = ATTEMPTS_COLLECTION):
        self.collection = db[collection]

    def reserve(self, key: str, limit: int, expires_at: datetime | None = None, fields: dict | None = None) -> int | None:
        """The number of this attempt (1..limit), or None when all `limit` are taken (`fields`: stored with it)."""
        hint = self.collection.find_one({"_id": f"{key}#"})
        n = (hint or {}).get("n", 0) + 1
        while n <= limit:
            if expires_at is not None:  # the number and the hint go with the sweep then (kit: due buckets)
                Expiries(self.collection.database).due_many(self.collection.name, [f"{key}:{n}", f"{key}#"],
                                                            expires_at)
            try:
                self.collection.insert_one({"_id": f"{key}:{n}", "at": clock.now(), "expires_at": expires_at,
                                            **(fields or {})})
            except DuplicateKeyError:
                n += 1
                continue
            try:  # the hint only ever grows to a number really handed out; a lost update costs an insert later
                self.collection.update_one({"_id": f"{key}#"}, {"$max": {"n": n}, "$set": {"expires_at": expires_at}},
                                           upsert=True)
            except DuplicateKeyError:
                self.collection.update_one({"_id": f"{key}#"}, {"$max": {"n": n}})
            return n
        return None

    def taken(self, key: str, n: int) -> bool:
        """Whether the n-th number under `key` has been handed out (one key look-up, never lags)."""
        return self.collection.find_one({"_id": f"{key}:{n}"}) is not None

    def used(self, key: str) -> int:
        """How many numbers were handed out under `key` (from the hint: may lag a racing reservation)."""
        hint = self.collection.find_one({"_id": f"{key}#"})
        return (hint or {}).get("n", 0)


def window_index(seconds: float, now: datetime | None = None) -> int:
    """Which fixed window of `seconds` `now` falls in (for keys of per-window limits)."""
    return int((now or clock.now()).timestamp() // seconds)


def window_left(seconds: float, now: datetime | None = None) -> float:
    """Seconds until the current fixed window of `seconds` ends (a Retry-After)."""
    stamp = (now or clock.now()).timestamp()
    return seconds - (stamp % seconds)


def sweep_attempts(db, now: datetime | None = None) -> int:
    """Forget reservations (and hints) whose `expires_at` has passed: due buckets, no scan."""
    return sweep_expired(db, ATTEMPTS_COLLECTION, now)
