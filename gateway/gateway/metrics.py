"""Prometheus metrics of the gateway: requests, latencies and errors per route.

Under gunicorn every worker is its own process; prometheus_client's
multiprocess mode (PROMETHEUS_MULTIPROC_DIR, set by gunicorn_conf) adds
them up so /metrics shows the whole gateway whichever worker answers.
"""
import os
import time

from flask import Response, g, request
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest

REQUESTS = Counter("kadra_http_requests_total", "HTTP requests", ["method", "route", "status"])
LATENCY = Histogram(
    "kadra_http_request_duration_seconds", "HTTP request time", ["method", "route"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)


def _registry():
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return registry
    from prometheus_client import REGISTRY

    return REGISTRY


def install(app) -> None:
    """Time every request, labelled by its route template (never the raw path: ids would explode it)."""

    @app.before_request
    def start_timer():
        g.kadra_started = time.perf_counter()

    @app.after_request
    def record(response):
        started = g.get("kadra_started")
        if started is not None:
            route = request.url_rule.rule if request.url_rule else "unmatched"
            LATENCY.labels(request.method, route).observe(time.perf_counter() - started)
            REQUESTS.labels(request.method, route, str(response.status_code)).inc()
        return response


def metrics_response() -> Response:
    """The Prometheus text exposition."""
    return Response(generate_latest(_registry()), mimetype=CONTENT_TYPE_LATEST)
