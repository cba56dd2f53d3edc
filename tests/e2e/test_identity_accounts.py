"""identity's accounts on the real database: found by address through key documents, never by a scan."""
from datetime import timedelta

import pytest
from pymongo import MongoClient
from pymongo.errors import DuplicateKeyError

from identity.storage import IdentityStore
from identity.storage.accounts import EMAIL_KEYS_MADE, STALE_KEY
from kadra_defaults import clock
from kadra_defaults.storage import KEYS_COLLECTION
from tests.support.infra import command_log, store_on_own_database

pytestmark = pytest.mark.integration


@pytest.fixture
def accounts(real_parts):
    with store_on_own_database(IdentityStore, "identity_accounts") as store:
        yield store.accounts


def account(account_id, email, status="active"):
    return {"_id": account_id, "email": email, "email_norm": email.strip().lower(), "status": status,
            "created_at": clock.now()}


def test_an_account_is_found_by_its_address_with_key_look_ups_only(accounts):
    for i in range(50):
        accounts.insert(account(f"a{i}", f"user{i}@example.com"))
    accounts.insert(account("p1", "Pending@Example.com", status="pending"))
    log = command_log()
    host, port = accounts.db.client.address
    client = MongoClient(f"mongodb://{host}:{port}/", event_listeners=[log], tz_aware=True)
    try:
        watched = IdentityStore(client[accounts.db.name]).accounts
        assert watched.by_email(" USER7@example.com ")["_id"] == "a7"
        assert watched.by_email("nobody@example.com") is None
        assert watched.by_email("pending@example.com") is None  # not active
        assert watched.by_email("pending@example.com", active_only=False)["_id"] == "p1"
    finally:
        client.close()
    finds = [body for name, body in log.commands if name == "find"]
    assert finds and all(set(body["filter"]) == {"_id"} and isinstance(body["filter"]["_id"], str) for body in finds)


def test_a_taken_address_is_refused_and_a_key_left_by_a_failed_write_is_taken_over_once_stale(accounts):
    accounts.insert(account("a1", "ala@example.com"))
    with pytest.raises(DuplicateKeyError):
        accounts.insert(account("a2", "ALA@example.com"))
    assert accounts.by_email("ala@example.com")["_id"] == "a1"
    accounts.email_keys.put("ola@example.com", "ghost")  # a sign-up that died before its account was written
    with pytest.raises(DuplicateKeyError):  # young: its account may be about to be written
        accounts.insert(account("a3", "ola@example.com"))
    accounts.email_keys.collection.update_one({"_id": "email:ola@example.com"},
                                              {"$set": {"at": clock.now() - STALE_KEY - timedelta(seconds=1)}})
    accounts.insert(account("a3", "ola@example.com"))
    assert accounts.by_email("ola@example.com")["_id"] == "a3"


def test_a_changed_address_moves_its_key_and_a_pending_account_removed_frees_it(accounts):
    accounts.insert(account("a1", "ala@example.com"))
    accounts.insert(account("a2", "ola@example.com"))
    with pytest.raises(DuplicateKeyError):
        accounts.change_email("a1", "ala@example.com", "ola@example.com")
    assert accounts.by_email("ola@example.com")["_id"] == "a2"
    assert accounts.change_email("a1", "ala@example.com", "Ala.New@example.com")["email_norm"] == "ala.new@example.com"
    assert accounts.by_email("ala@example.com") is None
    assert accounts.by_email("ala.new@example.com")["_id"] == "a1"
    assert accounts.change_email("a1", "ala@example.com", "other@example.com") is None  # not its address now
    assert accounts.by_email("other@example.com") is None
    accounts.insert(account("p1", "pending@example.com", status="pending"))
    accounts.delete_pending("p1")
    accounts.insert(account("p2", "pending@example.com", status="pending"))


def test_accounts_from_before_the_keys_get_theirs_once(accounts):
    db = accounts.db
    db.accounts.insert_one(account("old", "old@example.com"))  # written by a version without keys
    assert accounts.by_email("old@example.com") is None
    db[KEYS_COLLECTION].delete_one({"_id": EMAIL_KEYS_MADE})
    IdentityStore.ensure_indexes(db)
    assert accounts.by_email("old@example.com")["_id"] == "old"
    assert db[KEYS_COLLECTION].find_one({"_id": EMAIL_KEYS_MADE}) is not None
