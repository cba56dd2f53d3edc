"""The shape prod runs, under faults: two processes of every service and two gateways on the three-node
RabbitMQ cluster with quorum queues, invitations sent over both gateways at a steady pace (each 201 an
acknowledged request and a promised e-mail), and

- one RabbitMQ node SIGKILLed (the first of KADRA_AMQP_URI's list, where every client is connected),
  started again OUTAGE_SECONDS later while the load goes on: no acknowledged request loses its e-mail,
  nothing is sent twice (the relay republishes what the dead node never confirmed; notify's send claims
  and message log drop what was already sent);
- the first process of every service SIGKILLed: its twin carries on; at most one duplicate, for the
  one notify killed (the at-most-one-duplicate-per-crash promise).

Reports: artifacts/reliability/cluster-replicated-*.json. Runs with the cluster (KADRA_TEST_CLUSTER=1):
`make reliability` (long form) and `make reliability-cluster`.
"""
import os
import signal
import time

import pytest

from tests.support import cluster
from tests.support import reliability as faults
from tests.support.infra import wait_until
from tests.support.systems import spread_session
from tests.support.users import sign_up

pytestmark = [pytest.mark.integration, pytest.mark.cluster, pytest.mark.slow, pytest.mark.reliability]


@pytest.fixture(scope="module")
def running(replicated_cluster_system):
    return replicated_cluster_system[0]


@pytest.fixture
def api(running):
    with spread_session(running) as session:
        yield session


@pytest.fixture
def tenants(api):
    return [sign_up(api, prefix="rel-owner") for _ in range(faults.TENANTS)]


def test_a_broker_node_sigkilled_under_load_loses_no_acknowledged_request(api, running, mailbox, tenants):
    def fault():
        started = time.monotonic()
        os.kill(cluster.pid(1), signal.SIGKILL)
        time.sleep(faults.OUTAGE_SECONDS)
        cluster.up()  # the node starts again and rejoins, under the same load
        return {"_spent": time.monotonic() - started, "killed": cluster.node_name(1),
                "node_down_s": round(time.monotonic() - started, 1)}

    try:
        load, extra = faults._under_load(api, tenants, fault)
    finally:
        cluster.up()
    wait_until(lambda: faults.replicas_ready(running), 90, what="every replica ready after the node loss")
    counts, missing = faults.deliveries(mailbox, load.promised(), timeout=180)
    result = faults.report("cluster-replicated-node-loss", load, counts, missing, extra)
    faults._assert_nothing_lost(result, missing)
    assert result["emails_duplicated"] == 0
    assert running.dead() == []


def test_one_replica_of_every_service_sigkilled_on_the_cluster_loses_no_email(api, running, mailbox, tenants):
    faults.replica_of_each_killed_under_load("cluster-replicated-sigkill", api, running, mailbox, tenants)
