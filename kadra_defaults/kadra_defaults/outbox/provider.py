"""`Outbox`, the nameko dependency that runs a service's outbox relay as a managed green thread; workers get
`kick()`."""
from __future__ import annotations

from typing import Iterable

from nameko.extensions import DependencyProvider

from kadra_defaults import settings
from kadra_defaults.outbox.relay import POLL_INTERVAL, OutboxRelay
from kadra_defaults.outbox.writes import ensure_outbox_indexes
from kadra_defaults.storage import connect, retry_until_ready

RELAY_LEASE_TTL = 10.0  # a replica's relay that stops renewing is taken over this long after


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
        self.relay = OutboxRelay(db, self.collections, service=service, poll_interval=self.poll_interval,
                                 lease_ttl=RELAY_LEASE_TTL)

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
