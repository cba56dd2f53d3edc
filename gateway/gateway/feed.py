"""The gateway's invalidation feed: small messages every gunicorn worker hears within a second.

Services publish `{"kind": "<kind>", "data": {...}}` (JSON) to the fanout exchange
`kadra.gateway.feed` (kadra_defaults.contracts.feed). Each gateway worker process runs one daemon
thread (started lazily after fork, on first use) with its own pika connection and an exclusive,
auto-delete queue bound to that exchange, and hands every message to the callbacks subscribed to
its kind.

Messages are transient: whatever a worker might have missed while it was disconnected is
recovered by the `resync` callbacks, which run on every (re)connect *after* the queue is bound and
*before* any queued message is delivered, so nothing published in between is lost. Callbacks and
resyncs all run on the feed thread, one at a time. A subscriber whose local state is only
trustworthy while the feed is live asks `feed.live()` and falls back to asking the service.

create_app makes one Feed per app (gateway.state) and subscribes the revocation set and the
copies to it::

    feed.subscribe("membership", memberships.on_change, resync=memberships.clear)
    feed.ensure_started()       # cheap; call it on the request path
    if not feed.live(): ...     # be safe: ask the service instead of the copy
"""
import json
import logging
import os
import threading
import time
from collections import defaultdict

import pika

from kadra_defaults.contracts.feed import EXCHANGE, EXCHANGE_TYPE
from gateway.rpc import connection_parameters

log = logging.getLogger(__name__)

RECONNECT_MIN, RECONNECT_MAX = 0.2, 2.0
HEARTBEAT = 5


class Feed:
    """One per app (so per worker process): a consumer thread, the subscriptions and the state of the link.

    `enabled=False` (tests: KADRA_FEED_DISABLED) never starts the thread, so the feed is never live.
    """

    def __init__(self, amqp_uri: str, enabled: bool = True):
        self.amqp_uri = amqp_uri
        self.enabled = enabled
        self._callbacks = defaultdict(list)
        self._resyncs = []
        self._tasks = []  # [every seconds, task, last run]
        self._lock = threading.Lock()
        self._pid = None
        self._thread = None
        self._live = False
        self._resync_wanted = False

    # subscriptions

    def subscribe(self, kind: str, callback, resync=None) -> None:
        """`callback(data)` for each message of `kind`; `resync()` on every (re)connect (may raise: retried)."""
        with self._lock:
            if callback not in self._callbacks[kind]:
                self._callbacks[kind].append(callback)
            if resync is not None and resync not in self._resyncs:
                self._resyncs.append(resync)
                if self._live:
                    # Subscribed while already live: this subscriber has not synced yet.
                    self._live = False
                    self._resync_wanted = True

    def every(self, seconds: float, task) -> None:
        """Run `task()` on the feed thread as soon as the feed is live, then every `seconds` while it is."""
        with self._lock:
            self._tasks.append([seconds, task, 0.0])

    # state

    def live(self) -> bool:
        """Connected, bound and re-synced: local state built from the feed is current."""
        return self._live and self._pid == os.getpid()

    # the thread

    def ensure_started(self) -> None:
        """Start this process's consumer thread if it isn't running (safe after fork)."""
        if not self.enabled:
            return
        pid = os.getpid()
        if self._pid == pid and self._thread is not None and self._thread.is_alive():
            return
        with self._lock:
            if self._pid == pid and self._thread is not None and self._thread.is_alive():
                return
            self._pid = pid
            self._live = False
            self._thread = threading.Thread(target=self._run, name="kadra-feed", daemon=True)
            self._thread.start()

    def _run(self) -> None:
        pause = RECONNECT_MIN
        while True:
            connection = None
            try:
                connection = pika.BlockingConnection(
                    connection_parameters(self.amqp_uri, "kadra-gateway-feed", heartbeat=HEARTBEAT))
                channel = connection.channel()
                channel.exchange_declare(EXCHANGE, exchange_type=EXCHANGE_TYPE, durable=True)
                queue = channel.queue_declare("", exclusive=True, auto_delete=True).method.queue
                channel.queue_bind(queue, EXCHANGE)
                channel.basic_consume(queue, self._on_message, auto_ack=True)
                # Bound first, then re-synced: a message published meanwhile waits in our queue.
                self._run_resyncs()
                self._live = True
                pause = RECONNECT_MIN
                log.info("feed live", extra={"queue": queue})
                self._run_tasks(due_only=False)
                while True:
                    if self._resync_wanted:
                        self._live = False
                        self._run_resyncs()
                        self._live = True
                    connection.process_data_events(time_limit=0.5)
                    self._run_tasks(due_only=True)
            except Exception as exc:  # pika raises many kinds; every one means "reconnect"
                if self._live:
                    log.warning("feed lost, reconnecting", extra={"error": exc.__class__.__name__})
                self._live = False
            finally:
                if connection is not None and connection.is_open:
                    try:
                        connection.close()
                    except Exception:  # already broken
                        pass
            time.sleep(pause)
            pause = min(pause * 2, RECONNECT_MAX)

    def _run_resyncs(self) -> None:
        self._resync_wanted = False
        with self._lock:
            resyncs = list(self._resyncs)
        for resync in resyncs:
            resync()

    def _run_tasks(self, due_only: bool) -> None:
        now = time.monotonic()
        with self._lock:
            due = [entry for entry in self._tasks if not due_only or now - entry[2] > entry[0]]
        for entry in due:
            entry[2] = now
            entry[1]()

    def _on_message(self, channel, method, properties, body) -> None:
        try:
            message = json.loads(body)
            kind, data = message["kind"], message.get("data") or {}
        except (ValueError, KeyError, TypeError):
            log.warning("feed: undecodable message ignored")
            return
        for callback in list(self._callbacks.get(kind, ())):
            try:
                callback(data)
            except Exception:
                log.exception("feed callback failed", extra={"kind": kind})
