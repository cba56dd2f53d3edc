"""The company policy "every member needs a second factor", against the real services.

The owner turns it on (only the owner, only with a factor of their own); every gateway worker then answers 403
`second_factor_setup_required` on the company's routes to a member without a factor, within a second, while
/me and setting a factor up keep working; the members without one get a notice (PL or EN); the users table shows
who has one; setting one up lets the member in; turning the policy off lets everyone in; each change is an
audit entry. Real gateway (4 workers), identity, users and notify over RabbitMQ and FerretDB; e-mails from the
SMTP sink; codes from pyotp (tests/support/second_factor.py).
"""
import time

import pytest
import requests

from tests.support.infra import wait_until
from tests.support.second_factor import Authenticator, enrol
from tests.support.users import API, audit_entries, join, sign_up, users_table

pytestmark = pytest.mark.e2e

# New connections, so the requests spread over the gateway's workers (keep-alive would pin one).
SPREAD = 12


def _status(system, method, path, person, **kwargs):
    response = requests.request(method, system.base_url + path, headers={**person.auth, "Connection": "close"},
                                timeout=10, **kwargs)
    return response.status_code, (response.json() if response.content else None)


def _everywhere(system, path, person, expected: int, within: float) -> float:
    """Seconds until SPREAD requests in a row over fresh connections all answer `expected`; fails after `within`."""
    started = time.monotonic()
    while True:
        codes = [_status(system, "GET", path, person)[0] for _ in range(SPREAD)]
        if all(code == expected for code in codes):
            return time.monotonic() - started
        assert time.monotonic() - started < within, f"{path}: {codes}, wanted {expected} within {within} s"


def _policy(api, person, company_id, body):
    return api.put(api.url(f"{API}/companies/{company_id}/second-factor-policy"), json=body, headers=person.auth)


def test_the_owner_requires_a_second_factor_and_a_member_is_held_back_until_they_set_one_up(api, system, mailbox):
    owner, company_id = sign_up(api, company_name="Piekarnia Polityka")
    manager = join(api, mailbox, owner, company_id, "manager", full_name="Maria Menedżer")
    member = join(api, mailbox, owner, company_id, "employee", full_name="Ewa Pracownik")
    english = join(api, mailbox, owner, company_id, "warehouse", full_name="Adam Magazyn")
    assert api.patch(api.url(f"{API}/me"), json={"locale": "en"}, headers=english.auth).status_code == 200
    manager_app, _, _ = enrol(api, manager.auth)
    company = f"{API}/companies/{company_id}"
    # every worker holds the member's membership in its copy before the switch
    assert _everywhere(system, company, member, 200, within=5) >= 0

    # only the owner, and only with a factor of their own
    refused = _policy(api, manager, company_id, {"required": True})
    assert refused.status_code == 403 and refused.json()["code"] == "forbidden"
    refused = _policy(api, owner, company_id, {"required": True})
    assert refused.status_code == 409, refused.text
    assert refused.json()["errors"][0]["field"] == "second_factor" and refused.json()["detail_pl"]
    enrol(api, owner.auth)   # its event may still be on its way: the owner's own check asks identity

    switched = _policy(api, owner, company_id, {"required": True})
    assert switched.status_code == 200, switched.text
    assert switched.json()["required"] is True and switched.json()["changed_at"]
    took = _everywhere(system, company, member, 403, within=1.0)

    code, problem = _status(system, "GET", company, member)
    assert code == 403 and problem["code"] == "second_factor_setup_required"
    assert problem["company_id"] == company_id and problem["company_name"] == "Piekarnia Polityka"
    assert "Piekarnia Polityka" in problem["detail_pl"] and problem["title_pl"]
    for path in (f"{company}/users", f"{company}/invitations", f"{company}/audit",
                 f"{company}/permissions/check?account_id={member.account_id}&permission=invoices.read"):
        assert _status(system, "GET", path, member)[1]["code"] == "second_factor_setup_required", path
    # what the person needs to set one up keeps working, and says which company asks
    code, me = _status(system, "GET", f"{API}/me", member)
    assert code == 200 and me["companies"] == [{"company_id": company_id, "name": "Piekarnia Polityka",
                                                "role": "employee", "second_factor_required": True}]
    assert _status(system, "GET", f"{API}/me/second-factor", member) == (200, {"totp": False, "enabled_at": None,
                                                                             "recovery_codes_left": 0, "phone": False,
                                                                             "phone_enabled_at": None})
    # those with a factor go on as before; the product's other apps hear "not allowed" for the held-back member
    assert _everywhere(system, company, manager, 200, within=1) >= 0
    assert _everywhere(system, company, owner, 200, within=1) >= 0
    check = f"{company}/permissions/check?account_id={member.account_id}&permission=company.read"
    assert _status(system, "GET", check, owner) == (200, {"allowed": False})

    # the notice, in each member's language, to those without a factor only
    (pl,) = mailbox.wait_for(member.email, "wymaga logowania dwuetapowego", timeout=30)
    assert "Piekarnia Polityka" in pl.subject and "Jan Kowalski" in pl.text and "Moje konto" in pl.text
    (en,) = mailbox.wait_for(english.email, "requires two-step login", timeout=30)
    assert "My account" in en.text and "Piekarnia Polityka" in en.html
    assert not [m for m in mailbox.to(manager.email) if "wymaga logowania dwuetapowego" in m.subject]
    (entry,) = audit_entries(api, company_id, owner.auth, "second_factor_policy_changed")
    assert entry["details"] == {"required": True} and entry["actor_account_id"] == owner.account_id

    # the users table shows who has a factor
    rows = {r["account_id"]: r["second_factor"] for r in users_table(api, owner, company_id) if r["account_id"]}
    assert rows == {owner.account_id: True, manager.account_id: True, member.account_id: False,
                    english.account_id: False}

    # setting one up lets the member in, on every worker
    enrol(api, member.auth)
    let_in = _everywhere(system, company, member, 200, within=3.0)
    code, me = _status(system, "GET", f"{API}/me", member)
    assert me["companies"][0]["second_factor_required"] is False
    rows = {r["account_id"]: r["second_factor"] for r in users_table(api, owner, company_id) if r["account_id"]}
    assert rows[member.account_id] is True
    assert _status(system, "GET", company, english)[1]["code"] == "second_factor_setup_required"

    # turning it off lets everyone in again, and is logged too
    assert _policy(api, owner, company_id, {"required": False}).json()["required"] is False
    back = _everywhere(system, company, english, 200, within=1.0)
    entries = audit_entries(api, company_id, owner.auth, "second_factor_policy_changed", count=2)
    assert [e["details"] for e in entries] == [{"required": False}, {"required": True}]
    print(f"\npolicy seen by every worker after {took * 1000:.0f} ms; a member's new factor after "
          f"{let_in * 1000:.0f} ms; the policy off after {back * 1000:.0f} ms")
    assert manager_app  # the manager's authenticator was only needed to turn the factor on


@pytest.mark.parametrize("body, field", [
    ({}, "required"), ({"required": "true"}, "required"), ({"required": 1}, "required"),
    ({"required": None}, "required"), ({"required": True, "extra": 1}, "extra")])
def test_a_bad_switch_names_the_field(api, body, field):
    owner, company_id = sign_up(api)
    answer = _policy(api, owner, company_id, body)
    assert answer.status_code == 422, answer.text
    assert field in [e["field"] for e in answer.json()["errors"]]
    assert answer.json()["detail_pl"]


def test_another_company_cannot_see_or_switch_it(api):
    owner, company_id = sign_up(api)
    stranger, _ = sign_up(api, prefix="stranger")
    enrol(api, stranger.auth)
    answer = _policy(api, stranger, company_id, {"required": True})
    assert answer.status_code == 404 and answer.json()["code"] == "not_found"
    assert api.get(api.url(f"{API}/companies/{company_id}"), headers=owner.auth).json()["second_factor_required"] \
        is False


def test_an_owner_who_turns_their_own_factor_off_is_asked_to_set_one_up_again(api, system):
    owner, company_id = sign_up(api)
    app, codes, _ = enrol(api, owner.auth)
    assert _policy(api, owner, company_id, {"required": True}).status_code == 200
    off = api.post(api.url(f"{API}/me/second-factor/totp/disable"), headers=owner.auth,
                   json={"password": owner.password, "recovery_code": codes[0]})
    assert off.status_code == 204, off.text
    company = f"{API}/companies/{company_id}"
    wait_until(lambda: _status(system, "GET", company, owner)[0] == 403, 5, what="the owner held back")
    assert _status(system, "GET", company, owner)[1]["code"] == "second_factor_setup_required"
    # never locked out: setting a factor up stays open (a step used by the first enrolment stays used, so the
    # authenticator starts at the next one, which is accepted now too)
    begun = api.post(api.url(f"{API}/me/second-factor/totp"), headers=owner.auth)
    assert begun.status_code == 200, begun.text
    again = Authenticator(begun.json()["secret"])
    again.last = app.last
    confirmed = api.post(api.url(f"{API}/me/second-factor/totp/confirm"), headers=owner.auth,
                         json={"code": again.code()})
    assert confirmed.status_code == 200, confirmed.text
    _everywhere(system, company, owner, 200, within=3.0)
    assert _policy(api, owner, company_id, {"required": False}).status_code == 200


def test_approval_on_the_trusted_phone_counts_as_a_second_factor(api, system, mailbox):
    """A member held back by the policy turns approval in the mobile app on (no TOTP): let in, and the users table
    says so; an owner whose only factor is the phone may switch the policy on."""
    from tests.support import approvals
    from tests.support.devices import phone_with_pin

    owner, company_id = sign_up(api)
    member = join(api, mailbox, owner, company_id, "employee", full_name="Ola Telefon")
    phone_with_pin(api, {"email": owner.email, "password": owner.password})
    turned = approvals.turn_on(api, owner.auth, owner.password)
    assert turned.status_code == 204, turned.text
    switched = wait_until(lambda: _policy(api, owner, company_id, {"required": True}).status_code == 200 or None, 5,
                          what="the owner's phone approval counted for the switch")
    assert switched
    company = f"{API}/companies/{company_id}"
    _everywhere(system, company, member, 403, within=3.0)
    phone_with_pin(api, {"email": member.email, "password": member.password})
    turned = approvals.turn_on(api, member.auth, member.password)
    assert turned.status_code == 204, turned.text
    _everywhere(system, company, member, 200, within=3.0)
    rows = {row["email"]: row for row in users_table(api, owner, company_id)}
    assert rows[member.email]["second_factor"] is True and rows[owner.email]["second_factor"] is True
