"""The guide's Users section end to end over HTTP, with e-mails read from the real SMTP server."""
import os
import subprocess
import sys

import jwt

import pytest

from gateway.rpc import RpcClient
from tests.support.infra import ROOT
from tests.support.users import (API, PASSWORD, Person, accept, invitation_token, invite, join, login, owners,
                                 sign_up, token_from, unique_email, users_table)

pytestmark = pytest.mark.e2e


@pytest.fixture
def users_clock(system_env):
    """Shift the running users service's clock (RPC users.advance_clock); reset afterwards."""
    client = RpcClient(system_env["KADRA_AMQP_URI"], timeout=5)
    yield lambda seconds: client.call("users", "advance_clock", seconds)
    client.call("users", "advance_clock", 0, reset=True)
    client.close()


def check(api, person, company_id, permission, account_id=None):
    response = api.get(api.url(f"{API}/companies/{company_id}/permissions/check"), headers=person.auth,
                       params={"account_id": account_id or person.account_id, "permission": permission})
    assert response.status_code == 200, response.text
    return response.json()["allowed"]


def test_roles_catalogue_is_served_with_the_guides_labels(api):
    response = api.get(api.url(f"{API}/roles"))
    assert response.status_code == 200
    labels = {r["role"]: r["label_pl"] for r in response.json()}
    assert labels == {"owner": "właściciel / prezes", "manager": "zarząd / pełnomocnik / księgowy",
                      "employee": "pracownik", "warehouse": "magazynier"}
    employee = next(r for r in response.json() if r["role"] == "employee")
    assert "users.read" not in employee["permissions"] and employee["description_pl"]


def test_guide_journey_owner_adds_magazynier_who_accepts_and_is_changed_to_pracownik(api, mailbox):
    owner, company_id = sign_up(api, company_name="Majama Michał Zając")
    table = users_table(api, owner, company_id)
    assert [(r["no"], r["full_name"], r["email"], r["role_label_pl"]) for r in table] == [
        (1, "Jan Kowalski", owner.email, "właściciel / prezes")]

    # "Dodaj użytkownika": e-mail + role magazynier, Zapisz
    email = unique_email("magazyn")
    response = invite(api, owner, company_id, email, "warehouse")
    assert response.status_code == 201, response.text
    assert users_table(api, owner, company_id)[1]["status"] == "invited"

    (mail,) = mailbox.wait_for(email, timeout=30)
    assert "Majama Michał Zając" in mail.text and "magazynier" in mail.text
    response = accept(api, token_from(mail), full_name="Adam Magazynier")
    assert response.status_code == 200, response.text
    assert response.json()["company_id"] == company_id and response.json()["role"] == "warehouse"
    member = login(api, Person(email=email, password=PASSWORD, full_name="Adam Magazynier",
                               account_id=response.json()["account_id"]))

    table = users_table(api, owner, company_id)
    assert [(r["no"], r["full_name"], r["email"], r["role_label_pl"], r["status"]) for r in table] == [
        (1, "Jan Kowalski", owner.email, "właściciel / prezes", "active"),
        (2, "Adam Magazynier", email, "magazynier", "active")]
    assert check(api, member, company_id, "warehouse.write") is True
    assert check(api, member, company_id, "invoices.write") is False
    assert api.get(api.url(f"{API}/companies/{company_id}/users"), headers=member.auth).status_code == 403

    # the owner changes the role to pracownik: the member's very next request sees it
    response = api.patch(api.url(f"{API}/companies/{company_id}/users/{member.account_id}"),
                         json={"role": "employee"}, headers=owner.auth)
    assert response.status_code == 200, response.text
    assert check(api, member, company_id, "invoices.write") is True
    assert check(api, member, company_id, "warehouse.write") is False
    me = api.get(api.url(f"{API}/me"), headers=member.auth)
    assert me.status_code == 200, me.text
    assert {c["company_id"]: c["role"] for c in me.json()["companies"]}[company_id] == "employee"
    assert users_table(api, owner, company_id)[1]["role_label_pl"] == "pracownik"
    notice = mailbox.wait_for(email, count=2, timeout=30)
    assert any("pracownik" in m.text for m in notice)

    # removed: the next request is refused, as for any non-member
    response = api.delete(api.url(f"{API}/companies/{company_id}/users/{member.account_id}"), headers=owner.auth)
    assert response.status_code == 204
    assert api.get(api.url(f"{API}/companies/{company_id}"), headers=member.auth).status_code == 404

    actions = [e["action"] for e in api.get(api.url(f"{API}/companies/{company_id}/audit"),
                                            headers=owner.auth).json()["items"]]
    assert actions[:4] == ["member_removed", "role_changed", "member_joined", "member_invited"]


def test_an_accountant_with_an_account_joins_a_second_company_by_logging_in(api, mailbox):
    accountant, own_company = sign_up(api, prefix="ksiegowa", company_name="Biuro Rachunkowe",
                                      full_name="Ewa Księgowa")
    client, client_company = sign_up(api, prefix="klient", company_name="Klient Sp. z o.o.")
    assert invite(api, client, client_company, accountant.email.upper(), "manager").status_code == 201
    token = invitation_token(mailbox, accountant.email)
    wrong = accept(api, token, password="not-the-password", full_name=None)
    assert wrong.status_code == 401
    response = accept(api, token, password=None, full_name=None, headers=accountant.auth)
    assert response.status_code == 200, response.text
    me = api.get(api.url(f"{API}/me"), headers=accountant.auth).json()
    assert {c["company_id"]: c["role"] for c in me["companies"]} == {own_company: "owner", client_company: "manager"}


def test_invitation_links_fail_when_reused_expired_revoked_or_replaced(api, mailbox, users_clock):
    owner, company_id = sign_up(api)

    email = unique_email("reuse")
    invite(api, owner, company_id, email, "employee")
    token = invitation_token(mailbox, email)
    assert accept(api, token).status_code == 200
    again = accept(api, token)
    assert again.status_code == 400 and again.json()["reason"] == "used"

    email = unique_email("revoked")
    invitation_id = invite(api, owner, company_id, email, "employee").json()["invitation_id"]
    token = invitation_token(mailbox, email)
    assert api.delete(api.url(f"{API}/companies/{company_id}/invitations/{invitation_id}"),
                      headers=owner.auth).status_code == 204
    revoked = accept(api, token)
    assert revoked.status_code == 400 and revoked.json()["reason"] == "revoked"

    email = unique_email("resent")
    invitation_id = invite(api, owner, company_id, email, "employee").json()["invitation_id"]
    old = invitation_token(mailbox, email)
    response = api.post(api.url(f"{API}/companies/{company_id}/invitations/{invitation_id}/resend"),
                        headers=owner.auth)
    assert response.status_code == 202, response.text
    new = invitation_token(mailbox, email, count=2)
    assert new != old
    replaced = accept(api, old)
    assert replaced.status_code == 400 and replaced.json()["reason"] == "replaced"

    email = unique_email("expired")
    invite(api, owner, company_id, email, "employee")
    expiring = invitation_token(mailbox, email)
    users_clock(7 * 24 * 3600 + 5)
    expired = accept(api, expiring)
    assert expired.status_code == 400 and expired.json()["reason"] == "expired"
    assert expired.json()["detail"] and expired.json()["detail_pl"]
    # the resent link is older than 7 days too now
    assert accept(api, new).json()["reason"] == "expired"
    # no membership came of any failed link: the owner and the one accepted invitation
    active = [r["email"] for r in users_table(api, owner, company_id) if r["status"] == "active"]
    assert len(active) == 2 and "reuse" in active[1]


def test_pending_invitations_show_the_delivery_status_of_their_email(api, mailbox):
    owner, company_id = sign_up(api)
    email = unique_email("pending")
    invitation_id = invite(api, owner, company_id, email, "warehouse").json()["invitation_id"]
    mailbox.wait_for(email, timeout=30)
    from tests.support.infra import wait_until

    def sent():
        rows = api.get(api.url(f"{API}/companies/{company_id}/invitations"), headers=owner.auth).json()
        row = next(r for r in rows if r["invitation_id"] == invitation_id)
        return row if row["delivery"]["status"] == "sent" else None

    row = wait_until(sent, 15, what="delivery status 'sent'")
    assert row["email"] == email and row["role"] == "warehouse" and row["expired"] is False


def test_ownership_moves_to_a_member_who_accepts_and_the_old_owner_becomes_manager(api, mailbox, mongo, system_env):
    owner, company_id = sign_up(api)
    heir = join(api, mailbox, owner, company_id, "manager", full_name="Piotr Następca")
    response = api.post(api.url(f"{API}/companies/{company_id}/ownership/transfer"),
                        json={"account_id": heir.account_id}, headers=owner.auth)
    assert response.status_code == 202, response.text
    assert owners(mongo, system_env, company_id) == [owner.account_id]
    mail = [m for m in mailbox.wait_for(heir.email, count=2, timeout=30) if "#token=" in m.text][-1]
    token = token_from(mail)
    assert api.post(api.url(f"{API}/ownership/accept"), json={"token": token}, headers=owner.auth).status_code == 400
    response = api.post(api.url(f"{API}/ownership/accept"), json={"token": token}, headers=heir.auth)
    assert response.status_code == 200, response.text
    assert owners(mongo, system_env, company_id) == [heir.account_id]
    roles = {r["account_id"]: r["role"] for r in users_table(api, heir, company_id)}
    assert roles == {heir.account_id: "owner", owner.account_id: "manager"}
    # the old owner's very next request has manager rights only
    assert api.post(api.url(f"{API}/companies/{company_id}/ownership/transfer"), json={"account_id": heir.account_id},
                    headers=owner.auth).status_code == 403
    assert api.post(api.url(f"{API}/ownership/accept"), json={"token": token},
                    headers=heir.auth).status_code == 400


def test_other_apps_check_permissions_with_a_service_token(api, mailbox, system_env):
    owner, company_id = sign_up(api)
    keeper = join(api, mailbox, owner, company_id, "warehouse")
    issued = subprocess.run([os.path.join(os.path.dirname(sys.executable), "kadra-service-token"),
                             "--name", "invoicing"], cwd=ROOT, env=system_env, capture_output=True, text=True,
                            check=True).stdout.strip()
    header = jwt.get_unverified_header(issued)  # service tokens are JWTs (HS256, kid) since issue 13
    assert header["alg"] == "HS256" and header["kid"]
    assert jwt.decode(issued, options={"verify_signature": False})["sub"] == "invoicing"
    url = api.url(f"{API}/companies/{company_id}/permissions/check")
    service = {"Authorization": f"Bearer {issued}"}
    answers = {p: api.get(url, params={"account_id": keeper.account_id, "permission": p}, headers=service)
               for p in ("warehouse.write", "invoices.read")}
    assert {p: (r.status_code, r.json().get("allowed")) for p, r in answers.items()} == {
        "warehouse.write": (200, True), "invoices.read": (200, False)}
    forged = {"Authorization": f"Bearer {issued[:-4]}AAAA"}
    assert api.get(url, params={"account_id": keeper.account_id, "permission": "invoices.read"},
                   headers=forged).status_code == 401
    # A token of the earlier format (kst1., issued before the JWTs) works until it expires.
    from kadra_defaults.contracts.service_tokens import read_secret

    secret = read_secret(system_env.get("KADRA_SERVICE_TOKEN_SECRET", ""), os.path.join(
        ROOT, system_env.get("KADRA_SERVICE_TOKEN_SECRET_FILE", ".kadra/keys/service-token.secret")))
    for expires_in, status in ((3600, 200), (-1, 401)):
        legacy = _legacy_service_token("warehouse", secret, expires_in)
        answer = api.get(url, params={"account_id": keeper.account_id, "permission": "warehouse.write"},
                         headers={"Authorization": f"Bearer {legacy}"})
        assert answer.status_code == status, answer.text


def _legacy_service_token(name: str, secret: bytes, expires_in: int) -> str:
    """`kst1.<payload>.<mac>` as kadra-service-token issued them before service tokens became JWTs."""
    import base64
    import hashlib
    import hmac
    import json
    import time

    def b64(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

    now = int(time.time())
    signed = "kst1." + b64(json.dumps({"name": name, "iat": now - 60, "exp": now + expires_in}).encode())
    return f"{signed}.{b64(hmac.new(secret, signed.encode(), hashlib.sha256).digest())}"
