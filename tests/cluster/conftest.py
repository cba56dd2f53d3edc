"""Suites against the three-node RabbitMQ cluster (`make cluster`, scripts/rabbit_cluster.sh).

They start three more RabbitMQ nodes (about a minute the first time, ~1 GB of memory), so they run only
when asked: KADRA_TEST_CLUSTER=1 (`make test-cluster`). The machine's single node is never touched.
"""
import os

import pytest

from tests.support import cluster


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
