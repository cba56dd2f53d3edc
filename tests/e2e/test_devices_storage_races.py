"""The devices store's claims under real concurrency on the real database (no gateway in between).

Through the gateway the tests' two sync workers let at most two requests in at
once; here 50 threads hit the database together, which is what the unique
index and the insert/delete claims must survive.
"""
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from pymongo.errors import DuplicateKeyError

from devices.storage import DevicesStore, new_epoch
from kadra_defaults.contracts.events import utcnow
from tests.support.infra import store_on_own_database

pytestmark = pytest.mark.integration


@pytest.fixture
def store(real_parts):
    with store_on_own_database(DevicesStore, "devices_race") as store:
        yield store


def _at_once(call, n):
    with ThreadPoolExecutor(n) as pool:
        return list(pool.map(lambda i: call(i), range(n)))


def _device(account_id, i=0):
    return {"_id": uuid.uuid4().hex, "account_id": account_id, "name": f"p{i}", "platform": "android",
            "public_key": "k", "pin_epoch": new_epoch(), "failed_pins": 0, "blocked_at": None,
            "activated_at": utcnow()}


def test_fifty_simultaneous_inserts_for_one_account_leave_one_device(store):
    for _ in range(5):
        account = uuid.uuid4().hex

        def insert(i):
            try:
                store.insert_device(_device(account, i))
                return True
            except DuplicateKeyError:
                return False

        assert sum(_at_once(insert, 50)) == 1
        assert store.db.trusted_devices.count_documents({"account_id": account}) == 1


def test_forty_simultaneous_pin_checks_reserve_exactly_five_slots_before_any_pin_is_hashed(store):
    device = _device(uuid.uuid4().hex)
    store.insert_device(device)
    checks = _at_once(lambda i: store.reserve_pin_check(device, utcnow()), 40)
    assert sorted(c[0] for c in checks if c is not None) == [1, 2, 3, 4, 5]
    assert {c[1] for c in checks if c is not None} == {device["pin_epoch"]}
    assert checks.count(None) == 35


def test_a_slot_reserved_before_this_code_counts_too(store):
    """Slots written by the code before the AttemptCounter (`<device>:<epoch>:<n>`, no hint) are honoured."""
    device = _device(uuid.uuid4().hex)
    store.insert_device(device)
    for slot in (1, 2, 3):
        store.db.wrong_pins.insert_one({"_id": f"{device['_id']}:{device['pin_epoch']}:{slot}",
                                        "device_id": device["_id"], "epoch": device["pin_epoch"], "slot": slot,
                                        "at": utcnow()})
    assert [store.reserve_pin_check(device, utcnow()) for _ in range(3)] == [
        (4, device["pin_epoch"]), (5, device["pin_epoch"]), None]


def test_a_right_pin_starts_a_new_epoch_and_a_late_wrong_fifth_of_the_old_one_blocks_nothing(store):
    device = _device(uuid.uuid4().hex)
    store.insert_device(device)
    checks = [store.reserve_pin_check(device, utcnow()) for _ in range(5)]
    assert store.record_login(device, utcnow(), pin_check=checks[2])  # the third was right
    fresh = store.get_device(device["_id"])
    assert fresh["pin_epoch"] != device["pin_epoch"] and fresh["failed_pins"] == 0
    assert not store.mark_blocked(device["_id"], checks[4][1], utcnow())  # the fifth, wrong, came late
    assert store.get_device(device["_id"])["blocked_at"] is None
    # the old epoch's numbers stay taken (for an hour), the new epoch has all five
    assert store.reserve_pin_check(device, utcnow()) == (1, fresh["pin_epoch"])
    assert store.db.wrong_pins.find_one({"_id": f"{device['_id']}:{device['pin_epoch']}:1"})["expires_at"] < \
        utcnow() + timedelta(hours=2)


def test_a_challenge_is_spent_by_exactly_one_of_twenty(store):
    now = utcnow()
    spent = _at_once(lambda i: store.spend_challenge("c1.x.1.n.m", now + timedelta(minutes=2)), 20)
    assert spent.count(True) == 1


def test_a_device_is_removed_by_exactly_one_of_twenty(store):
    device = _device(uuid.uuid4().hex)
    store.insert_device(device)
    removed = _at_once(lambda i: store.delete_device(device["_id"], utcnow(), "removed"), 20)
    assert sum(1 for r in removed if r is not None) == 1
    assert store.db.removed_devices.count_documents({"device_id": device["_id"]}) == 1
