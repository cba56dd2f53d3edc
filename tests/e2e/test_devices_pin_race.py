"""The device's 5 wrong PINs hold under concurrency (journey 7): the attack, against the real services.

Whoever holds the device key (a copied phone) sends 40 wrong PINs at once, each with its own fresh challenge.
At most 5 PINs may be checked before the device is blocked — counted when the check happens, not after, so
parallel requests cannot all slip past a count that was still 4 — and the rest answer 423. On two devices
replicas as on one: the count lives in the database, never in a process.
"""
import os
import urllib.request

import pytest

from tests.support.devices import concurrently, device_doc, devices_log, phone_with_pin, refusals, sign_up
from tests.support.infra import free_port, wait_until

pytestmark = pytest.mark.e2e

WRONG_PIN = "950173"
CHECKED = ("wrong_pin", "wrong_pin_while_blocked")  # the refusals logged after a PIN was really checked


def _checked(system, device_id: str, names=("devices",)) -> int:
    return sum(1 for reason in refusals(system, device_id, names) if reason in CHECKED)


def _forty_wrong_pins(api, mongo, system_env, system, names):
    phone = phone_with_pin(api, sign_up(api))
    challenges = [phone.new_challenge() for _ in range(40)]
    kept = phone.new_challenge()
    responses = concurrently([lambda c=c: phone.login_pin(WRONG_PIN, challenge=c) for c in challenges], workers=40)
    statuses = sorted(r.status_code for r in responses)
    # 504: the gateway stopped waiting (its RPC timeout, 4 s) for one of the five checks on a loaded machine;
    # the check itself went on and counted (the device's state and the log below say so).
    assert set(statuses) <= {401, 423, 504} and statuses.count(504) <= 1, statuses
    assert statuses.count(401) + statuses.count(504) in (4, 5) and statuses.count(423) >= 35, statuses
    left = sorted(int(r.json()["attempts_left"]) for r in responses if r.status_code == 401)
    assert len(set(left)) == len(left) and set(left) <= {1, 2, 3, 4}, left  # each slot answered once
    assert 504 in statuses or left == [1, 2, 3, 4], left
    stored = device_doc(mongo, system_env, phone.device_id)
    assert stored["blocked_at"] and stored["failed_pins"] == 5
    wait_until(lambda: _checked(system, phone.device_id, names) >= 5, 5, what="the checks logged")
    assert _checked(system, phone.device_id, names) == 5
    # the right PIN is refused too now (it is not even checked), and no new challenge is issued
    assert phone.login_pin(challenge=kept).status_code == 423
    assert phone.challenge().status_code == 423
    assert _checked(system, phone.device_id, names) == 5


def test_forty_parallel_wrong_pins_check_at_most_five_then_423(api, mongo, system_env, system):
    _forty_wrong_pins(api, mongo, system_env, system, ("devices",))


@pytest.mark.slow
def test_forty_parallel_wrong_pins_on_two_devices_replicas_check_at_most_five(api, mongo, system_env, system):
    """A second devices process on the same queue: the requests are shared between the two."""
    from system import BIN, ROOT

    port = free_port()
    system._spawn("devices-replica", [os.path.join(BIN, "kadra-service"), "devices"],
                  {"KADRA_HEALTH_PORT": str(port), "KADRA_ROOT": ROOT})

    def replica_ready():
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=2) as response:
                return response.status == 200
        except OSError:
            return False

    try:
        wait_until(replica_ready, 60, what="the second devices replica ready")
        _forty_wrong_pins(api, mongo, system_env, system, ("devices", "devices-replica"))
        served = {entry.get("device_id") for entry in devices_log(system, ("devices-replica",))
                  if entry.get("msg") == "device login refused"}
        assert served, "the second replica served none of the logins"
    finally:
        system.stop_process("devices-replica")
