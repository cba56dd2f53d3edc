"""gunicorn settings for the gateway (`gunicorn -c python:gateway.gunicorn_conf ...`)."""
import os as _os
import shutil as _shutil
import tempfile as _tempfile

from kadra_defaults import settings as _settings

_current = _settings.check_or_exit("gateway")  # a bad setting stops the start with one line

if _current.management_port == _current.gateway_port:
    import sys as _sys

    _sys.stderr.write(f"gateway: KADRA_MANAGEMENT_PORT must differ from KADRA_GATEWAY_PORT "
                      f"({_current.gateway_port}): metrics never share the public port\n")
    raise SystemExit(2)
# The public port (the API, the web app, /healthz, /readyz, the JWKS) and the management port
# (/metrics, /healthz, /readyz): gateway.app.ByPort sends each request to its app by the port it came in on.
bind = [f"0.0.0.0:{_current.gateway_port}", f"0.0.0.0:{_current.management_port}"]
workers = _current.gateway_workers
# gthread, not sync: a sync worker blocks on a connection that sends nothing (Chrome's
# preconnect sockets) until `timeout`, so a few of them stalled whole page loads;
# gthread parks idle connections in a selector. Each thread has its own RPC connection.
worker_class = "gthread"
threads = _current.gateway_threads
# A request waits for at most one RPC timeout; more than that is a hang.
timeout = 30
graceful_timeout = 25
keepalive = 5
accesslog = None  # the app logs one JSON line per request, without query strings (they may hold tokens)
errorlog = "-"
loglevel = "info"

_metrics_dir = _os.environ.get("PROMETHEUS_MULTIPROC_DIR") or _os.path.join(
    _tempfile.gettempdir(), f"kadra-gateway-metrics-{_os.getpid()}")


def on_starting(server):
    """Start each run with an empty metrics folder, named to the workers (forked after this) by the environment.

    Set here, not when this file is imported: importing it (a test does) must not change the process."""
    _os.environ["PROMETHEUS_MULTIPROC_DIR"] = _metrics_dir
    _shutil.rmtree(_metrics_dir, ignore_errors=True)
    _os.makedirs(_metrics_dir, exist_ok=True)


def child_exit(server, worker):
    """Forget a dead worker's live gauges."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


def post_worker_init(worker):
    """The app is loaded: keep its objects out of the garbage collector's full passes (kadra_defaults.gc_tuning)."""
    from kadra_defaults.gc_tuning import freeze_startup_heap

    freeze_startup_heap(f"gateway worker {worker.pid}")
