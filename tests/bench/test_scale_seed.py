"""`make bench-scale`'s seeding (bench/scale_seed.py) at a tiny scale on the real database: what it writes
reads back through the services' own stores, with the keys, numbers and due slots they keep, and the
one-off passes' markers in place (so the services do not re-run them over the seeded data)."""
import os
import sys
import uuid

import pytest

from devices.storage import DevicesStore
from identity.passwords import verify_password
from identity.storage import IdentityStore
from kadra_defaults.storage import connect
from notify.storage import NotifyStore
from users.storage import UsersStore

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "bench"))
import scale_seed  # noqa: E402
from memory_db import Unsupported  # noqa: E402

pytestmark = pytest.mark.integration

SCALE = 0.001  # 100 accounts, 30 companies, 150 memberships, 300 audit entries, 200 sessions, 100 e-mails, 20 devices
URI = "mongodb://127.0.0.1:27017/"
SERVICES = ("identity", "users", "devices", "notify")


@pytest.fixture(scope="module")
def seeded(real_parts):
    prefix = f"kt{uuid.uuid4().hex[:8]}"
    with open(os.devnull, "w") as quiet:
        meta = scale_seed.seed(URI, prefix, SCALE, out=quiet)
    client = connect(URI)
    yield {"client": client, "prefix": prefix, "meta": meta, "db": lambda s: client[f"{prefix}_{s}"]}
    for service in SERVICES:
        client.drop_database(f"{prefix}_{service}")
    client.close()


def test_volumes_are_written(seeded):
    db, v = seeded["db"], scale_seed.volumes(SCALE)
    assert v == {"accounts": 100, "companies": 30, "memberships": 150, "audit": 300, "sessions": 200,
                 "emails": 100, "devices": 20}
    assert db("identity").accounts.count_documents({}) == 100
    assert db("identity").sessions.count_documents({}) == 200
    assert db("identity").sessions.count_documents({"ended_at": {"$ne": None}}) == 67  # every third
    assert db("users").companies.count_documents({}) == 30
    assert db("users").memberships.count_documents({}) == 150
    assert db("users").audit.count_documents({}) == 300
    assert db("devices").trusted_devices.count_documents({}) == 20
    assert db("notify").messages.count_documents({}) == 100
    assert seeded["meta"]["documents"] > 1000


def test_accounts_are_found_by_address_and_share_one_password(seeded):
    store = IdentityStore(seeded["db"]("identity"))
    account = store.accounts.by_email("Osoba0000007@firma0007.example.pl")
    assert account is not None and account["status"] == "active"
    assert verify_password(account["password_hash"], scale_seed.PASSWORD)
    other = store.accounts.by_email("osoba0000042@firma0042.example.pl")
    assert other["password_hash"] == account["password_hash"]
    assert store.accounts.by_email("osoba0000100@firma0100.example.pl") is None  # only 100 were made


def test_owners_companies_memberships_and_audit_pages(seeded):
    ident, users = IdentityStore(seeded["db"]("identity")), UsersStore(seeded["db"]("users"))
    owner = ident.accounts.by_email("osoba0000000@firma0000.example.pl")
    company_id = owner["signup_company_id"]
    assert users.companies.get(company_id)["owner_account_id"] == owner["_id"]
    assert users.memberships.get(company_id, owner["_id"])["role"] == "owner"
    stored = seeded["db"]("users").audit.count_documents({"company_id": company_id})
    assert stored >= 30  # a tenth of every entry is the accounting office's
    entries, total = users.audit.page(company_id, 1, 20)
    assert total == stored
    assert [e["number"] for e in entries] == list(range(total, total - 20, -1))
    assert [e["at"] for e in entries] == sorted((e["at"] for e in entries), reverse=True)
    last, _ = users.audit.page(company_id, (total + 19) // 20, 20)
    assert last[-1]["number"] == 1


def test_sessions_and_e_mails_are_in_due_buckets(seeded):
    ident = seeded["db"]("identity")
    sessions = {d["_id"] for d in ident.sessions.find({}, {"_id": 1})}
    slots = {d["ref"] for d in ident.expiries.find({"_id": {"$regex": "^sessions:[0-9]+:[0-9]+$"}})}
    assert sessions <= slots
    notify = seeded["db"]("notify")
    messages = {d["_id"] for d in notify.messages.find({}, {"_id": 1})}
    assert messages <= {d["ref"] for d in notify.expiries.find({"_id": {"$regex": "^messages:[0-9]+:[0-9]+$"}})}
    assert NotifyStore(notify).get(next(iter(messages)))["status"] == "sent"


def test_devices_and_markers_of_the_one_off_passes(seeded):
    db = seeded["db"]
    device = db("devices").trusted_devices.find_one({})
    assert DevicesStore(db("devices")).get_device(device["_id"])["account_id"] == device["account_id"]
    assert IdentityStore(db("identity")).accounts.by_id(device["account_id"]) is not None
    assert db("identity").keys.find_one({"_id": "made:email-keys:v1"})
    assert db("identity").expiries.find_one({"_id": "made-due:sessions:v1"})
    assert db("users").audit_numbers.find_one({"_id": "made:audit-numbers:v1"})
    assert db("notify").expiries.find_one({"_id": "made-due:messages:v1"})


def test_seeding_refuses_a_database_that_holds_its_documents(seeded):
    with pytest.raises(RuntimeError, match="seed into empty databases"):
        with open(os.devnull, "w") as quiet:
            scale_seed.seed(URI, seeded["prefix"], SCALE, out=quiet)


def test_the_stand_in_refuses_what_it_cannot_answer_as_the_database_would():
    db = scale_seed.MemoryDatabase("x")
    db.things.insert_one({"_id": "a", "n": 1})
    with pytest.raises(Unsupported):
        db.things.find_one({"n": 1})
    with pytest.raises(Unsupported):
        db.things.update_one({"_id": "a"}, {"$pull": {"n": 1}})
    with pytest.raises(Unsupported):
        db.things.find({})
    db.things.insert_one({"_id": "b", "n": 2})
    assert db.things.find({"_id": {"$in": ["b", "zz", "a"]}}) == [{"_id": "b", "n": 2}, {"_id": "a", "n": 1}]
    with pytest.raises(Unsupported):
        db.things.find({"_id": {"$in": ["a"]}, "n": 1})
    db.things.update_one({"_id": "a", "n": 1}, {"$max": {"n": 5}, "$set": {"m": [1]}})
    assert db.things.find_one({"_id": "a"}) == {"_id": "a", "n": 5, "m": [1]}
    assert db.things.update_one({"_id": "a", "n": 1}, {"$set": {"n": 9}}).matched_count == 0
