"""Sign-up by e-mailed link: the link is stored hashed, works once, expires after 24 hours; confirming it
is all or nothing (when the company step fails, the same link again finishes it, and one nobody retries
is finished by identity's timer); of several waiting sign-ups for one address the first confirmed wins."""
import concurrent.futures
import hashlib

import pytest

from tests.support import signup
from tests.support.identity import PASSWORD, bearer, login, rpc_client, unique_email
from tests.support.infra import wait_until

pytestmark = pytest.mark.e2e


def _identity_db(mongo, system_env):
    return mongo[f"{system_env['KADRA_MONGO_DB_PREFIX']}_identity"]


def _ask(api, mailbox, email, password=PASSWORD, company="Kowalska Sp. z o.o.") -> str:
    """A sign-up request; the token of the confirmation e-mail it caused."""
    known = {m.name for _, m in signup.confirmation_mails(email, mailbox)}
    response = signup.request(api, email, password, "Anna Kowalska", company, "en")
    assert response.status_code == 202, response.text
    _, mail = signup.wait_for_confirmation(email, mailbox, known)
    return signup.token_of(mail)


@pytest.fixture
def clock(system_env):
    """Move identity's clock forward; every move is undone afterwards (other tests see the real time)."""
    client = rpc_client(system_env)
    moved = []

    def advance(seconds):
        client.call("identity", "advance_clock", seconds)
        moved.append(seconds)

    try:
        yield advance
    finally:
        if moved:
            client.call("identity", "advance_clock", -sum(moved))
        client.close()


def test_the_link_makes_the_account_and_company_once_and_a_second_use_is_refused(api, mailbox, mongo, system_env):
    email = unique_email("once")
    token = _ask(api, mailbox, email)
    # before the link: no account, nobody can log in
    assert _identity_db(mongo, system_env).accounts.find_one({"email_norm": email}) is None
    assert api.post(api.url("/api/v1/auth/login"), json={"email": email, "password": PASSWORD}).status_code == 401

    first = signup.confirm(api, token)
    assert first.status_code == 200, first.text
    made = first.json()
    assert set(made) == {"account_id", "company_id"}
    me = api.get(api.url("/api/v1/me"), headers=bearer(login(api, email))).json()
    assert me["account_id"] == made["account_id"] and me["email"] == email and me["full_name"] == "Anna Kowalska"
    assert [(c["company_id"], c["name"], c["role"]) for c in me["companies"]] == [
        (made["company_id"], "Kowalska Sp. z o.o.", "owner")]

    again = signup.confirm(api, token)
    assert again.status_code == 400, again.text
    problem = again.json()
    assert problem["errors"][0]["field"] == "token" and problem["detail"] and problem["detail_pl"]
    assert made["account_id"] not in again.text
    assert _identity_db(mongo, system_env).accounts.count_documents({"email_norm": email}) == 1


@pytest.mark.parametrize("body, status", [
    ({"token": "x"}, 400), ({"token": "A" * 43}, 400), ({"token": "ą" * 43}, 400), ({"token": "x" * 512}, 400),
    ({}, 422), ({"token": ""}, 422), ({"token": 5}, 422), ({"token": None}, 422), ({"token": "x" * 513}, 422),
])
def test_a_bad_token_is_a_clear_4xx_naming_the_field(api, body, status):
    response = api.post(api.url("/api/v1/accounts/confirm"), json=body)
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"] == "application/problem+json"
    problem = response.json()
    assert problem["detail"] and problem["detail_pl"] and problem["errors"][0]["field"] == "token"


def test_the_link_and_the_password_are_stored_only_as_hashes(api, mailbox, mongo, system_env):
    email = unique_email("hashed")
    token = _ask(api, mailbox, email, password="a long and private passphrase 7")
    signups = _identity_db(mongo, system_env).signups
    digest = hashlib.sha256(token.encode()).hexdigest()
    wait_until(lambda: not (signups.find_one({"_id": digest}) or {}).get("outbox"), 10, what="the e-mail published")
    stored = signups.find_one({"_id": digest})
    assert stored["email"] == email and stored["password_hash"].startswith("$argon2id$")
    assert token not in repr(stored) and "a long and private passphrase 7" not in repr(stored)
    assert len(token) >= 22  # >= 128 bits in URL-safe base64
    assert signup.confirm(api, token).status_code == 200
    assert "password_hash" not in signups.find_one({"_id": digest})  # the account has it now


def test_a_link_expires_after_24_hours(api, mailbox, clock):
    early, late = unique_email("early"), unique_email("late")
    early_token, late_token = _ask(api, mailbox, early), _ask(api, mailbox, late)
    clock(24 * 3600 - 120)
    assert signup.confirm(api, early_token).status_code == 200
    clock(180)
    expired = signup.confirm(api, late_token)
    assert expired.status_code == 400, expired.text
    assert expired.json()["errors"][0]["field"] == "token"
    assert api.post(api.url("/api/v1/auth/login"), json={"email": late, "password": PASSWORD}).status_code == 401
    # the person asks again and follows the new link
    assert signup.confirm(api, _ask(api, mailbox, late)).status_code == 200
    assert login(api, late)["access_token"]


def test_of_several_waiting_sign_ups_for_one_address_the_first_confirmed_wins(api, mailbox, mongo, system_env):
    email = unique_email("several")
    tokens = [_ask(api, mailbox, email if i % 2 else email.upper(), company=f"Firma {i}") for i in range(3)]
    with concurrent.futures.ThreadPoolExecutor(3) as pool:
        answers = list(pool.map(lambda t: signup.confirm(api, t), tokens))
    statuses = sorted(a.status_code for a in answers)
    assert statuses == [200, 400, 400], [a.text for a in answers]
    winner = next(a.json() for a in answers if a.status_code == 200)
    for loser in (a for a in answers if a.status_code == 400):
        assert "already has an account" in loser.json()["detail"] and "ma już konto" in loser.json()["detail_pl"]
    assert _identity_db(mongo, system_env).accounts.count_documents({"email_norm": email}) == 1
    me = api.get(api.url("/api/v1/me"), headers=bearer(login(api, email))).json()
    assert [c["company_id"] for c in me["companies"]] == [winner["company_id"]]


@pytest.mark.slow
def test_a_confirmation_whose_company_step_failed_is_finished_by_the_same_link_or_by_the_timer(
        api, mailbox, system, mongo, system_env, clock):
    accounts = _identity_db(mongo, system_env).accounts
    retried, forgotten = unique_email("retried"), unique_email("forgotten")
    retried_token = _ask(api, mailbox, retried, company="Biuro Rachunkowe Sp. z o.o.")
    forgotten_token = _ask(api, mailbox, forgotten, company="Porzucona Sp. z o.o.")
    system.stop_process("users")
    try:
        for email, token in ((retried, retried_token), (forgotten, forgotten_token)):
            response = signup.confirm(api, token)
            assert response.status_code in (503, 504), response.text
            assert response.headers["Content-Type"] == "application/problem+json"
            # half made: there is an account, but nobody can log in to it
            assert accounts.find_one({"email_norm": email})["status"] == "pending"
            assert api.post(api.url("/api/v1/auth/login"), json={"email": email, "password": PASSWORD}).status_code == 401
    finally:
        system.start_service("users")
    wait_until(lambda: api.get(api.url("/readyz")).status_code == 200, 60, what="readyz 200 after users is back")

    # the person opens the same link again: their account and one company
    first = signup.confirm(api, retried_token)
    assert first.status_code == 200, first.text
    me = api.get(api.url("/api/v1/me"), headers=bearer(login(api, retried))).json()
    assert [(c["company_id"], c["name"], c["role"]) for c in me["companies"]] == [
        (first.json()["company_id"], "Biuro Rachunkowe Sp. z o.o.", "owner")]
    assert accounts.count_documents({"email_norm": retried}) == 1
    assert signup.confirm(api, retried_token).status_code == 400  # and now it is used

    # the other one never retries: once it is a minute old, identity's timer (every 30 s) finishes it
    clock(61)
    wait_until(lambda: (accounts.find_one({"email_norm": forgotten}) or {}).get("status") == "active", 45,
               what="the forgotten sign-up finished by the timer")
    me = api.get(api.url("/api/v1/me"), headers=bearer(login(api, forgotten))).json()
    assert [(c["name"], c["role"]) for c in me["companies"]] == [("Porzucona Sp. z o.o.", "owner")]
    assert accounts.count_documents({"status": "pending", "email_norm": {"$in": [retried, forgotten]}}) == 0
    assert signup.confirm(api, forgotten_token).status_code == 400
