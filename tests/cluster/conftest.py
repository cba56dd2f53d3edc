"""Suites against the three-node RabbitMQ cluster (`make cluster`, scripts/rabbit_cluster.sh).

They start three more RabbitMQ nodes (about a minute the first time, ~1 GB of memory), so they run only
when asked: KADRA_TEST_CLUSTER=1 (`make test-cluster`). The machine's single node is never touched.
"""
import contextlib
import os
import sys
import uuid

import pytest

from tests.support import cluster
from tests.support.cluster import ClusterVhost
from tests.support.infra import ROOT, free_port

sys.path.insert(0, os.path.join(ROOT, "scripts"))
from system import SERVICES, System  # noqa: E402


def pytest_collection_modifyitems(config, items):
    if os.environ.get("KADRA_TEST_CLUSTER") == "1":
        return
    skip = pytest.mark.skip(reason="needs the three-node cluster: KADRA_TEST_CLUSTER=1 (make test-cluster)")
    for item in items:
        if "tests/cluster/" in str(item.fspath):
            item.add_marker(skip)


@pytest.fixture(scope="session")
def rabbit_cluster(real_parts):
    cluster.up()
    return cluster


@contextlib.contextmanager
def _system_on_cluster(system_env, tmp_path_factory, replicas: int, timeout: float):
    """The whole system on the cluster: a vhost of its own, KADRA_AMQP_URI listing the three nodes, quorum."""
    vhost = ClusterVhost()
    run_id = uuid.uuid4().hex[:8]
    port = free_port()
    env = dict(system_env, KADRA_AMQP_URI=vhost.uri, KADRA_AMQP_QUEUE_TYPE="quorum",
               KADRA_MONGO_DB_PREFIX=f"kq{run_id}", KADRA_GATEWAY_PORT=str(port),
               KADRA_PUBLIC_URL=f"http://127.0.0.1:{port}",
               KADRA_GATEWAY_SPOOL_DIR=str(tmp_path_factory.mktemp("spool")))
    running = System(env, str(tmp_path_factory.mktemp("logs")), gateway_port=port,
                     health_ports={name: free_port() for name in SERVICES}, gateway_workers=1, replicas=replicas)
    running.start()
    try:
        running.wait_ready(timeout=timeout)
        yield running, vhost
    finally:
        running.stop()
        vhost.delete()
        from tests.conftest import _drop_databases
        _drop_databases(f"kq{run_id}")


@pytest.fixture(scope="module")
def cluster_system(rabbit_cluster, system_env, tmp_path_factory):
    """One process of everything on the cluster."""
    with _system_on_cluster(system_env, tmp_path_factory, replicas=1, timeout=180) as running:
        yield running


@pytest.fixture(scope="module")
def replicated_cluster_system(rabbit_cluster, system_env, tmp_path_factory):
    """The shape prod runs: two processes of every service and two gateways, on the three-node cluster."""
    with _system_on_cluster(system_env, tmp_path_factory, replicas=2, timeout=240) as running:
        yield running
