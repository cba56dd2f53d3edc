"""The users service's rules, worker by worker.

Real: the service class, its store and schemas, the role catalogue. Faked: the database is
mongomock (same pymongo API, in memory — the real FerretDB is exercised by tests/e2e), and the
other services (identity, notify), the gateway feed and the outbox relay are nameko's mocks.
"""
from datetime import datetime, timezone

from unittest.mock import Mock

import mongomock
import pytest
from nameko.testing.services import worker_factory

from kadra_defaults import clock
from kadra_defaults.contracts.events import envelope
from kadra_defaults.contracts.mail import load_payload
from users.exceptions import Conflict, Forbidden, InvalidInput, NotFound, TokenInvalid
from users.links import hash_of
from users.service import UsersService
from users.storage import AUDIT, INVITATIONS, MEMBERSHIPS, UsersStore


@pytest.fixture
def db():
    database = mongomock.MongoClient(tz_aware=True)["kt_users"]
    UsersStore.ensure_indexes(database)
    return database


@pytest.fixture
def accounts():
    return {}


@pytest.fixture
def factors():
    """account_id -> the second factors identity has on for it (["totp"])."""
    return {}


@pytest.fixture
def service(db, accounts, factors):
    svc = worker_factory(UsersService, store=UsersStore(db))
    svc.identity.get_accounts.side_effect = lambda ids: [accounts[i] for i in ids if i in accounts]
    svc.identity.get_accounts.call_async.side_effect = lambda ids: Mock(
        result=lambda: [accounts[i] for i in ids if i in accounts])
    svc.identity.find_account.side_effect = lambda email: next(
        (a for a in accounts.values() if a["email"] == email), None)
    svc.identity.second_factors_of.side_effect = lambda ids: {i: list(factors.get(i, [])) for i in ids if i in accounts}
    svc.notify.delivery_status.side_effect = lambda ids: {i: {"status": "sent", "attempts": 1} for i in ids}
    return svc


@pytest.fixture
def make_account(accounts):
    def make(name, email=None, locale="pl"):
        account_id = f"acc{len(accounts) + 1:029d}"
        accounts[account_id] = {"account_id": account_id, "email": email or f"{name.lower()}@example.com",
                                "full_name": name, "locale": locale}
        return account_id
    return make


@pytest.fixture
def company(service, make_account):
    """A company with an owner, a manager, an employee and a warehouse keeper (joined directly)."""
    owner = make_account("Jan")
    company_id = service.create_company(owner, "Majama Michał Zając", "key-1")["company_id"]
    people = {"owner": owner}
    for role in ("manager", "employee", "warehouse"):
        people[role] = make_account(role.capitalize())
        service.store.memberships.add(company_id, people[role], role, clock.now())
    return company_id, people


def invite_and_token(service, company_id, actor, email, role="warehouse"):
    answer = service.invite(company_id, actor, email, role)
    doc = service.store.db[INVITATIONS].find_one({"_id": answer["invitation_id"]})
    return answer, doc["outbox"][-1]["payload"]["token"]


def test_create_company_is_idempotent_per_creation_key(service, make_account):
    owner = make_account("Jan")
    first = service.create_company(owner, "Firma", "signup-123")
    again = service.create_company(owner, "Firma", "signup-123")
    assert first == again
    assert service.companies_of(owner) == [{"company_id": first["company_id"], "name": "Firma", "role": "owner",
                                            "second_factor_required": False}]
    assert service.store.db[MEMBERSHIPS].count_documents({}) == 1


@pytest.mark.parametrize("name", ["", "   ", "x" * 201, 42, None])
def test_create_company_refuses_bad_names_naming_the_field(service, make_account, name):
    with pytest.raises(InvalidInput) as error:
        service.create_company(make_account("Jan"), name, None)
    assert error.value.details["errors"][0]["field"] == "name"
    assert service.store.db["companies"].count_documents({}) == 0


def test_invitation_is_stored_with_its_email_in_the_same_document(service, company):
    company_id, people = company
    answer, token = invite_and_token(service, company_id, people["owner"], " Magazyn@Example.com ")
    doc = service.store.db[INVITATIONS].find_one({"_id": answer["invitation_id"]})
    assert doc["email"] == "magazyn@example.com" and doc["outbox_pending"] is True
    payload = load_payload("member_invited", doc["outbox"][0]["payload"])
    assert payload["role_label"] == "magazynier" and payload["company_name"] == "Majama Michał Zając"
    assert len(token) >= 22 and doc["token_hash"] == hash_of(token) and token not in str(doc["token_hash"])
    service.outbox.kick.assert_called()


def test_second_invitation_of_the_same_address_is_refused(service, company):
    company_id, people = company
    service.invite(company_id, people["owner"], "a@example.com", "employee")
    with pytest.raises(Conflict):
        service.invite(company_id, people["manager"], "A@example.com", "warehouse")
    assert service.store.db[INVITATIONS].count_documents({}) == 1


def test_inviting_a_member_is_refused(service, company, accounts):
    company_id, people = company
    with pytest.raises(Conflict) as error:
        service.invite(company_id, people["owner"], accounts[people["employee"]]["email"], "manager")
    assert error.value.details["errors"][0]["field"] == "email"


@pytest.mark.parametrize("email, role, field", [
    ("not-an-email", "employee", "email"), ("a@example.com", "owner", "role"), ("a@example.com", "boss", "role"),
    ("a@example.com", 7, "role"), (None, "employee", "email"), ("a" * 250 + "@example.com", "employee", "email"),
])
def test_bad_invitations_name_the_field_and_store_nothing(service, company, email, role, field):
    company_id, people = company
    with pytest.raises(InvalidInput) as error:
        service.invite(company_id, people["owner"], email, role)
    assert field in [e["field"] for e in error.value.details["errors"]]
    assert all(e["message"] and e["message_pl"] for e in error.value.details["errors"])
    assert service.store.db[INVITATIONS].count_documents({}) == 0


@pytest.mark.parametrize("role", ["employee", "warehouse"])
def test_employee_and_warehouse_manage_nobody(service, company, role):
    company_id, people = company
    with pytest.raises(Forbidden):
        service.invite(company_id, people[role], "x@example.com", "employee")
    with pytest.raises(Forbidden):
        service.change_role(company_id, people[role], people["warehouse"], "employee")
    with pytest.raises(Forbidden):
        service.remove_member(company_id, people[role], people["manager"])


def test_non_members_get_not_found_for_everything(service, company, make_account):
    company_id, _ = company
    stranger = make_account("Obcy")
    for call in (lambda: service.list_members(company_id, stranger),
                 lambda: service.get_company(company_id, stranger),
                 lambda: service.invite(company_id, stranger, "x@example.com", "employee"),
                 lambda: service.audit_log(company_id, stranger)):
        with pytest.raises(NotFound):
            call()


def test_accepting_joins_with_the_role_once(service, company, make_account):
    company_id, people = company
    _, token = invite_and_token(service, company_id, people["owner"], "nowy@example.com")
    newcomer = make_account("Nowy", "nowy@example.com")
    assert service.accept_invitation(token, newcomer)["role"] == "warehouse"
    assert service.store.memberships.get(company_id, newcomer)["role"] == "warehouse"
    service.feed.membership_changed.assert_called_with(company_id, newcomer)
    with pytest.raises(TokenInvalid) as error:
        service.accept_invitation(token, newcomer)
    assert error.value.details["extra"]["reason"] == "used"


def test_a_link_works_only_for_the_invited_address(service, company, make_account):
    company_id, people = company
    _, token = invite_and_token(service, company_id, people["owner"], "nowy@example.com")
    with pytest.raises(TokenInvalid) as error:
        service.accept_invitation(token, make_account("Inny", "inny@example.com"))
    assert error.value.details["extra"]["reason"] == "wrong_account"


def test_revoked_resent_and_expired_links_fail(service, company, make_account, monkeypatch):
    company_id, people = company
    answer, revoked = invite_and_token(service, company_id, people["owner"], "r@example.com")
    service.revoke_invitation(company_id, people["owner"], answer["invitation_id"])
    answer, old = invite_and_token(service, company_id, people["owner"], "s@example.com")
    service.resend_invitation(company_id, people["manager"], answer["invitation_id"])
    doc = service.store.db[INVITATIONS].find_one({"_id": answer["invitation_id"]})
    new = doc["outbox"][-1]["payload"]["token"]
    assert new != old and len(doc["mail_event_ids"]) == 2
    reasons = {}
    for name, token, email in (("revoked", revoked, "r@example.com"), ("old", old, "s@example.com")):
        with pytest.raises(TokenInvalid) as error:
            service.accept_invitation(token, make_account(name, email))
        reasons[name] = error.value.details["extra"]["reason"]
    assert reasons == {"revoked": "revoked", "old": "replaced"}
    monkeypatch.setenv(clock.ALLOW_ENV, "1")
    clock.advance(7 * 86400 + 1)
    try:
        with pytest.raises(TokenInvalid) as error:
            service.accept_invitation(new, make_account("s2", "s@example.com"))
        assert error.value.details["extra"]["reason"] == "expired"
        # an expired invitation no longer blocks a new one
        service.invite(company_id, people["owner"], "s@example.com", "employee")
    finally:
        clock.reset()


def test_nobody_demotes_or_removes_the_owner(service, company):
    company_id, people = company
    for actor in (people["owner"], people["manager"]):
        with pytest.raises(Conflict):
            service.change_role(company_id, actor, people["owner"], "manager")
        with pytest.raises(Conflict):
            service.remove_member(company_id, actor, people["owner"])
    with pytest.raises(InvalidInput) as error:
        service.change_role(company_id, people["owner"], people["employee"], "owner")
    assert error.value.details["errors"][0]["field"] == "role"
    assert [m["account_id"] for m in service.store.memberships.owners(company_id)] == [people["owner"]]


def test_manager_changes_roles_and_the_member_gets_a_notice(service, company, db):
    company_id, people = company
    assert service.change_role(company_id, people["manager"], people["warehouse"], "employee")["role"] == "employee"
    entry = db[AUDIT].find_one({"action": "role_changed"})
    assert entry["details"] == {"from": "warehouse", "to": "employee"}
    payload = load_payload("role_changed", entry["outbox"][0]["payload"])
    assert (payload["old_role_label"], payload["new_role_label"]) == ("magazynier", "pracownik")
    service.feed.membership_changed.assert_called_with(company_id, people["warehouse"])


def test_members_leave_and_managers_remove(service, company, db):
    company_id, people = company
    service.remove_member(company_id, people["employee"], people["employee"])
    service.remove_member(company_id, people["manager"], people["warehouse"])
    assert {m["role"] for m in service.store.memberships.of_company(company_id)} == {"owner", "manager"}
    notice = db[AUDIT].find_one({"action": "member_removed", "subject_account_id": people["warehouse"]})
    assert notice["outbox"][0]["type"] == "member_removed"


def test_users_table_lists_members_owner_first_then_invitations(service, company, accounts):
    company_id, people = company
    service.invite(company_id, people["owner"], "zaproszony@example.com", "employee")
    rows = service.list_members(company_id, people["manager"])
    assert [r["no"] for r in rows] == [1, 2, 3, 4, 5]
    assert rows[0]["role_label_pl"] == "właściciel / prezes" and rows[0]["full_name"] == "Jan"
    assert rows[-1]["status"] == "invited" and rows[-1]["email"] == "zaproszony@example.com"
    with pytest.raises(Forbidden):
        service.list_members(company_id, people["employee"])


def test_pending_invitations_show_delivery_status(service, company):
    company_id, people = company
    service.invite(company_id, people["owner"], "d@example.com", "employee")
    (row,) = service.list_invitations(company_id, people["owner"])
    assert row["delivery"]["status"] == "sent" and row["email"] == "d@example.com"


def test_ownership_moves_only_when_the_new_owner_accepts(service, company, db):
    company_id, people = company
    answer = service.request_ownership_transfer(company_id, people["owner"], people["employee"])
    doc = db["ownership_transfers"].find_one({"_id": answer["transfer_id"]})
    token = doc["outbox"][0]["payload"]["token"]
    assert service.store.memberships.get(company_id, people["owner"])["role"] == "owner"
    with pytest.raises(TokenInvalid):
        service.accept_ownership(token, people["manager"])
    assert service.accept_ownership(token, people["employee"]) == {"company_id": company_id, "role": "owner"}
    assert service.store.memberships.get(company_id, people["owner"])["role"] == "manager"
    assert [m["account_id"] for m in service.store.memberships.owners(company_id)] == [people["employee"]]
    with pytest.raises(TokenInvalid):
        service.accept_ownership(token, people["employee"])
    with pytest.raises(Forbidden):
        service.request_ownership_transfer(company_id, people["manager"], people["warehouse"])


def test_a_completed_transfer_stores_one_notice_for_each_side_naming_their_role_now(service, company, db, accounts):
    company_id, people = company
    accounts[people["employee"]]["locale"] = "en"
    answer = service.request_ownership_transfer(company_id, people["owner"], people["employee"])
    token = db["ownership_transfers"].find_one({"_id": answer["transfer_id"]})["outbox"][0]["payload"]["token"]
    service.accept_ownership(token, people["employee"])
    (entry,) = db["audit"].find({"company_id": company_id, "action": "ownership_transferred"})
    mails = {m["payload"]["to"]: m for m in entry["outbox"]}
    assert set(mails) == {"jan@example.com", "employee@example.com"}
    old, new = mails["jan@example.com"]["payload"], mails["employee@example.com"]["payload"]
    assert all(m["type"] == "ownership_transferred" for m in mails.values())
    assert (old["became_owner"], old["role_label"], old["locale"]) == (False, "zarząd / pełnomocnik / księgowy", "pl")
    assert (new["became_owner"], new["role_label"], new["locale"]) == (True, "owner / president", "en")
    assert old["new_owner_name"] == new["new_owner_name"] == "Employee"
    assert old["previous_owner_name"] == "Jan" and old["company_name"] == "Majama Michał Zając"


@pytest.mark.parametrize("handler, event_type, payload, action", [
    ("on_device_blocked", "device_blocked", {"device_id": "d1", "device_name": "Pixel", "platform": "android",
                                             "reason": "wrong_pins"}, "device_blocked"),
    ("on_device_unblocked", "device_unblocked", {"device_id": "d1", "device_name": "Pixel", "platform": "android"},
     "device_unblocked"),
    ("on_password_changed", "password_changed", {"via": "change"}, "password_changed"),
    ("on_second_factor_changed", "second_factor_changed", {"method": "totp", "change": "enabled"},
     "second_factor_changed"),
    ("on_email_changed", "email_changed", {"new_email": "a@example.com"}, "email_changed"),
    ("on_email_changed", "email_changed", {"new_email": "a@example.com", "reverted": True}, "email_change_reverted"),
])
def test_access_events_land_once_in_every_company_of_the_person_with_the_web_apps_kind(
        service, company, db, handler, event_type, payload, action):
    company_id, people = company
    other = service.create_company(people["manager"], "Druga", "key-2")["company_id"]
    message = {"id": "ev-" + action, "type": event_type, "occurred_at": "2026-07-01T12:00:00+00:00",
               "payload": {"account_id": people["manager"], **payload}}
    getattr(service, handler)(message)
    getattr(service, handler)(message)  # delivered twice: written once
    entries = list(db["audit"].find({"action": action}))
    assert sorted(e["company_id"] for e in entries) == sorted([company_id, other])
    assert all(e["actor_account_id"] == e["subject_account_id"] == people["manager"] for e in entries)


def test_a_transfer_to_someone_removed_meanwhile_changes_nothing(service, company, db):
    company_id, people = company
    answer = service.request_ownership_transfer(company_id, people["owner"], people["warehouse"])
    token = db["ownership_transfers"].find_one({"_id": answer["transfer_id"]})["outbox"][0]["payload"]["token"]
    service.remove_member(company_id, people["manager"], people["warehouse"])
    with pytest.raises(Conflict):
        service.accept_ownership(token, people["warehouse"])
    assert [m["account_id"] for m in service.store.memberships.owners(company_id)] == [people["owner"]]


@pytest.mark.parametrize("changes, field", [
    ({"nip": "1234567890"}, "nip"), ({"regon": "123"}, "regon"), ({"contact_phone": "abc"}, "contact_phone"),
    ({"contact_email": "nope"}, "contact_email"), ({"address": {"street": "x", "city": "y", "postal_code": "1"}},
                                                   "address.postal_code"),
    ({"name": ""}, "name"), ({"colour": "red"}, "colour"),
])
def test_company_data_is_checked_field_by_field(service, company, changes, field):
    company_id, people = company
    with pytest.raises(InvalidInput) as error:
        service.update_company(company_id, people["owner"], changes)
    assert field in [e["field"] for e in error.value.details["errors"]]
    assert service.get_company(company_id, people["owner"])["nip"] is None


def test_company_data_changes_are_audited(service, company, db):
    company_id, people = company
    updated = service.update_company(company_id, people["manager"], {"nip": "123-456-32-18", "regon": "123456785"})
    assert updated["nip"] == "1234563218"
    assert db[AUDIT].find_one({"action": "company_updated"})["details"]["changes"]["nip"]["to"] == "1234563218"
    with pytest.raises(Forbidden):
        service.update_company(company_id, people["employee"], {"name": "X"})


def test_audit_log_is_newest_first_and_paged(service, company, monkeypatch):
    company_id, people = company
    monkeypatch.setenv(clock.ALLOW_ENV, "1")
    try:
        for n in range(5):
            clock.advance(1)
            service.invite(company_id, people["owner"], f"p{n}@example.com", "employee")
    finally:
        clock.reset()
    page = service.audit_log(company_id, people["manager"], 1, 2)
    assert page["total"] == 6 and [i["subject_email"] for i in page["items"]] == ["p4@example.com", "p3@example.com"]
    assert page["items"][0]["actor_name"] == "Jan"
    with pytest.raises(Forbidden):
        service.audit_log(company_id, people["employee"])
    with pytest.raises(InvalidInput):
        service.audit_log(company_id, people["owner"], 0, 10)


def test_device_and_identity_events_land_in_every_company_of_the_person_once(service, company, make_account, db):
    company_id, people = company
    other = service.create_company(people["employee"], "Druga", "key-2")["company_id"]
    event = {"id": "ev1", "type": "device_paired", "occurred_at": datetime.now(timezone.utc).isoformat(),
             "payload": {"account_id": people["employee"], "device_name": "Pixel", "platform": "android"}}
    service.on_device_paired(event)
    service.on_device_paired(event)
    entries = list(db[AUDIT].find({"action": "device_paired"}))
    assert sorted(e["company_id"] for e in entries) == sorted([company_id, other])
    assert entries[0]["details"] == {"device_name": "Pixel", "platform": "android"}
    # identity sends its events in the envelope (contracts.events), as every service does now
    service.on_login_locked_out(envelope("login_locked_out", {"account_id": people["employee"],
                                                              "locked_until": "2030-01-01T00:00:00Z"}))
    assert db[AUDIT].count_documents({"action": "login_locked_out"}) == 2


def test_check_permission_and_membership_follow_the_matrix(service, company):
    company_id, people = company
    assert service.check_permission(company_id, people["warehouse"], "warehouse.write") is True
    assert service.check_permission(company_id, people["warehouse"], "invoices.read") is False
    assert service.check_permission(company_id, people["employee"], "users.read") is False
    assert service.check_permission("f" * 32, people["owner"], "invoices.read") is False
    assert service.membership(company_id, people["manager"])["role"] == "manager"
    assert service.membership(company_id, "nobody") is None


# the users table's stored copy


def _row(rows, account_id):
    return next(r for r in rows if r["account_id"] == account_id)


def test_users_table_copy_follows_every_change(service, company, accounts, make_account):
    company_id, people = company
    owner = people["owner"]
    first = service.list_members(company_id, owner)
    assert service.store.db["rosters"].count_documents({"_id": company_id}) == 1
    assert service.list_members(company_id, owner) == first  # served from the copy
    calls = service.identity.get_accounts.call_async.call_count

    service.change_role(company_id, owner, people["employee"], "warehouse")
    assert _row(service.list_members(company_id, owner), people["employee"])["role"] == "warehouse"
    service.remove_member(company_id, owner, people["warehouse"])
    assert people["warehouse"] not in {r["account_id"] for r in service.list_members(company_id, owner)}
    answer, token = invite_and_token(service, company_id, owner, "nowy@example.com")
    assert service.list_members(company_id, owner)[-1]["email"] == "nowy@example.com"
    service.revoke_invitation(company_id, owner, answer["invitation_id"])
    assert all(r["status"] == "active" for r in service.list_members(company_id, owner))
    _, token = invite_and_token(service, company_id, owner, "nowa@example.com")
    newcomer = make_account("Nowa", "nowa@example.com")
    service.accept_invitation(token, newcomer)
    rows = service.list_members(company_id, owner)
    assert _row(rows, newcomer)["status"] == "active" and all(r["status"] == "active" for r in rows)
    assert service.identity.get_accounts.call_async.call_count > calls
    assert [r["no"] for r in rows] == list(range(1, len(rows) + 1))


def test_users_table_copy_is_rebuilt_after_an_email_change_or_when_old(service, company, accounts):
    company_id, people = company
    owner = people["owner"]
    service.list_members(company_id, owner)
    accounts[people["manager"]]["email"] = "nowy.adres@example.com"
    service.on_email_changed({"id": "ev1", "type": "email_changed",
                              "payload": {"account_id": people["manager"], "new_email": "nowy.adres@example.com"}})
    assert _row(service.list_members(company_id, owner), people["manager"])["email"] == "nowy.adres@example.com"
    accounts[people["manager"]]["full_name"] = "Nowe Nazwisko"  # identity sends no event for this
    service.store.db["rosters"].update_one({"_id": company_id}, {"$set": {"built_at": 0}})
    assert _row(service.list_members(company_id, owner), people["manager"])["full_name"] == "Nowe Nazwisko"


def test_a_copy_built_for_an_older_stamp_is_not_served(service, company, db):
    company_id, people = company
    owner = people["owner"]
    service.list_members(company_id, owner)
    # a membership written behind the service's back (with its keys), then counted (as every store write does)
    service.store.memberships._keys_added(company_id, "x")
    db[MEMBERSHIPS].insert_one({"_id": f"{company_id}:x", "company_id": company_id, "account_id": "x",
                                "role": "employee", "joined_at": datetime.now(timezone.utc),
                                "updated_at": datetime.now(timezone.utc)})
    service.store.rosters.changed(company_id)
    assert "x" in {r["account_id"] for r in service.list_members(company_id, owner)}


def test_users_table_of_an_unknown_company_is_not_found(service, make_account):
    with pytest.raises(NotFound):
        service.list_members("0" * 32, make_account("Ktoś"))
    with pytest.raises(NotFound):
        service.list_members({"$ne": 1}, make_account("Ktoś"))
