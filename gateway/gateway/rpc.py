"""One long-lived RPC client per gateway process, speaking nameko's RPC protocol over pika.

Why not nameko's ClusterRpcProxy: it is built for eventlet and does not
reconnect by itself; the gateway runs plain gunicorn workers and needs every
call bounded by a timeout and a broker restart healed on the next request.

Protocol (nameko 2.x): a request goes to the topic exchange `nameko-rpc`
with routing key `<service>.<method>`, body `{"args": [...], "kwargs": {...}}`,
`reply_to` = the routing key our reply queue is bound with, a
`correlation_id`, and context data as `nameko.<key>` headers. The answer
comes back as `{"result": ..., "error": null | {exc_path, exc_type, value, exc_args}}`.
"""
import json
import logging
import os
import threading
import time
import uuid

import pika
from pika.exceptions import AMQPError

from kadra_defaults import settings
from kadra_defaults.tracing import current_request_id
from gateway.rpc_errors import (BrokerUnavailable, CallTimeout, RemoteError, RpcError,  # noqa: F401 (rpc.*)
                                ServiceUnavailable, _RecentlyFailed)

log = logging.getLogger(__name__)

RPC_EXCHANGE = "nameko-rpc"
HEADER_PREFIX = "nameko"
# After a failed connect, don't try again for this long: a broker outage
# then costs callers one fast 503, not a connect timeout each.
RECONNECT_PAUSE = 1.0


def connection_parameters(amqp_uri: str, name: str, heartbeat: int) -> list[pika.URLParameters]:
    """One connect attempt per broker address with short timeouts (a broker outage costs seconds, not
    minutes), named per process. KADRA_AMQP_URI may list a cluster's nodes (';' between them): pika
    tries them in order, so a node that is down costs one refused connect, then the next answers."""
    found = []
    for address in settings.amqp_uris(amqp_uri):
        params = pika.URLParameters(address)
        params.socket_timeout = 2
        params.stack_timeout = 3
        params.blocked_connection_timeout = 5
        params.connection_attempts = 1
        params.heartbeat = heartbeat
        params.client_properties = {"connection_name": f"{name}-{os.getpid()}"}
        found.append(params)
    return found


class _Call:
    __slots__ = ("service", "method", "done", "result", "error")

    def __init__(self, service, method):
        self.service = service
        self.method = method
        self.done = False
        self.result = None
        self.error = None


class RpcClient:
    """Calls nameko services; safe to share between threads of one process.

    The connection is opened on first use (so after gunicorn forks) and
    re-opened after a failure; every call is bounded by `timeout` seconds.
    """

    def __init__(self, amqp_uri: str | None = None, timeout: float | None = None):
        self.amqp_uri = amqp_uri or settings.current().amqp_uri
        self.timeout = timeout if timeout is not None else settings.current().rpc_timeout
        self._lock = threading.RLock()
        self._pid = None
        self._connection = None
        self._channel = None
        self._reply_key = None
        self._pending: dict[str, _Call] = {}
        self._last_failed_connect = 0.0

    # connection management

    def _connect(self, *, pause: bool = True):
        if pause and time.monotonic() - self._last_failed_connect < RECONNECT_PAUSE:
            raise _RecentlyFailed("broker unavailable (recent connect failed)")
        try:
            # No heartbeats: a sync worker can sit idle for long; a dead link is
            # found by the non-blocking poll before each publish instead.
            connection = pika.BlockingConnection(connection_parameters(self.amqp_uri, "kadra-gateway", heartbeat=0))
            channel = connection.channel()
            reply_key = uuid.uuid4().hex
            queue = f"rpc.reply-gateway-{reply_key}"
            # Declared as nameko declares it (durable topic; declaring again is a no-op): a gateway that
            # connects before any service has started must not take the missing exchange (404 on the bind)
            # for a broker outage and answer 503 for RECONNECT_PAUSE. A call then is "no service bound".
            channel.exchange_declare(RPC_EXCHANGE, exchange_type="topic", durable=True)
            channel.queue_declare(queue, exclusive=True, auto_delete=True)
            channel.queue_bind(queue, RPC_EXCHANGE, routing_key=reply_key)
            channel.basic_consume(queue, self._on_reply, auto_ack=True)
            channel.add_on_return_callback(self._on_return)
        except (AMQPError, OSError) as exc:
            self._last_failed_connect = time.monotonic()
            raise BrokerUnavailable(f"broker unavailable: {exc.__class__.__name__}") from exc
        self._connection, self._channel, self._reply_key = connection, channel, reply_key
        self._pid = os.getpid()
        log.info("rpc client connected", extra={"reply_key": reply_key})

    def _reset(self):
        connection = self._connection
        self._connection = self._channel = self._reply_key = None
        self._pending.clear()
        if connection is not None:
            try:
                connection.close()
            except Exception:  # already dead: nothing to close
                pass

    def _ensure_connected(self, *, pause: bool = True):
        if self._pid != os.getpid():
            # A forked child must never use its parent's socket.
            self._connection = self._channel = None
            self._pending.clear()
        if self._connection is not None:
            try:
                # Non-blocking poll: notices a connection the broker closed.
                self._connection.process_data_events(time_limit=0)
            except (AMQPError, OSError):
                self._reset()
        if self._connection is None or not self._connection.is_open:
            self._reset()
            self._connect(pause=pause)

    def close(self):
        """Close the connection (the next call opens a new one)."""
        with self._lock:
            self._reset()

    # callbacks

    def _on_reply(self, channel, method, properties, body):
        call = self._pending.get(properties.correlation_id)
        if call is None:
            return  # a late answer to a call that already timed out
        try:
            message = json.loads(body)
        except ValueError:
            call.error = RpcError("undecodable reply")
        else:
            error = message.get("error")
            if error:
                call.error = RemoteError(error.get("exc_path", ""), error.get("exc_type", ""),
                                         error.get("value", ""), error.get("exc_args"))
            else:
                call.result = message.get("result")
        call.done = True

    def _on_return(self, channel, method, properties, body):
        call = self._pending.get(properties.correlation_id)
        if call is not None:
            call.error = ServiceUnavailable(call.service)
            call.done = True

    # calls

    def _publish(self, correlation_id: str, service: str, method: str, args, kwargs, timeout: float):
        headers = {}
        request_id = current_request_id()
        if request_id:
            headers[f"{HEADER_PREFIX}.request_id"] = request_id
        headers[f"{HEADER_PREFIX}.call_id_stack"] = [f"gateway.{method}.{correlation_id}"]
        self._channel.basic_publish(
            exchange=RPC_EXCHANGE,
            routing_key=f"{service}.{method}",
            body=json.dumps({"args": list(args), "kwargs": kwargs}),
            properties=pika.BasicProperties(
                content_type="application/json",
                content_encoding="utf-8",
                reply_to=self._reply_key,
                correlation_id=correlation_id,
                headers=headers,
                # A request nobody took in time must not run later.
                expiration=str(int(timeout * 1000)),
            ),
            mandatory=True,
        )

    def call_many(self, calls, timeout: float | None = None) -> list:
        """Send several calls at once and wait for all; returns a result or an RpcError per call."""
        timeout = self.timeout if timeout is None else timeout
        with self._lock:
            ids = []
            try:
                self._ensure_connected()
            except _RecentlyFailed as exc:
                return [exc for _ in calls]
            except BrokerUnavailable:
                # One failed connect (a slow handshake on a busy node, a cluster node going away) is
                # tried once more at once; a second failure is an outage: the pause then answers fast.
                try:
                    self._ensure_connected(pause=False)
                except BrokerUnavailable as exc:
                    return [exc for _ in calls]
            try:
                for service, method, args, kwargs in calls:
                    correlation_id = uuid.uuid4().hex
                    self._pending[correlation_id] = _Call(service, method)
                    self._publish(correlation_id, service, method, args, kwargs, timeout)
                    ids.append(correlation_id)
                deadline = time.monotonic() + timeout
                while not all(self._pending[c].done for c in ids):
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        break
                    self._connection.process_data_events(time_limit=min(remaining, 0.25))
            except (AMQPError, OSError) as exc:
                self._reset()
                return [BrokerUnavailable(f"broker connection lost: {exc.__class__.__name__}") for _ in calls]
            results = []
            for correlation_id, (service, method, _, _) in zip(ids, calls):
                call = self._pending.pop(correlation_id)
                if not call.done:
                    results.append(CallTimeout(service, method, timeout))
                elif call.error is not None:
                    results.append(call.error)
                else:
                    results.append(call.result)
            if any(isinstance(result, CallTimeout) for result in results):
                # The next call opens a fresh connection and channel. Seen on a RabbitMQ 3.10 cluster: a
                # channel opened while a node that led quorum queues had just died kept routing requests
                # nowhere (no reply, no return) for good, while a new channel reached the service at once.
                self._reset()
            return results

    def call(self, service: str, method: str, *args, timeout: float | None = None, **kwargs):
        """Call `service.method(*args, **kwargs)` and return its result or raise an RpcError."""
        (result,) = self.call_many([(service, method, args, kwargs)], timeout=timeout)
        if isinstance(result, Exception):
            raise result
        return result

    def __getattr__(self, service: str):
        if service.startswith("_"):
            raise AttributeError(service)
        return _ServiceProxy(self, service)


class PerThreadRpcClient:
    """One `RpcClient` (one connection, one reply queue) per thread of the process.

    A gthread gunicorn worker serves several requests at once; each thread calls
    services on its own connection, so one request's RPC never waits for another's.
    """

    def __init__(self, factory=RpcClient):
        self._factory = factory
        self._local = threading.local()
        self._clients: list[RpcClient] = []
        self._clients_lock = threading.Lock()

    def _client(self) -> RpcClient:
        client = getattr(self._local, "client", None)
        if client is None:
            client = self._local.client = self._factory()
            with self._clients_lock:
                self._clients.append(client)
        return client

    def call_many(self, calls, timeout: float | None = None) -> list:
        return self._client().call_many(calls, timeout=timeout)

    def call(self, service: str, method: str, *args, timeout: float | None = None, **kwargs):
        return self._client().call(service, method, *args, timeout=timeout, **kwargs)

    def close(self):
        """Close every thread's connection (each opens a new one on its next call)."""
        with self._clients_lock:
            clients = list(self._clients)
        for client in clients:
            client.close()

    def __getattr__(self, service: str):
        if service.startswith("_"):
            raise AttributeError(service)
        return _ServiceProxy(self, service)


class _ServiceProxy:
    """`rpc.users.get_company(...)` sugar over `rpc.call("users", "get_company", ...)`."""

    def __init__(self, client: RpcClient, service: str):
        self._client = client
        self._service = service

    def __getattr__(self, method: str):
        def call(*args, **kwargs):
            return self._client.call(self._service, method, *args, **kwargs)
        return call
