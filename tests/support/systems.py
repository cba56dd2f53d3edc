"""A Kadra of a test's own: its vhost, databases, ports and settings, started as `make run` starts one.

    with own_system(system_env, "keys", tmp_path_factory, KADRA_JWT_KEYS_DIR=...) as running:
        ...

For tests that change what the session's `system` must keep (its keys, its limits, its broker).
"""
import contextlib
import itertools
import os
import sys
import uuid

import requests

from tests.support.infra import ROOT, create_vhost, delete_vhost, free_port

sys.path.insert(0, os.path.join(ROOT, "scripts"))
from system import SERVICES, System  # noqa: E402


@contextlib.contextmanager
def own_system(base_env: dict, tag: str, tmp_path_factory, workers: int = 2, kind=System, replicas: int = 1,
               **settings):
    """Started and ready; stopped, its databases dropped and its vhost deleted afterwards. `kind` makes the
    System (scripts/image_system.py's ImageSystem: the same from the container image); `replicas` processes
    of every service and gateways."""
    run = uuid.uuid4().hex[:8]
    vhost = f"kadra-{tag}-{run}"
    create_vhost(vhost)
    port = free_port()
    env = dict(base_env, KADRA_AMQP_URI=f"amqp://guest:guest@127.0.0.1:5672/{vhost}",
               KADRA_MONGO_DB_PREFIX=f"k{tag[:1]}{run}", KADRA_GATEWAY_PORT=str(port),
               KADRA_PUBLIC_URL=f"http://127.0.0.1:{port}",
               KADRA_GATEWAY_SPOOL_DIR=str(tmp_path_factory.mktemp(f"{tag}-spool")), **settings)
    running = kind(env, str(tmp_path_factory.mktemp(f"{tag}-logs")), gateway_port=port,
                     health_ports={name: free_port() for name in SERVICES}, gateway_workers=workers,
                     replicas=replicas)
    try:
        running.start()
        running.wait_ready(timeout=120)
        yield running
    finally:
        running.stop()
        from tests.conftest import _drop_databases
        _drop_databases(env["KADRA_MONGO_DB_PREFIX"])
        delete_vhost(vhost)


def spread_session(running) -> requests.Session:
    """An HTTP session whose `url(path)` names each of the system's gateways in turn."""
    gateways = itertools.cycle(running.base_urls)
    session = requests.Session()
    session.base = running.base_url
    session.url = lambda path: next(gateways) + path
    return session
