"""An account's trusted device is found by a key document on the real database (issue 15), the unique
index still refusing a second device, and devices from before the key are keyed once at start."""
import uuid

import pytest
from pymongo.errors import DuplicateKeyError

from devices.storage import DEVICE_KEYS_MADE, DevicesStore
from kadra_defaults.contracts.events import utcnow
from kadra_defaults.storage import KEYS_COLLECTION
from tests.support.infra import store_on_own_database

pytestmark = [pytest.mark.integration]


@pytest.fixture
def store(real_parts):
    with store_on_own_database(DevicesStore, "devices_keys") as store:
        yield store


def _device(account_id):
    return {"_id": uuid.uuid4().hex, "account_id": account_id, "name": "Pixel", "platform": "android",
            "blocked_at": None, "activated_at": utcnow()}


def test_the_device_of_an_account_comes_from_its_key_and_goes_with_the_device(store, monkeypatch):
    monkeypatch.setattr("devices.storage.KEY_HOLDER_WAIT", 0.1)
    account = uuid.uuid4().hex
    first = _device(account)
    store.insert_device(first)
    assert store.device_of_account(account)["_id"] == first["_id"]
    with pytest.raises(DuplicateKeyError):
        store.insert_device(_device(account))  # one device per account
    assert store.device_of_account(account)["_id"] == first["_id"]
    assert store.device_of_account(uuid.uuid4().hex) is None and store.device_of_account({"$ne": 1}) is None
    assert store.delete_device(first["_id"], utcnow(), "removed")["_id"] == first["_id"]
    assert store.device_of_account(account) is None
    second = _device(account)
    store.insert_device(second)  # the account's key went with the first device
    assert store.device_of_account(account)["_id"] == second["_id"]


def test_devices_from_before_the_key_are_keyed_once_at_start(store):
    account = uuid.uuid4().hex
    device = _device(account)
    store.db.trusted_devices.insert_one(device)
    assert store.device_of_account(account) is None  # written by a version before the keys
    store.db[KEYS_COLLECTION].delete_one({"_id": DEVICE_KEYS_MADE})
    DevicesStore.ensure_indexes(store.db)
    assert store.device_of_account(account)["_id"] == device["_id"]
