"""The gateway's invalidation feed: small messages every gunicorn worker hears within a second.

Services publish `{"kind": "<kind>", "data": {...}}` (JSON) to the fanout
exchange `kadra.gateway.feed`. Each gateway worker process runs one daemon
thread (started lazily after fork, on first use) with its own pika
connection and an exclusive, auto-delete queue bound to that exchange, and
hands every message to the callbacks subscribed to its kind.

Messages are transient: whatever a worker might have missed while it was
disconnected is recovered by the `resync` callbacks, which run on every
(re)connect *after* the queue is bound and *before* any queued message is
delivered, so nothing published in between is lost. A subscriber whose
local state is only trustworthy while the feed is live asks `feed.live()`
(or `feed.down_for()`) and falls back to asking the service.

Usage (e.g. a permission cache)::

    from gateway import feed
    feed.subscribe("membership", on_change, resync=clear_cache)
    feed.ensure_started()       # cheap; call it on the request path
    if not feed.live(): ...     # be safe: ask the service instead of the cache

Deferred calls: `feed.call_later(service, method, **kwargs)` keeps an RPC in
a spool folder on disk (`KADRA_GATEWAY_SPOOL_DIR`) and the feed thread makes
the call once the broker answers again (used where an answer must be given
while the broker is down, e.g. forgot-password).
"""
import hashlib
import json
import logging
import os
import threading
import time
import uuid
from collections import defaultdict

import pika
from pika.exceptions import AMQPError

from kadra_defaults import settings

log = logging.getLogger(__name__)

EXCHANGE = "kadra.gateway.feed"
SPOOL_ENV = "KADRA_GATEWAY_SPOOL_DIR"
DEFAULT_SPOOL = ".kadra/spool"
RECONNECT_MIN, RECONNECT_MAX = 0.2, 2.0
HEARTBEAT = 5
SPOOL_SCAN_EVERY = 5.0


class Feed:
    """One per process: a consumer thread, the subscriptions and the state of the link."""

    def __init__(self, amqp_uri: str | None = None, rpc_factory=None):
        self.amqp_uri = amqp_uri
        self._callbacks = defaultdict(list)
        self._resyncs = []
        self._lock = threading.Lock()
        self._pid = None
        self._thread = None
        self._stop = threading.Event()
        self._live = False
        self._down_since = time.monotonic()
        self._rpc_factory = rpc_factory
        self._rpc = None
        self._last_spool_scan = 0.0
        self.connects = 0

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
                    self._down_since = time.monotonic()
                    self._resync_wanted = True

    _resync_wanted = False

    # state

    def live(self) -> bool:
        """Connected, bound and re-synced: local state built from the feed is current."""
        return self._live and self._pid == os.getpid()

    def down_for(self) -> float:
        """Seconds since the feed stopped being live (0 while live)."""
        return 0.0 if self.live() else time.monotonic() - self._down_since

    # the thread

    def ensure_started(self) -> None:
        """Start this process's consumer thread if it isn't running (safe after fork)."""
        pid = os.getpid()
        if self._pid == pid and self._thread is not None and self._thread.is_alive():
            return
        with self._lock:
            if self._pid == pid and self._thread is not None and self._thread.is_alive():
                return
            self._pid = pid
            self._live = False
            self._down_since = time.monotonic()
            self._stop.clear()
            self._rpc = None
            self._thread = threading.Thread(target=self._run, name="kadra-feed", daemon=True)
            self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        thread = self._thread
        if thread is not None:
            thread.join(timeout)
        self._thread = None
        self._live = False

    def _params(self) -> pika.URLParameters:
        params = pika.URLParameters(self.amqp_uri or settings.current().amqp_uri)
        params.socket_timeout = 2
        params.stack_timeout = 3
        params.blocked_connection_timeout = 5
        params.connection_attempts = 1
        params.heartbeat = HEARTBEAT
        params.client_properties = {"connection_name": f"kadra-gateway-feed-{os.getpid()}"}
        return params

    def _run(self) -> None:
        pause = RECONNECT_MIN
        while not self._stop.is_set():
            connection = None
            try:
                connection = pika.BlockingConnection(self._params())
                channel = connection.channel()
                channel.exchange_declare(EXCHANGE, exchange_type="fanout", durable=True)
                queue = channel.queue_declare("", exclusive=True, auto_delete=True).method.queue
                channel.queue_bind(queue, EXCHANGE)
                channel.basic_consume(queue, self._on_message, auto_ack=True)
                # Bound first, then re-synced: a message published meanwhile waits in our queue.
                self._run_resyncs()
                self.connects += 1
                self._live = True
                pause = RECONNECT_MIN
                log.info("feed live", extra={"queue": queue})
                self._replay_spool()
                while not self._stop.is_set():
                    if self._resync_wanted:
                        self._live = False
                        self._run_resyncs()
                        self._live = True
                    connection.process_data_events(time_limit=0.5)
                    if time.monotonic() - self._last_spool_scan > SPOOL_SCAN_EVERY:
                        self._replay_spool()
            except Exception as exc:  # pika raises many kinds; every one means "reconnect"
                if self._live:
                    log.warning("feed lost, reconnecting", extra={"error": exc.__class__.__name__})
                    self._down_since = time.monotonic()
                self._live = False
            finally:
                self._live = False if self._stop.is_set() else self._live
                if connection is not None and connection.is_open:
                    try:
                        connection.close()
                    except Exception:  # already broken
                        pass
            if self._stop.is_set():
                break
            if not self._live:
                self._stop.wait(pause)
                pause = min(pause * 2, RECONNECT_MAX)

    def _run_resyncs(self) -> None:
        self._resync_wanted = False
        with self._lock:
            resyncs = list(self._resyncs)
        for resync in resyncs:
            resync()

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

    # deferred calls

    def spool_dir(self) -> str:
        """KADRA_GATEWAY_SPOOL_DIR, else a folder per broker address, so two systems on one machine
        (make run and a test run) never make each other's calls."""
        configured = settings.current().gateway_spool_dir
        if configured:
            return configured
        uri = self.amqp_uri or settings.current().amqp_uri
        return os.path.join(DEFAULT_SPOOL, "gateway-" + hashlib.sha256(uri.encode()).hexdigest()[:12])

    def call_later(self, service: str, method: str, **kwargs) -> str:
        """Keep `service.method(**kwargs)` on disk; the feed thread calls it once the broker answers."""
        folder = self.spool_dir()
        os.makedirs(folder, mode=0o700, exist_ok=True)
        name = f"{time.time():.6f}-{uuid.uuid4().hex}"
        tmp = os.path.join(folder, f".{name}.tmp")
        with open(tmp, "w") as f:
            json.dump({"service": service, "method": method, "kwargs": kwargs}, f)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o600)
        os.rename(tmp, os.path.join(folder, f"{name}.json"))
        return name

    def _spool_rpc(self):
        if self._rpc is None:
            if self._rpc_factory is not None:
                self._rpc = self._rpc_factory()
            else:
                from gateway.rpc import RpcClient

                self._rpc = RpcClient(self.amqp_uri)
        return self._rpc

    def _replay_spool(self) -> None:
        """Make every spooled call; a file is claimed by an atomic rename, so one worker makes each."""
        self._last_spool_scan = time.monotonic()
        folder = self.spool_dir()
        try:
            listing = os.listdir(folder)
        except FileNotFoundError:
            return
        for name in listing:  # claimed by a worker that died before finishing: put back
            base, sep, pid = name.rpartition(".claimed-")
            if sep and pid.isdigit() and not _alive(int(pid)):
                try:
                    os.rename(os.path.join(folder, name), os.path.join(folder, base))
                except OSError:
                    pass
        names = sorted(n for n in os.listdir(folder) if n.endswith(".json"))
        for name in names:
            path = os.path.join(folder, name)
            claimed = f"{path}.claimed-{os.getpid()}"
            try:
                os.rename(path, claimed)
            except FileNotFoundError:
                continue  # another worker took it
            try:
                with open(claimed) as f:
                    call = json.load(f)
                self._spool_rpc().call(call["service"], call["method"], **call["kwargs"])
            except (ValueError, KeyError):
                log.error("spool: unreadable call dropped", extra={"file": name})
                os.unlink(claimed)
                continue
            except Exception as exc:
                from gateway import rpc

                if isinstance(exc, rpc.RemoteError):
                    log.error("spool: call refused, dropped", extra={"file": name, "exc_path": exc.exc_path})
                    os.unlink(claimed)
                    continue
                os.rename(claimed, path)  # try again later
                log.warning("spool: call failed, kept", extra={"file": name, "error": exc.__class__.__name__})
                return
            os.unlink(claimed)
            log.info("spool: deferred call made", extra={"service": call["service"], "method": call["method"]})


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


_feed = Feed()


def subscribe(kind: str, callback, resync=None) -> None:
    """Subscribe this process to messages of `kind` (see the module doc)."""
    _feed.subscribe(kind, callback, resync)


def ensure_started() -> None:
    _feed.ensure_started()


def live() -> bool:
    return _feed.live()


def down_for() -> float:
    return _feed.down_for()


def call_later(service: str, method: str, **kwargs) -> str:
    """Spool the call and make sure this process's feed thread runs (it makes the call once it can)."""
    name = _feed.call_later(service, method, **kwargs)
    ensure_started()
    return name


def get() -> Feed:
    """This process's Feed."""
    return _feed


def publish_message(channel, kind: str, data: dict) -> None:
    """Publish one feed message on a pika channel (used by tests and tools)."""
    channel.exchange_declare(EXCHANGE, exchange_type="fanout", durable=True)
    channel.basic_publish(EXCHANGE, "", json.dumps({"kind": kind, "data": data}),
                          pika.BasicProperties(content_type="application/json"))


_MISSING = object()


class Copies:
    """A process's copies of answers from a service, kept current by this feed.

    `drop(key)` or `drop(where=...)` (from a feed callback) and `clear()` (the resync on every (re)connect) drop
    copies and bump a generation counter; `put` keeps an answer only if no change happened since the
    caller read `generation()` before asking, and only while the feed is live. A copy is re-asked after
    `ttl` seconds anyway. Subclasses decide what a message of their kind drops (`on_change`).
    """

    def __init__(self, ttl: float, max_entries: int):
        self.ttl = ttl
        self.max_entries = max_entries
        self._lock = threading.Lock()
        self._entries: dict = {}
        self._generation = 0

    def on_change(self, data) -> None:  # pragma: no cover - every subclass says
        raise NotImplementedError

    def drop(self, key=_MISSING, where=None) -> None:
        """Drop the copy at `key`, or every copy (key, value) for which `where` is true, or all."""
        with self._lock:
            self._generation += 1
            if key is not _MISSING:
                self._entries.pop(key, None)
            elif where is not None:
                for k in [k for k, (_, value) in self._entries.items() if where(k, value)]:
                    del self._entries[k]
            else:
                self._entries.clear()

    def clear(self) -> None:
        """Forget everything (the feed's resync on every (re)connect)."""
        self.drop()

    def generation(self) -> int:
        with self._lock:
            return self._generation

    def get(self, key, default=None):
        entry = self._entries.get(key)
        return entry[1] if entry is not None and entry[0] > time.monotonic() else default

    def put(self, key, value, generation: int) -> None:
        with self._lock:
            # Only if nothing changed while we asked: an answer from before a change must not stay.
            if generation == self._generation and live():
                if len(self._entries) >= self.max_entries:
                    self._entries.clear()
                self._entries[key] = (time.monotonic() + self.ttl, value)

    def __len__(self) -> int:
        return len(self._entries)
