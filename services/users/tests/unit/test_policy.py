"""The company policy "every member needs a second factor" and the copy of who has one (users/policy.py).

Real: the service class, its store (on mongomock) and schemas. Faked: identity (`second_factors_of`,
`get_accounts`), the gateway feed and the outbox relay (nameko's mocks), as in test_service.py.
"""
from datetime import timedelta

import pytest

from kadra_defaults import clock
from kadra_defaults.contracts.events import envelope
from kadra_defaults.contracts.mail import load_payload
from users import policy
from users.exceptions import Conflict, Forbidden, InvalidInput, NotFound
from users.storage import AUDIT

from .test_service import accounts, company, db, factors, make_account, service  # noqa: F401  (fixtures)


def factor_event(account_id, change, at=None):
    payload = {"account_id": account_id, "method": "totp", "change": change}
    return envelope("second_factor_changed", payload, occurred_at=at or clock.now())


def policy_has(service, account_id):
    return policy.has_factor(service, [account_id])[account_id]


def policy_entries(service, company_id):
    return list(service.store.db[AUDIT].find({"company_id": company_id, "action": "second_factor_policy_changed"}))


def test_only_the_owner_turns_it_on_and_only_with_a_factor_of_their_own(service, company, factors, make_account):
    company_id, people = company
    with pytest.raises(Forbidden):
        service.set_second_factor_policy(company_id, people["manager"], True)
    with pytest.raises(NotFound):
        service.set_second_factor_policy(company_id, make_account("Stranger"), True)
    with pytest.raises(Conflict) as refused:
        service.set_second_factor_policy(company_id, people["owner"], True)
    assert refused.value.details["errors"][0]["field"] == "second_factor"
    assert not policy_entries(service, company_id)
    factors[people["owner"]] = ["totp"]   # turned on a moment ago: its event has not reached users yet
    answer = service.set_second_factor_policy(company_id, people["owner"], True)
    assert answer["required"] is True
    assert service.get_company(company_id, people["owner"])["second_factor_required"] is True


@pytest.mark.parametrize("bad", ["true", 1, None, "yes", [True]])
def test_anything_but_a_boolean_is_refused_naming_required(service, company, factors, bad):
    company_id, people = company
    factors[people["owner"]] = ["totp"]
    with pytest.raises(InvalidInput) as refused:
        service.set_second_factor_policy(company_id, people["owner"], bad)
    assert refused.value.details["errors"][0]["field"] == "required"


def test_turning_it_on_holds_back_members_without_a_factor_and_tells_them(service, company, factors):
    company_id, people = company
    factors[people["owner"]] = ["totp"]
    factors[people["manager"]] = ["totp"]
    assert service.membership(company_id, people["employee"])["second_factor_required"] is False
    service.set_second_factor_policy(company_id, people["owner"], True)
    service.feed.membership_changed.assert_called_with(company_id)
    held = service.membership(company_id, people["employee"])
    assert held["second_factor_required"] is True and held["company_name"] == "Majama Michał Zając"
    assert service.membership(company_id, people["manager"])["second_factor_required"] is False
    assert service.membership(company_id, people["owner"])["second_factor_required"] is False
    [row] = service.companies_of(people["warehouse"])
    assert row["second_factor_required"] is True
    [entry] = policy_entries(service, company_id)
    assert entry["details"] == {"required": True} and entry["actor_account_id"] == people["owner"]
    mails = {e["payload"]["to"]: load_payload(e["type"], e["payload"]) for e in entry["outbox"]}
    assert set(mails) == {"employee@example.com", "warehouse@example.com"}   # not the owner, not the manager
    assert mails["employee@example.com"]["company_name"] == "Majama Michał Zając"
    assert mails["employee@example.com"]["required_by_name"] == "Jan"
    # the same switch again changes nothing and logs nothing
    service.set_second_factor_policy(company_id, people["owner"], True)
    assert len(policy_entries(service, company_id)) == 1
    service.set_second_factor_policy(company_id, people["owner"], False)
    assert service.membership(company_id, people["employee"])["second_factor_required"] is False
    entries = policy_entries(service, company_id)
    assert sorted(e["details"]["required"] for e in entries) == [False, True]
    assert all(not e.get("outbox") for e in entries if e["details"]["required"] is False)


def test_a_factor_turned_on_lets_the_member_in_and_shows_in_the_users_table(service, company, factors):
    company_id, people = company
    factors[people["owner"]] = ["totp"]
    service.set_second_factor_policy(company_id, people["owner"], True)
    assert service.membership(company_id, people["employee"])["second_factor_required"] is True
    table = {r["account_id"]: r["second_factor"] for r in service.list_members(company_id, people["owner"])}
    assert table[people["owner"]] is True and table[people["employee"]] is False
    service.feed.membership_changed.reset_mock()
    service.on_second_factor_changed(factor_event(people["employee"], "enabled"))
    assert service.membership(company_id, people["employee"])["second_factor_required"] is False
    service.feed.membership_changed.assert_called_with(company_id, people["employee"])
    table = {r["account_id"]: r["second_factor"] for r in service.list_members(company_id, people["owner"])}
    assert table[people["employee"]] is True
    service.on_second_factor_changed(factor_event(people["employee"], "disabled"))
    assert service.membership(company_id, people["employee"])["second_factor_required"] is True


def test_an_older_change_arriving_late_does_not_win(service, company, factors):
    company_id, people = company
    employee = people["employee"]
    assert service.membership(company_id, employee)["second_factor_required"] is False
    assert policy_has(service, employee) is False
    now = clock.now() + timedelta(seconds=10)
    service.on_second_factor_changed(factor_event(employee, "enabled", now))
    service.on_second_factor_changed(factor_event(employee, "disabled", now - timedelta(seconds=5)))
    assert service.store.second_factors.known([employee]) == {employee: True}
    service.on_second_factor_changed(factor_event(employee, "disabled", now + timedelta(seconds=1)))
    assert service.store.second_factors.known([employee]) == {employee: False}


def test_the_copy_starts_from_identity_for_an_account_it_never_heard_of(service, company, factors):
    company_id, people = company
    factors[people["owner"]] = ["totp"]        # turned on before the copy existed: no event was heard
    service.set_second_factor_policy(company_id, people["owner"], True)
    assert service.store.second_factors.known([people["owner"]]) == {people["owner"]: True}
    calls = service.identity.second_factors_of.call_count
    service.set_second_factor_policy(company_id, people["owner"], False)
    assert service.identity.second_factors_of.call_count == calls   # asked once, then the copy answers


def test_an_owner_whose_factor_event_is_late_brings_the_copy_up_to_date(service, company, factors):
    company_id, people = company
    owner = people["owner"]
    assert policy_has(service, owner) is False            # the copy starts from identity: none yet
    factors[owner] = ["totp"]                             # turned on; its event has not reached users
    service.set_second_factor_policy(company_id, owner, True)
    assert service.store.second_factors.known([owner]) == {owner: True}
    table = {r["account_id"]: r["second_factor"] for r in service.list_members(company_id, owner)}
    assert table[owner] is True


def test_an_event_is_recorded_even_when_identity_cannot_fill_the_copy(service, company):
    _, people = company
    employee = people["employee"]
    service.identity.second_factors_of.side_effect = RuntimeError("identity away")
    service.on_second_factor_changed(factor_event(employee, "enabled"))
    assert service.store.second_factors.known([employee]) == {employee: True}
