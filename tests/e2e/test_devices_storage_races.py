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


def test_twenty_simultaneous_wrong_pins_take_exactly_five_slots(store):
    device = _device(uuid.uuid4().hex)
    store.insert_device(device)
    slots = _at_once(lambda i: store.count_wrong_pin(device, utcnow()), 20)
    assert sorted(s for s in slots if s is not None) == [1, 2, 3, 4, 5]
    assert slots.count(None) == 15
    assert store.all_slots_taken(device)


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
