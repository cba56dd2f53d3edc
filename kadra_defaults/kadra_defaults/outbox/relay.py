"""The outbox relay: publishes the envelopes the pending index names, with publisher confirms, one relay per
database at a time (a lease); adopts documents from before the index during a database's first day."""
from __future__ import annotations

import datetime as dt
import json
import logging
import threading
import time
from typing import Iterable

import pika
import pika.exceptions
from pymongo.errors import DuplicateKeyError, PyMongoError

from kadra_defaults import clock
from kadra_defaults.contracts import mailbus
from kadra_defaults.outbox.writes import INDEX, OUTBOX, PENDING, _json_safe
from kadra_defaults.storage import KEYS_COLLECTION, Lease

log = logging.getLogger("kadra_defaults.outbox")

GRACE = 300.0  # seconds an index entry waits for the domain write it announced
POLL_INTERVAL = 0.5
QUIET_AFTER = 60.0  # seconds without an e-mail after which the relay polls half as often (kicks stay immediate)
BATCH_DOCUMENTS = 200
ADOPTED_MARK = "made:outbox-adopted:v1"  # the database's first adoption; after ADOPT_WINDOW none is needed
ADOPT_WINDOW = dt.timedelta(days=1)  # longer than any rolling upgrade: every writer since writes index entries
ADOPT_RETRY = 300.0  # seconds before an adoption that failed (a timeout over a huge collection) is tried again
MAX_BACKOFF = 10.0


class Publisher:
    """One pika connection with publisher confirms; declares the mail topology on every (re)connect."""

    def __init__(self, amqp_uri: str | None = None):
        self.amqp_uri = amqp_uri
        self.connection = None
        self.channel = None

    def _open(self):
        self.connection = pika.BlockingConnection(mailbus.connection_parameters(self.amqp_uri))
        self.channel = self.connection.channel()
        mailbus.declare_topology(self.channel)
        self.channel.confirm_delivery()

    def publish(self, envelope_: dict) -> None:
        """Publish one envelope persistently; returns once the broker confirmed it (raises otherwise)."""
        if self.channel is None or not self.channel.is_open:
            self.close()
            self._open()
        body = json.dumps(envelope_, default=_json_safe).encode()
        self.channel.basic_publish(mailbus.EXCHANGE, mailbus.ROUTING_KEY, body,
                                   mailbus.message_properties(envelope_), mandatory=True)

    def idle(self) -> None:
        """Let pika answer heartbeats while nothing is published."""
        if self.connection is not None and self.connection.is_open:
            self.connection.process_data_events(0)

    def close(self) -> None:
        connection, self.connection, self.channel = self.connection, None, None
        if connection is not None:
            try:
                if connection.is_open:
                    connection.close()
            except Exception:  # closing a broken connection: nothing left to save
                pass


BROKER_ERRORS = (pika.exceptions.AMQPError, OSError)


class OutboxRelay:
    """Publishes the envelopes the pending index of `db` names; `run()` loops until `stop()`.

    `collections`: where documents written before the index existed may hold envelopes (adopted
    once, on the first pass). `grace`: seconds an entry waits for the write it announced; `now`: the
    relay's clock (``clock.now``).
    """

    def __init__(self, db, collections: Iterable[str], *, service: str = "", amqp_uri: str | None = None,
                 poll_interval: float = POLL_INTERVAL, grace: float = GRACE, now=None,
                 lease_ttl: float | None = None):
        self.db = db
        # With a lease_ttl, one relay per database publishes at a time (the others of the service's replicas
        # stand by and take over when the holder stops renewing): the Outbox provider sets it.
        self.lease = Lease(db, "outbox-relay", ttl=lease_ttl) if lease_ttl else None
        self._leading = False
        self.collections = tuple(collections)
        self.service = service
        self.publisher = Publisher(amqp_uri)
        self.poll_interval = poll_interval
        self.grace = grace
        self.now = now or clock.now  # injectable: tests move the relay's time past the grace
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._outage_since = None
        self._adopted = False
        self._adopt_after = 0.0
        self.published = 0
        self._active_at = float("-inf")  # quiet until its first e-mail

    def kick(self) -> None:
        """Publish as soon as possible (call right after a write that stored envelopes)."""
        self._wake.set()

    def stop(self) -> None:
        self._stopping.set()
        self._wake.set()

    def _lead(self) -> bool:
        """True while this relay holds the relay lease (or runs without one): take it, keep it renewed."""
        if self.lease is None:
            return True
        if self._leading:
            self._leading = self.lease.renew()
            if not self._leading:
                log.warning("mail outbox relay lost its lease; standing by", extra={"service": self.service})
        else:
            self._leading = self.lease.take()
            if self._leading:
                log.info("mail outbox relay took the lease", extra={"service": self.service})
        return self._leading

    def run(self) -> None:
        backoff = self.poll_interval
        renewed = 0.0
        while not self._stopping.is_set():
            self._wake.clear()
            try:
                # A holder renews at a third of its ttl; a standby asks every other poll.
                if self.lease is not None and (not self._leading or time.monotonic() - renewed > self.lease.ttl / 3):
                    if not self._lead():
                        self._stopping.wait(self.poll_interval * 2)
                        continue
                    renewed = time.monotonic()
                published = self.relay_once()
            except BROKER_ERRORS as exc:
                self.publisher.close()
                self._outage("broker", exc)
                backoff = min(MAX_BACKOFF, max(backoff * 2, 0.5))
                self._stopping.wait(backoff)
                continue
            except PyMongoError as exc:
                self._outage("database", exc)
                backoff = min(MAX_BACKOFF, max(backoff * 2, 0.5))
                self._stopping.wait(backoff)
                continue
            if self._outage_since is not None:
                log.warning("mail outbox relay recovered", extra={
                    "service": self.service, "outage_seconds": round(time.monotonic() - self._outage_since, 1)})
                self._outage_since = None
            backoff = self.poll_interval
            if published:
                self._active_at = time.monotonic()
            else:  # (more may be waiting behind a full batch: then look again at once)
                self._wake.wait(self.idle_wait())
        self.publisher.close()
        if self.lease is not None and self._leading:
            try:
                self.lease.release()  # a standby takes over at its next look, not after the ttl
            except PyMongoError:
                pass

    def idle_wait(self) -> float:
        """How long to wait for a kick before the next poll. A write in this process kicks the relay; the poll
        finds a twin replica's writes (it does not hold the lease). Quiet for QUIET_AFTER (and from the start
        until the first e-mail) the poll halves its rate: polls were ~1 % of a core of the whole stack at rest
        (four relays and the database answering them); a twin's first e-mail after a quiet minute then waits
        at most twice the interval (1 s)."""
        quiet = time.monotonic() - self._active_at > QUIET_AFTER
        return self.poll_interval * 2 if quiet else self.poll_interval

    def _outage(self, what: str, exc: Exception) -> None:
        if self._outage_since is None:  # once per outage, not once per try
            self._outage_since = time.monotonic()
            log.warning("mail outbox relay: %s unavailable, retrying with backoff", what,
                        extra={"error": f"{type(exc).__name__}: {exc}"})

    def adopt(self) -> int:
        """Give an index entry to every document of `collections` that holds envelopes without one.

        One query per collection, run once per relay (at its first pass) while the database is new to the
        index (`_adopt_when_due`): documents written before the pending index existed, or by a write that
        bypassed the helpers. Returns how many were adopted.
        """
        adopted = 0
        index = self.db[INDEX]
        for name in self.collections:
            for doc in self.db[name].find({PENDING: True}, {OUTBOX: 1}):
                held = [item for item in doc.get(OUTBOX) or [] if isinstance(item, dict) and item.get("id")]
                if not held or not isinstance(doc["_id"], str):
                    continue
                try:
                    index.insert_one({"_id": f"adopted:{name}:{doc['_id']}", "c": name, "ref": doc["_id"],
                                      "ids": [item["id"] for item in held], "at": clock.now()})
                    adopted += 1
                except DuplicateKeyError:  # adopted by another replica's relay already
                    pass
        if adopted:
            log.info("mail outbox relay adopted documents without index entries",
                     extra={"service": self.service, "documents": adopted})
        return adopted

    def relay_once(self) -> int:
        """Publish every envelope the index names once; returns how many were published.

        Reads the small index collection, then each named document by `_id` alone. One `update_one` per
        document, on purpose: FerretDB (SQLite) wedged a database on a `bulk_write` of 200 `$pullAll`
        updates in our tests.
        """
        self._adopt_when_due()
        index = self.db[INDEX]
        entries = list(index.find({}).limit(BATCH_DOCUMENTS))
        by_document: dict[tuple, list] = {}
        for entry in entries:
            by_document.setdefault((entry.get("c"), entry.get("ref")), []).append(entry)
        count = 0
        for (name, ref), group in by_document.items():
            if self._stopping.is_set():
                break
            if not isinstance(name, str) or not isinstance(ref, str):
                for entry in group:  # not written by the helpers: nothing can be found by it
                    index.delete_one({"_id": entry["_id"]})
                continue
            count += self._relay_document(self.db[name], ref, group)
        if count == 0:
            self.publisher.idle()
        return count

    def _adopt_when_due(self) -> None:
        """Adopt once per relay, at its first pass, while the database is new to the pending
        index (its first adoption less than ADOPT_WINDOW ago: a rolling upgrade's older replicas may still
        write without entries); later starts skip the query. A failed adoption (on FerretDB a scan of every
        document, which can outlast the client's timeout on a big collection) never stops publishing: it is
        tried again ADOPT_RETRY seconds later."""
        if self._adopted or time.monotonic() < self._adopt_after:
            return
        try:
            mark = self.db[KEYS_COLLECTION].find_one({"_id": ADOPTED_MARK})
            if mark is not None and clock.aware(mark["at"]) < clock.now() - ADOPT_WINDOW:
                self._adopted = True
                return
            self.adopt()
            if mark is None:
                try:
                    self.db[KEYS_COLLECTION].insert_one({"_id": ADOPTED_MARK, "at": clock.now()})
                except DuplicateKeyError:
                    pass
            self._adopted = True
        except PyMongoError as exc:
            self._adopt_after = time.monotonic() + ADOPT_RETRY
            log.warning("mail outbox relay: adopting documents from before the pending index failed; "
                        "publishing goes on, the adoption is tried again later",
                        extra={"service": self.service, "error": f"{type(exc).__name__}: {exc}",
                               "retry_in_s": ADOPT_RETRY})

    def _relay_document(self, collection, ref: str, entries: list[dict]) -> int:
        doc = collection.find_one({"_id": ref}, {OUTBOX: 1})
        held = list((doc or {}).get(OUTBOX) or [])
        sent = []
        try:
            for item in held:
                self.publisher.publish(item)
                sent.append(item)
        finally:
            if sent:  # remove exactly what the broker confirmed, even if a later publish failed
                collection.update_one({"_id": ref}, {"$pullAll": {OUTBOX: sent}})
                self.published += len(sent)
        if held:
            self._settle(collection, ref)
        sent_ids = {item.get("id") for item in sent if isinstance(item, dict)}
        too_old = self.now() - dt.timedelta(seconds=self.grace)
        for entry in entries:
            ids = set(entry.get("ids") or [entry["_id"]])
            at = entry.get("at")
            late = not isinstance(at, dt.datetime) or clock.aware(at) < too_old
            if ids & sent_ids or entry.get("ids") == [] or late:
                self.db[INDEX].delete_one({"_id": entry["_id"]})
        return len(sent)

    @staticmethod
    def _settle(collection, ref: str) -> None:
        """Clear `outbox_pending` once the outbox is empty, by `_id` alone (a filter on `outbox` would
        scan on FerretDB): read, clear, read again, and set it back if a push came in between."""
        doc = collection.find_one({"_id": ref}, {OUTBOX: 1})
        if doc is None or doc.get(OUTBOX):
            return
        collection.update_one({"_id": ref}, {"$set": {PENDING: False}})
        again = collection.find_one({"_id": ref}, {OUTBOX: 1})
        if again is not None and again.get(OUTBOX):
            collection.update_one({"_id": ref}, {"$set": {PENDING: True}})
