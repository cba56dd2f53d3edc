"""The Mongo DependencyProvider: one client per service container, a small store per worker."""
import logging
import time
from datetime import datetime, timezone

from nameko.extensions import DependencyProvider
from pymongo import MongoClient
from pymongo.errors import DuplicateKeyError, PyMongoError

from kadra_defaults import clock, config

log = logging.getLogger(__name__)

HEARTBEAT_COLLECTION = "heartbeat"
CLAIMS_COLLECTION = "claims"


def connect(uri: str | None = None) -> MongoClient:
    """A client with short timeouts, so a missing database fails fast instead of hanging."""
    return MongoClient(
        uri or config.get(config.MONGO_URI),
        serverSelectionTimeoutMS=3000,
        connectTimeoutMS=3000,
        socketTimeoutMS=10000,
        tz_aware=True,
        uuidRepresentation="standard",
        appname="kadra",
    )


class Store:
    """Base of each service's store: a thin, domain-named object over one database."""

    def __init__(self, db):
        self.db = db

    @classmethod
    def ensure_indexes(cls, db) -> None:
        """Create the indexes this store relies on (unique ones are invariants)."""

    def claim(self, key: str, expires_at: datetime | None = None) -> bool:
        """True for exactly one caller per key, however many race: a unique-key insert.

        Use it for anything that must happen once (a token spent, a link accepted).
        A conditional find_one_and_update is NOT enough: on FerretDB (SQLite) two
        racing callers can both match it; a duplicate `_id` is always refused.
        """
        try:
            self.db[CLAIMS_COLLECTION].insert_one({"_id": key, "at": clock.now(), "expires_at": expires_at})
            return True
        except DuplicateKeyError:
            return False

    def heartbeat(self, who: str) -> dict:
        """Write a document and read it back: proves the database answers for this service."""
        now = datetime.now(timezone.utc)
        self.db[HEARTBEAT_COLLECTION].update_one({"_id": who}, {"$set": {"at": now}}, upsert=True)
        doc = self.db[HEARTBEAT_COLLECTION].find_one({"_id": who})
        return {"database": self.db.name, "written_at": doc["at"].isoformat() if doc else None}


class Mongo(DependencyProvider):
    """Opens the client once in setup(), closes it in stop(), gives each worker a store.

    `store_class` is a subclass of Store; its indexes are created at start,
    waiting (with a log line every few seconds) for the database to answer.
    """

    def __init__(self, store_class: type[Store], service: str | None = None, startup_wait: float = 60.0):
        self.store_class = store_class
        self.service = service
        self.startup_wait = startup_wait
        self.client = None
        self.db = None

    def setup(self):
        service = self.service or self.container.service_name
        self.client = connect()
        self.db = self.client[config.database_name(service)]
        deadline = time.monotonic() + self.startup_wait
        while True:
            try:
                self.store_class.ensure_indexes(self.db)
                return
            except PyMongoError as exc:
                if time.monotonic() > deadline:
                    raise
                log.warning("database not ready, retrying", extra={"error": str(exc)})
                time.sleep(2)

    def stop(self):
        if self.client is not None:
            self.client.close()
            self.client = None

    def kill(self):
        self.stop()

    def get_dependency(self, worker_ctx):
        return self.store_class(self.db)
