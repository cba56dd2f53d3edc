"""The transactional outbox: how every service sends e-mail without ever losing one.

A service never publishes an e-mail event directly. It stores the event's envelope IN the same
document write that makes the e-mail necessary (one atomic single-document update, no
transaction needed), and a relay inside the same process publishes it afterwards::

    from kadra_defaults.outbox import Outbox, mail_event, with_outbox, outbox_fields

    class IdentityService(HealthMixin):
        outbox = Outbox(collections=("accounts",), service="identity")

        @rpc
        def request_password_reset(self, email):
            event = mail_event("password_reset_requested", {"to": email, "token": t, ...})
            self.store.db.accounts.update_one({"_id": account_id},
                                              with_outbox({"$set": {"reset": ...}}, event))
            self.outbox.kick()               # publish now; the relay also polls every 0.5 s
            return {"mail_event_id": event["id"]}   # notify.delivery_status([...]) shows it

The relay finds documents with ``outbox_pending: True`` in the named collections of the
service's OWN database, publishes each envelope to the mail exchange as a persistent message with
a publisher confirm, then removes exactly the confirmed envelopes (``$pullAll`` of the stored
sub-documents: FerretDB ignores ``$pull`` with a condition) and clears ``outbox_pending`` only
when the array is empty (a concurrent push keeps it set). A crash between the confirm and the
removal republishes the envelope later; notify deduplicates by envelope id.

Runs as a green thread of the nameko container: pika's BlockingConnection works under eventlet's
monkey patching (eventlet deletes ``select.poll``/``epoll``, pika falls back to the green
``select.select``), so publishing yields to the other green threads while it waits for a confirm.
The same ``OutboxRelay`` runs in a plain thread outside nameko (tests, scripts).
"""
from __future__ import annotations

import datetime as dt
import json
import logging
import threading
import time
from typing import Iterable

import pika
import pika.exceptions
from nameko.extensions import DependencyProvider
from pymongo.errors import PyMongoError

from kadra_defaults import settings
from kadra_defaults.contracts import mailbus
from kadra_defaults.contracts.events import envelope
from kadra_defaults.contracts.mail import load_payload
from kadra_defaults.storage import connect, retry_until_ready

log = logging.getLogger(__name__)

PENDING = "outbox_pending"
OUTBOX = "outbox"
POLL_INTERVAL = 0.5
BATCH_DOCUMENTS = 200
MAX_BACKOFF = 10.0


def _json_safe(value):
    if isinstance(value, (dt.datetime, dt.date)):
        return value.isoformat()
    raise TypeError(f"not JSON-serialisable: {type(value).__name__}")


def mail_event(event_type: str, payload: dict) -> dict:
    """Validate an e-mail event's payload now (a bad one is never stored) and wrap it in an envelope.

    Raises ``mail_events.UnknownMailEvent`` (a ValueError) or ``marshmallow.ValidationError``.
    The envelope holds the caller's payload as JSON (datetimes become ISO strings), not the
    deserialised one, so it can be stored and published as is.
    """
    if not isinstance(payload, dict):
        raise ValueError("a mail event payload must be a dict")
    safe = json.loads(json.dumps(payload, default=_json_safe))
    load_payload(event_type, safe)
    return envelope(event_type, safe)


def with_outbox(update: dict, *envelopes: dict) -> dict:
    """The caller's pymongo update document plus pushing the envelopes and marking the outbox pending."""
    if not envelopes:
        return dict(update)
    result = dict(update)
    push = dict(result.get("$push") or {})
    if OUTBOX in push:
        raise ValueError("the update already pushes to 'outbox'")
    push[OUTBOX] = {"$each": list(envelopes)}
    result["$push"] = push
    set_ = dict(result.get("$set") or {})
    set_[PENDING] = True
    result["$set"] = set_
    return result


def outbox_fields(*envelopes: dict) -> dict:
    """Fields to put into a new document so its envelopes get published."""
    return {OUTBOX: list(envelopes), PENDING: bool(envelopes)}


def ensure_outbox_indexes(db, collections: Iterable[str]) -> None:
    for name in collections:
        db[name].create_index(PENDING, name="outbox_pending")


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
    """Publishes the outbox of documents in `collections` of `db`; `run()` loops until `stop()`."""

    def __init__(self, db, collections: Iterable[str], *, service: str = "", amqp_uri: str | None = None,
                 poll_interval: float = POLL_INTERVAL):
        self.db = db
        self.collections = tuple(collections)
        self.service = service
        self.publisher = Publisher(amqp_uri)
        self.poll_interval = poll_interval
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._outage_since = None
        self.published = 0

    def kick(self) -> None:
        """Publish as soon as possible (call right after a write that stored envelopes)."""
        self._wake.set()

    def stop(self) -> None:
        self._stopping.set()
        self._wake.set()

    def run(self) -> None:
        backoff = self.poll_interval
        while not self._stopping.is_set():
            self._wake.clear()
            try:
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
            if not published:  # more may be waiting behind a full batch: look again at once
                self._wake.wait(self.poll_interval)
        self.publisher.close()

    def _outage(self, what: str, exc: Exception) -> None:
        if self._outage_since is None:  # once per outage, not once per try
            self._outage_since = time.monotonic()
            log.warning("mail outbox relay: %s unavailable, retrying with backoff", what,
                        extra={"error": f"{type(exc).__name__}: {exc}"})

    def relay_once(self) -> int:
        """Publish every pending envelope once; returns how many were published.

        One `update_one` per document, on purpose: FerretDB (SQLite) wedged a database on a
        `bulk_write` of 200 `$pullAll` updates in our tests.
        """
        count = 0
        for name in self.collections:
            collection = self.db[name]
            docs = list(collection.find({PENDING: True}, {OUTBOX: 1}).limit(BATCH_DOCUMENTS))
            for doc in docs:
                if self._stopping.is_set():
                    return count
                sent = []
                try:
                    for item in doc.get(OUTBOX) or []:
                        self.publisher.publish(item)
                        sent.append(item)
                finally:
                    if sent:  # remove exactly what the broker confirmed, even if a later publish failed
                        collection.update_one({"_id": doc["_id"]}, {"$pullAll": {OUTBOX: sent}})
                        count += len(sent)
                        self.published += len(sent)
                collection.update_one({"_id": doc["_id"], OUTBOX: {"$size": 0}}, {"$set": {PENDING: False}})
        if count == 0:
            self.publisher.idle()
        return count


class OutboxHandle:
    """What a worker gets from `Outbox`: `kick()` after a write that stored envelopes."""

    def __init__(self, relay: OutboxRelay | None):
        self._relay = relay

    def kick(self) -> None:
        if self._relay is not None:
            self._relay.kick()


class Outbox(DependencyProvider):
    """The outbox relay of one service: publishes envelopes stored in `collections` of its own database."""

    def __init__(self, collections: Iterable[str], service: str | None = None,
                 poll_interval: float = POLL_INTERVAL):
        self.collections = tuple(collections)
        self.service = service
        self.poll_interval = poll_interval
        self.client = None
        self.relay = None
        self._thread = None

    def setup(self):
        service = self.service or self.container.service_name
        self.client = connect()
        db = self.client[settings.current().database_name(service)]
        retry_until_ready(lambda: ensure_outbox_indexes(db, self.collections), f"{service} outbox indexes")
        self.relay = OutboxRelay(db, self.collections, service=service, poll_interval=self.poll_interval)

    def start(self):
        self._thread = self.container.spawn_managed_thread(self.relay.run, identifier="outbox_relay")

    def stop(self):
        if self.relay is not None:
            self.relay.stop()
        if self._thread is not None:
            self._thread.wait()
            self._thread = None
        if self.client is not None:
            self.client.close()
            self.client = None

    def kill(self):
        if self.relay is not None:
            self.relay.stop()
        if self._thread is not None:
            self._thread.kill()
            self._thread = None
        if self.client is not None:
            self.client.close()
            self.client = None

    def get_dependency(self, worker_ctx):
        return OutboxHandle(self.relay)
