"""users' look-ups by company, by account and by link go through key documents on the real database
(issue 15): what a company or a person has is found without reading the whole collection, and data
written before the keys existed is keyed once, when the service starts."""
import pytest

from kadra_defaults.contracts.events import utcnow
from kadra_defaults.storage import KEYS_COLLECTION, new_id
from tests.support.infra import store_on_own_database
from users.storage import UsersStore
from users.storage.memberships import MEMBERSHIP_KEYS_MADE, MEMBERSHIPS

pytestmark = [pytest.mark.integration]


@pytest.fixture
def store(real_parts):
    with store_on_own_database(UsersStore, "users_keys") as store:
        yield store


_ids = new_id


def test_memberships_by_company_and_by_account_come_from_their_key_sets(store):
    now = utcnow()
    company, other, anna, ewa = _ids(), _ids(), _ids(), _ids()
    m = store.memberships
    assert m.add(company, anna, "owner", now) and m.add(company, ewa, "employee", now)
    assert m.add(other, anna, "manager", now)
    assert not m.add(company, ewa, "manager", now)  # already a member
    assert [x["account_id"] for x in m.of_company(company)] == [anna, ewa]
    assert [x["company_id"] for x in m.owners(company)] == [company]
    assert sorted(x["company_id"] for x in m.of_account(anna)) == sorted([company, other])
    assert m.remove(company, ewa, {"employee"})["account_id"] == ewa
    assert [x["account_id"] for x in m.of_company(company)] == [anna] and m.of_account(ewa) == []
    # a key whose membership is gone (a crash between the two writes) is skipped, not shown
    m._keys_added(company, "0" * 32)
    assert [x["account_id"] for x in m.of_company(company)] == [anna]
    # the reads are by key: a set's range, then each membership by _id
    plan = store.db.command("explain", {"find": KEYS_COLLECTION, "filter": {
        "_id": {"$gte": f"company-members:{company}:", "$lt": f"company-members:{company};"}}})
    assert "SCAN" not in str(plan.get("queryPlanner", plan)).replace("IXSCAN", "")


def test_memberships_from_before_the_keys_are_keyed_once_at_start(store):
    now = utcnow()
    company, anna = _ids(), _ids()
    store.db[MEMBERSHIPS].insert_one({"_id": f"{company}:{anna}", "company_id": company, "account_id": anna,
                                      "role": "owner", "joined_at": now, "updated_at": now})
    assert store.memberships.of_company(company) == []  # written by a version before the keys
    store.db[KEYS_COLLECTION].delete_one({"_id": MEMBERSHIP_KEYS_MADE})
    UsersStore.ensure_indexes(store.db)  # what a start does
    assert [x["account_id"] for x in store.memberships.of_company(company)] == [anna]
    assert [x["company_id"] for x in store.memberships.of_account(anna)] == [company]


def _invite(store, company, email, token_hash, now, expires_in=3600):
    from datetime import timedelta
    return store.invitations.create(company, email, "employee", _ids(), token_hash,
                                    now + timedelta(seconds=expires_in), now)


def test_an_invitation_is_found_by_its_link_and_a_company_lists_only_its_pending_ones(store):
    from datetime import timedelta
    now = utcnow()
    company = _ids()
    first = _invite(store, company, "ala@example.pl", "h1" * 32, now)
    second = _invite(store, company, "ola@example.pl", "h2" * 32, now)
    assert _invite(store, company, "ala@example.pl", "h3" * 32, now) is None  # one pending per address
    assert store.invitations.by_token("h3" * 32) == (None, True)  # its key went with it
    assert sorted(i["_id"] for i in store.invitations.pending(company)) == sorted([first["_id"], second["_id"]])
    assert store.invitations.by_token("h1" * 32) == (store.invitations.get(company, first["_id"]), False)
    renewed = store.invitations.renew(first, "h4" * 32, now + timedelta(hours=1), now,
                                      {"id": _ids(), "type": "mail", "payload": {}})
    assert renewed["token_hash"] == "h4" * 32
    doc, superseded = store.invitations.by_token("h1" * 32)
    assert doc["_id"] == first["_id"] and superseded
    assert store.invitations.by_token("h4" * 32)[0]["_id"] == first["_id"]
    assert store.invitations.consume(first["_id"], "h4" * 32, _ids(), now)["status"] == "accepted"
    assert store.invitations.revoke(company, second["_id"], now)["status"] == "revoked"
    assert store.invitations.pending(company) == []
    assert store.invitations.by_token("no such link") == (None, True)
    # an expired pending invitation is retired by the next invitation of the same address
    stale = _invite(store, company, "ela@example.pl", "h5" * 32, now, expires_in=-1)
    fresh = _invite(store, company, "ela@example.pl", "h6" * 32, now)
    assert fresh is not None and [i["_id"] for i in store.invitations.pending(company)] == [fresh["_id"]]
    assert store.invitations.get(company, stale["_id"])["status"] == "expired"


def test_an_ownership_offer_is_found_by_its_link_and_a_new_one_supersedes_the_pending_one(store):
    from datetime import timedelta
    now = utcnow()
    company, owner, heir = _ids(), _ids(), _ids()
    first = store.transfers.create(company, owner, heir, "t1" * 32, now + timedelta(days=1), now)
    second = store.transfers.create(company, owner, heir, "t2" * 32, now + timedelta(days=1), now)
    assert store.transfers.by_token("t1" * 32)["status"] == "superseded"
    assert store.transfers.by_token("t2" * 32)["_id"] == second["_id"] != first["_id"]
    assert store.transfers.by_token("t9" * 32) is None
    assert store.transfers.consume(second["_id"], heir, now)["status"] == "accepted"


def test_invitations_and_offers_from_before_the_keys_are_keyed_once_at_start(store):
    from datetime import timedelta

    from users.storage.invitations import INVITATION_KEYS_MADE, INVITATIONS
    from users.storage.transfers import TRANSFER_KEYS_MADE, TRANSFERS
    now = utcnow()
    company, invitation, transfer = _ids(), _ids(), _ids()
    store.db[INVITATIONS].insert_one({
        "_id": invitation, "company_id": company, "email": "ala@example.pl", "role": "employee",
        "invited_by": _ids(), "token_hash": "n1" * 32, "superseded_hashes": ["o1" * 32],
        "expires_at": now + timedelta(days=1), "status": "pending", "slot": f"{company}:ala@example.pl",
        "created_at": now, "sent_at": now, "mail_event_ids": []})
    store.db[TRANSFERS].insert_one({
        "_id": transfer, "company_id": company, "from_account_id": _ids(), "to_account_id": _ids(),
        "token_hash": "n2" * 32, "expires_at": now + timedelta(days=1), "status": "pending", "created_at": now})
    assert store.invitations.by_token("n1" * 32) == (None, True) and store.transfers.by_token("n2" * 32) is None
    store.db[KEYS_COLLECTION].delete_many({"_id": {"$in": [INVITATION_KEYS_MADE, TRANSFER_KEYS_MADE]}})
    UsersStore.ensure_indexes(store.db)  # what a start does
    assert store.invitations.by_token("n1" * 32)[0]["_id"] == invitation
    assert store.invitations.by_token("o1" * 32) == (store.invitations.get(company, invitation), True)
    assert [i["_id"] for i in store.invitations.pending(company)] == [invitation]
    assert store.transfers.by_token("n2" * 32)["_id"] == transfer
