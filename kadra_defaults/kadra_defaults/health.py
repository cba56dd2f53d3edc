"""What every service answers about itself: an RPC ping, HTTP probes and metrics."""
import logging
import time

import pika
from nameko.extensions import DependencyProvider
from nameko.rpc import Rpc, rpc
from nameko.web.handlers import http
from prometheus_client import CONTENT_TYPE_LATEST, Counter, Histogram, generate_latest
from pymongo.errors import PyMongoError

from kadra_defaults import clock, nameko_fixes, settings  # noqa: F401  (nameko_fixes applies on import)
from kadra_defaults.gc_tuning import freeze_startup_heap
from kadra_defaults.tracing import REQUEST_ID_KEY

log = logging.getLogger("kadra.rpc")

RPC_CALLS = Counter("kadra_rpc_calls_total", "RPC calls handled", ["service", "method", "outcome"])
RPC_LATENCY = Histogram(
    "kadra_rpc_duration_seconds", "RPC handling time", ["service", "method"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
)


class RpcMetrics(DependencyProvider):
    """Counts RPC calls, errors and latencies per method (and, at start, freezes the startup heap)."""

    def start(self):
        # Every extension is set up and every module imported by now (kadra_defaults.gc_tuning).
        freeze_startup_heap(self.container.service_name)

    def worker_setup(self, worker_ctx):
        worker_ctx.data.setdefault("_kadra_started", time.perf_counter())

    def worker_result(self, worker_ctx, result=None, exc_info=None):
        if not isinstance(worker_ctx.entrypoint, Rpc):
            return
        service = worker_ctx.service_name
        method = worker_ctx.entrypoint.method_name
        elapsed = time.perf_counter() - worker_ctx.data.get("_kadra_started", time.perf_counter())
        RPC_LATENCY.labels(service, method).observe(elapsed)
        outcome = "ok" if exc_info is None else exc_info[0].__name__
        RPC_CALLS.labels(service, method, outcome).inc()
        # One line per call, like an access log: the request id ties it to the gateway's line.
        log.info("rpc", extra={"method": method, "outcome": outcome, "ms": round(elapsed * 1000, 2),
                               "request_id": worker_ctx.context_data.get(REQUEST_ID_KEY)})


def broker_answers(timeout: float = 2.0) -> bool:
    """Open and close a connection to the broker: the broker is there and accepts us."""
    addresses = []  # every node of KADRA_AMQP_URI's list, tried in order: one that answers is enough
    for address in settings.amqp_uris():
        params = pika.URLParameters(address)
        params.socket_timeout = timeout
        params.blocked_connection_timeout = timeout
        params.connection_attempts = 1
        addresses.append(params)
    try:
        connection = pika.BlockingConnection(addresses)
    except Exception:  # pika raises many kinds; all mean "not ready"
        return False
    connection.close()
    return True


class HealthMixin:
    """Entry points every service shares; the service must have a Mongo store named `store`."""

    metrics = RpcMetrics()

    @rpc
    def ping(self):
        """Answer over RabbitMQ after writing and reading this service's own database."""
        return {"service": self.name, **self.store.heartbeat(self.name)}

    @rpc
    def advance_clock(self, seconds: float = 0, reset: bool = False):
        """Tests only (KADRA_ALLOW_CLOCK_CONTROL=1): shift this service's clock; returns its now()."""
        if reset:
            clock.reset()
        return clock.advance(seconds).isoformat()

    @http("GET", "/healthz")
    def http_healthz(self, request):
        """Liveness: this process's event loop answers."""
        return 200, {"Content-Type": "application/json"}, '{"status": "ok"}'

    @http("GET", "/readyz")
    def http_readyz(self, request):
        """Readiness: the broker and this service's database answer."""
        problems = []
        try:
            self.store.heartbeat(self.name)
        except PyMongoError:
            problems.append("database")
        if not broker_answers():
            problems.append("broker")
        if problems:
            body = '{"status": "unavailable", "missing": [%s]}' % ", ".join(f'"{p}"' for p in problems)
            return 503, {"Content-Type": "application/json"}, body
        return 200, {"Content-Type": "application/json"}, '{"status": "ready"}'

    @http("GET", "/metrics")
    def http_metrics(self, request):
        """Prometheus text format."""
        return 200, {"Content-Type": CONTENT_TYPE_LATEST}, generate_latest().decode()
