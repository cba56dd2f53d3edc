"""The database client, ids, start-up retries and parallel key reads (kit tactics 6 and 7)."""
from __future__ import annotations

import logging
import time
import uuid
from typing import Callable, Iterable, TypeVar

from pymongo import MongoClient
from pymongo.errors import PyMongoError

from kadra_defaults import settings

log = logging.getLogger("kadra_defaults.storage")

T = TypeVar("T")
HEARTBEAT_COLLECTION = "heartbeat"
CLAIMS_COLLECTION = "claims"
KEYS_COLLECTION = "keys"
LEASES_COLLECTION = "leases"
ATTEMPTS_COLLECTION = "attempts"
EXPIRIES_COLLECTION = "expiries"
STARTUP_WAIT = 60.0


def connect(uri: str | None = None) -> MongoClient:
    """A client with short timeouts, so a missing database fails fast instead of hanging."""
    return MongoClient(
        uri or settings.current().mongo_uri,
        serverSelectionTimeoutMS=3000,
        connectTimeoutMS=3000,
        socketTimeoutMS=10000,
        tz_aware=True,
        uuidRepresentation="standard",
        appname="kadra",
    )


def new_id() -> str:
    """A fresh document id (128 random bits, hex)."""
    return uuid.uuid4().hex


# 7. retries at start-up

def retry_until_ready(step: Callable[[], T], what: str, wait: float = STARTUP_WAIT) -> T:
    """`step()` once the database answers: retried every 2 s (logged) until `wait` seconds have passed."""
    deadline = time.monotonic() + wait
    while True:
        try:
            return step()
        except PyMongoError as exc:
            if time.monotonic() > deadline:
                raise
            log.warning("database not ready, retrying", extra={"step": what, "error": str(exc)[:300]})
            time.sleep(2)


# 6. parallel key reads

def in_parallel(*reads: Callable[[], T]) -> list[T]:
    """Run independent reads at once (green threads under nameko), return their results in order.

    Outside eventlet (tests, scripts) they simply run one after the other. An exception of any read
    is raised once all are done.
    """
    import eventlet.patcher

    if len(reads) < 2 or not eventlet.patcher.is_monkey_patched("socket"):
        return [read() for read in reads]
    import eventlet

    pending = [eventlet.spawn(read) for read in reads[1:]]
    first = reads[0]()
    return [first, *(thread.wait() for thread in pending)]


def ids(docs: Iterable[dict]) -> list:
    """The `_id`s of documents, in order."""
    return [doc["_id"] for doc in docs]
