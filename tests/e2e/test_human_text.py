"""Every text a person types refuses line breaks, NULs and invisible characters: 422 naming the field.

The attack this stops: a sign-up whose full name is "Eve\\nX-A: 1" was accepted, and its e-mails
could not be built. Each case is sent through the gateway (the edge) and, for the services'
own schemas, straight over RPC (a caller that is not the gateway meets the same rule).
"""
import uuid

import pytest

from tests.support.devices import Phone, public_b64
from tests.support.identity import rpc_client
from tests.support.users import API, PASSWORD, join, sign_up, unique_email

pytestmark = pytest.mark.e2e

POISON = ["Eve\nX-A: 1", "Eve\r\nBcc: all@example.com", "nul\x00byte", "line\u2028break", "rtl\u202eevE", "tab\there"]


@pytest.fixture(scope="module")
def owner(system, smtp_server):
    import requests

    session = requests.Session()
    session.url = lambda path: system.base_url + path
    person, company_id = sign_up(session)
    member = join(session, smtp_server.mailbox, person, company_id, "employee")
    yield session, person, company_id, member
    session.close()


def _assert_names(response, field):
    assert response.status_code == 422, response.text
    problem = response.json()
    errors = [e for e in problem["errors"] if e["field"] == field]
    assert errors, problem
    assert "control" in errors[0]["message"] and "sterujące" in errors[0]["message_pl"]


@pytest.mark.parametrize("poison", POISON, ids=repr)
@pytest.mark.parametrize("field", ["full_name", "company_name"])
def test_sign_up_refuses_a_poisoned_name_and_makes_nothing(api, mongo, system_env, mailbox, field, poison):
    email = unique_email("poison")
    body = {"email": email, "password": PASSWORD, "full_name": "Ewa Nowak", "company_name": "Firma", field: poison}
    _assert_names(api.post(api.url(f"{API}/accounts"), json=body), field)
    db = mongo[f"{system_env['KADRA_MONGO_DB_PREFIX']}_identity"]
    assert db.accounts.find_one({"email_norm": email}) is None
    assert db.signups.find_one({"email": email}) is None


@pytest.mark.parametrize("poison", POISON[:3], ids=repr)
def test_company_names_and_address_lines_refuse_poison(owner, mongo, system_env, poison):
    session, person, company_id, _ = owner
    db = mongo[f"{system_env['KADRA_MONGO_DB_PREFIX']}_users"]
    before = db.companies.find_one({"_id": company_id})
    cases = [
        ("PATCH", f"{API}/companies/{company_id}", {"name": poison}, "name"),
        ("PATCH", f"{API}/companies/{company_id}",
         {"address": {"street": poison, "postal_code": "00-001", "city": "Warszawa"}}, "address.street"),
        ("PATCH", f"{API}/companies/{company_id}",
         {"address": {"street": "Polna 1", "postal_code": "00-001", "city": poison}}, "address.city"),
        ("POST", f"{API}/companies", {"name": poison}, "name"),
        ("PATCH", f"{API}/me", {"full_name": poison}, "full_name"),
    ]
    companies = db.companies.count_documents({})
    for method, path, body, field in cases:
        _assert_names(session.request(method, session.url(path), json=body, headers=person.auth), field)
    assert db.companies.find_one({"_id": company_id}) == before
    assert db.companies.count_documents({}) == companies


def test_an_invited_person_cannot_accept_with_a_poisoned_name(owner, mailbox):
    session, person, company_id, _ = owner
    from tests.support.users import invitation_token, invite

    email = unique_email("invitee")
    assert invite(session, person, company_id, email, "employee").status_code == 201
    token = invitation_token(mailbox, email)
    response = session.post(session.url(f"{API}/invitations/accept"),
                            json={"token": token, "password": PASSWORD, "full_name": "Ewa\nBcc: x@example.com"})
    _assert_names(response, "full_name")
    # the link was not spent: the person can still accept with a real name
    response = session.post(session.url(f"{API}/invitations/accept"),
                            json={"token": token, "password": PASSWORD, "full_name": "Ewa Nowak"})
    assert response.status_code == 200, response.text


def test_a_phone_cannot_be_activated_with_a_poisoned_device_name(api, system_env, mongo):
    from tests.support.devices import sign_up as device_sign_up

    account = device_sign_up(api)
    phone = Phone(api)
    response = api.post(api.url(f"{API}/devices/activate"), json={
        "email": account["email"], "password": account["password"], "device_name": "Pixel\nX-A: 1",
        "platform": "android", "public_key": public_b64(phone.key)})
    _assert_names(response, "device_name")
    db = mongo[f"{system_env['KADRA_MONGO_DB_PREFIX']}_devices"]
    assert db.trusted_devices.count_documents({"account_id": account["account_id"]}) == 0


def test_spaces_around_a_name_are_trimmed(api, system):
    from tests.support import signup

    email = unique_email("trim")
    signup.sign_up(api, f"  {email} ", PASSWORD, "  Ewa Nowak  ", " Firma ")
    tokens = api.post(api.url(f"{API}/auth/login"), json={"email": email, "password": PASSWORD}).json()
    me = api.get(api.url(f"{API}/me"), headers={"Authorization": f"Bearer {tokens['access_token']}"}).json()
    assert me["full_name"] == "Ewa Nowak" and me["companies"][0]["name"] == "Firma"


def test_the_services_refuse_poison_from_a_caller_that_is_not_the_gateway(system_env):
    from gateway.rpc import RemoteError

    client = rpc_client(system_env)
    try:
        calls = [
            ("identity", "sign_up", {"email": unique_email("rpc"), "password": PASSWORD,
                                     "full_name": "Eve\nX-A: 1", "company_name": "Firma"}, "full_name"),
            ("users", "create_company", {"owner_account_id": uuid.uuid4().hex, "name": "Firma\r\nX: 1"}, "name"),
        ]
        for service, method, kwargs, field in calls:
            with pytest.raises(RemoteError) as raised:
                client.call(service, method, **kwargs)
            assert raised.value.exc_path.endswith("InvalidInput")
            assert field in str(raised.value.exc_args)
    finally:
        client.close()
