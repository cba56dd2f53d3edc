"""Faults in the shape Kubernetes runs: two processes of every service, two gateways, the load spread
over both gateways. A SIGKILLed replica's work in hand goes to its twin (the broker gives its
unacknowledged messages back; its send claims and relay lease are taken over); a rolling restart of
every replica loses nothing. Reports land beside the others (artifacts/reliability/replicated-*.json).
"""
import signal
import time

import pytest

from tests.support import reliability as faults
from tests.support.infra import wait_until
from tests.support.users import sign_up

pytestmark = [pytest.mark.reliability, pytest.mark.slow]

SERVICES = ("identity", "users", "devices", "notify")


@pytest.fixture
def api(replicated_api):
    return replicated_api


@pytest.fixture
def tenants(api):
    return [sign_up(api, prefix="rel-owner") for _ in range(faults.TENANTS)]


def _ready(running) -> bool:
    return not running._replicas_not_ready() and running.readyz(timeout=3)[0] == 200


def test_one_replica_of_every_service_sigkilled_under_load_loses_no_email(api, replicated_system, mailbox, tenants):
    running = replicated_system

    def fault():
        started = time.monotonic()
        for name in SERVICES:  # the first process of each; its twin carries on
            running.stop_process(name, sig=signal.SIGKILL)
            time.sleep(1)
        for name in SERVICES:
            running.start_service(name)
        return {"_spent": time.monotonic() - started, "killed": list(SERVICES)}

    load, extra = faults._under_load(api, tenants, fault)
    wait_until(lambda: _ready(running), 90, what="every replica ready after the kills")
    counts, missing = faults.deliveries(mailbox, load.promised(), timeout=180)
    result = faults.report("replicated-sigkill", load, counts, missing, extra)
    faults._assert_nothing_lost(result, missing)
    assert result["emails_duplicated"] <= 1, "more than one duplicate for the one notify killed"
    assert running.dead() == []


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
