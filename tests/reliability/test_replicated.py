"""Faults in the shape Kubernetes runs: two processes of every service, two gateways, the load spread
over both gateways. A SIGKILLed replica's work in hand goes to its twin (the broker gives its
unacknowledged messages back; its send claims and relay lease are taken over); a rolling restart of
every replica loses nothing. Reports land beside the others (artifacts/reliability/replicated-*.json).
"""
import time

import pytest

from tests.support import reliability as faults
from tests.support.users import sign_up

pytestmark = [pytest.mark.reliability, pytest.mark.slow]

SERVICES = faults.SERVICES


@pytest.fixture
def api(replicated_api):
    return replicated_api


@pytest.fixture
def tenants(api):
    return [sign_up(api, prefix="rel-owner") for _ in range(faults.TENANTS)]


def test_one_replica_of_every_service_sigkilled_under_load_loses_no_email(api, replicated_system, mailbox, tenants):
    faults.replica_of_each_killed_under_load("replicated-sigkill", api, replicated_system, mailbox, tenants)


def test_rolling_restart_of_every_replica_under_load(api, replicated_system, mailbox, tenants):
    running = replicated_system
    load = faults.RetryingInvitationLoad(api, tenants)
    load.start()
    try:
        time.sleep(2)
        for name in SERVICES:
            for process in running.processes(name):
                running.rolling_restart(process, service=name)
                time.sleep(1)
    finally:
        time.sleep(3)
        load.stop()
    counts, missing = faults.deliveries(mailbox, load.promised(), timeout=180)
    result = faults.report("replicated-rolling-restart", load, counts, missing,
                           {"first_attempt_failures": load.first_attempt_failures})
    assert result["failed"] == 0, result["by_status"]
    assert missing == []
    assert result["emails_duplicated"] == 0
