"""Claims (kit tactic 2): "exactly once" as a unique-key insert; `once` for a one-off pass per database."""
from __future__ import annotations

from datetime import datetime
from typing import Callable

from pymongo.errors import DuplicateKeyError

from kadra_defaults import clock
from kadra_defaults.storage.database import CLAIMS_COLLECTION, KEYS_COLLECTION
from kadra_defaults.storage.expiries import Expiries, sweep_expired


def claim(db, key: str, expires_at: datetime | None = None) -> bool:
    """See Store.claim. A claim with an expiry is made due then first (kit: due buckets)."""
    if expires_at is not None:
        Expiries(db).due(CLAIMS_COLLECTION, key, expires_at)
    try:
        db[CLAIMS_COLLECTION].insert_one({"_id": key, "at": clock.now(), "expires_at": expires_at})
        return True
    except DuplicateKeyError:
        return False


def sweep_claims(db, now: datetime | None = None) -> int:
    """Forget claims whose `expires_at` is before `now` (a claim without one is kept): due buckets, no scan."""
    return sweep_expired(db, CLAIMS_COLLECTION, now)


def once(db, marker: str, fill: Callable[[], None]) -> None:
    """Run `fill` once per database — a one-off pass that makes keys for data written before them (one
    scan) — marked by `marker` in the keys collection. Replicas starting together may both run it: a fill
    must be idempotent (KeyIndex.put, KeySet.add)."""
    if db[KEYS_COLLECTION].find_one({"_id": marker}) is not None:
        return
    fill()
    try:
        db[KEYS_COLLECTION].insert_one({"_id": marker, "at": clock.now()})
    except DuplicateKeyError:
        pass
