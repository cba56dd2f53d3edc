"""`Store`, the base of each service's store (key look-ups, claims, the heartbeat), and `Mongo`, the nameko
dependency that gives each worker one."""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Iterable

from nameko.extensions import DependencyProvider
from pymongo.errors import DuplicateKeyError

from kadra_defaults import settings
from kadra_defaults.storage.claims import claim
from kadra_defaults.storage.database import HEARTBEAT_COLLECTION, STARTUP_WAIT, connect, retry_until_ready

BY_KEYS_CHUNK = 500  # keys per query (our FerretDB build pushes down up to 1000)


class Store:
    """Base of each service's store: a thin, domain-named object over one database."""

    def __init__(self, db):
        self.db = db

    @classmethod
    def ensure_indexes(cls, db) -> None:
        """Create the indexes this store relies on (unique ones are invariants)."""

    # 1. key look-ups

    def by_key(self, collection: str, key) -> dict | None:
        """The document whose `_id` is `key` (None for a key that is not a string)."""
        if not isinstance(key, str):
            return None
        return self.db[collection].find_one({"_id": key})

    def by_keys(self, collection: str, keys: Iterable) -> list[dict]:
        """The documents with these `_id`s that exist, in the keys' order: one `{"_id": {"$in": [...]}}` query per
        BY_KEYS_CHUNK keys, read from the `_id` index (MongoDB; our FerretDB build, scripts/ferretdb/id_range.py —
        stock FerretDB v1 would scan the collection). A page of 50 audit entries: ~10 ms, against ~45 ms for 50
        look-ups one by one on FerretDB (measured at 300,000 entries)."""
        wanted = [key for key in dict.fromkeys(keys) if isinstance(key, str)]
        if len(wanted) == 1:
            doc = self.db[collection].find_one({"_id": wanted[0]})
            return [doc] if doc is not None else []
        found = {}
        for start in range(0, len(wanted), BY_KEYS_CHUNK):
            for doc in self.db[collection].find({"_id": {"$in": wanted[start:start + BY_KEYS_CHUNK]}}):
                found[doc["_id"]] = doc
        return [found[key] for key in wanted if key in found]

    # 2. claims

    def claim(self, key: str, expires_at: datetime | None = None) -> bool:
        """True for exactly one caller per key, however many race: a unique-key insert.

        Use it for anything that must happen once (a token spent, a link accepted). `expires_at`
        says when the sweep may forget the claim (after the thing claimed can no longer be used).
        """
        return claim(self.db, key, expires_at)

    def heartbeat(self, who: str) -> dict:
        """Write a document and read it back: proves the database answers for this service."""
        now = datetime.now(timezone.utc)
        try:
            self.db[HEARTBEAT_COLLECTION].update_one({"_id": who}, {"$set": {"at": now}}, upsert=True)
        except DuplicateKeyError:
            # Two first pings at once (FerretDB's upsert is a read, then an insert): the other inserted it.
            self.db[HEARTBEAT_COLLECTION].update_one({"_id": who}, {"$set": {"at": now}})
        doc = self.db[HEARTBEAT_COLLECTION].find_one({"_id": who})
        return {"database": self.db.name, "written_at": doc["at"].isoformat() if doc else None}


class Mongo(DependencyProvider):
    """The nameko DependencyProvider: opens the client once in setup(), closes it in stop(), gives each
    worker a store (`store_class(db)`), after creating the store's indexes (waiting for the database)."""

    def __init__(self, store_class: type[Store], service: str | None = None, startup_wait: float = STARTUP_WAIT):
        self.store_class = store_class
        self.service = service
        self.startup_wait = startup_wait
        self.client = None
        self.db = None

    def setup(self):
        service = self.service or self.container.service_name
        self.client = connect()
        self.db = self.client[settings.current().database_name(service)]
        retry_until_ready(lambda: self.store_class.ensure_indexes(self.db), f"{service} indexes", self.startup_wait)

    def stop(self):
        if self.client is not None:
            self.client.close()
            self.client = None

    def kill(self):
        self.stop()

    def get_dependency(self, worker_ctx):
        return self.store_class(self.db)
