"""Identity end to end: sign-up, login, /me, refresh rotation and reuse, logout, revocation in every worker."""
import concurrent.futures
import time

import pytest

from tests.support import signup
from tests.support.identity import PASSWORD, bearer, login, sign_up, unique_email

pytestmark = pytest.mark.e2e


def test_sign_up_login_me(api):
    person = sign_up(api, full_name="Anna Kowalska", company_name="Kowalska Sp. z o.o.")
    tokens = login(api, person["email"].upper())  # e-mail compared case-insensitively
    assert tokens["token_type"] == "Bearer" and tokens["expires_in"] == 900
    me = api.get(api.url("/api/v1/me"), headers=bearer(tokens))
    assert me.status_code == 200, me.text
    body = me.json()
    assert body["account_id"] == person["account_id"]
    assert body["email"] == person["email"] and body["full_name"] == "Anna Kowalska" and body["locale"] == "en"
    assert body["companies"] == [{"company_id": person["company_id"], "name": "Kowalska Sp. z o.o.", "role": "owner",
                                  "second_factor_required": False}]


def test_patch_me_changes_name_and_locale(api):
    person = sign_up(api)
    tokens = login(api, person["email"])
    response = api.patch(api.url("/api/v1/me"), json={"full_name": "Anna Nowak", "locale": "pl"},
                         headers=bearer(tokens))
    assert response.status_code == 200, response.text
    assert response.json()["full_name"] == "Anna Nowak" and response.json()["locale"] == "pl"
    bad = api.patch(api.url("/api/v1/me"), json={"locale": "de"}, headers=bearer(tokens))
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "locale"


def test_refresh_rotates_and_reuse_ends_the_family(api):
    person = sign_up(api)
    first = login(api, person["email"])
    second = api.post(api.url("/api/v1/auth/refresh"), json={"refresh_token": first["refresh_token"]})
    assert second.status_code == 200, second.text
    second = second.json()
    assert second["refresh_token"] != first["refresh_token"]
    assert api.get(api.url("/api/v1/me"), headers=bearer(second)).status_code == 200
    # the spent token again: refused, and the whole family ends (the newer refresh token too)
    reuse = api.post(api.url("/api/v1/auth/refresh"), json={"refresh_token": first["refresh_token"]})
    assert reuse.status_code == 401
    assert api.post(api.url("/api/v1/auth/refresh"), json={"refresh_token": second["refresh_token"]}).status_code == 401
    deadline = time.monotonic() + 1.0
    while api.get(api.url("/api/v1/me"), headers=bearer(second)).status_code != 401:
        assert time.monotonic() < deadline, "access token of an ended family still accepted after 1 s"
        time.sleep(0.05)


def test_logout_ends_the_session_in_every_worker_within_a_second(api):
    person = sign_up(api)
    tokens = login(api, person["email"])
    other = login(api, person["email"])
    # warm up both gateway workers (their feeds are live after the first request)
    for _ in range(10):
        assert api.get(api.url("/api/v1/me"), headers=bearer(tokens)).status_code == 200
    assert api.post(api.url("/api/v1/auth/logout"), json={}, headers=bearer(tokens)).status_code == 204
    started = time.monotonic()
    statuses = []
    # many fresh connections, so both workers answer
    while time.monotonic() - started < 1.5:
        import requests
        statuses.append((time.monotonic() - started, requests.get(api.url("/api/v1/me"), headers=bearer(tokens)).status_code))
    late = [(t, s) for t, s in statuses if t > 1.0 and s != 401]
    assert not late, f"accepted after 1 s: {late[:5]}"
    assert api.post(api.url("/api/v1/auth/refresh"), json={"refresh_token": tokens["refresh_token"]}).status_code == 401
    # the other session is untouched
    assert api.get(api.url("/api/v1/me"), headers=bearer(other)).status_code == 200


def test_wrong_pair_unknown_address_and_malformed_input(api):
    person = sign_up(api)
    wrong = api.post(api.url("/api/v1/auth/login"), json={"email": person["email"], "password": PASSWORD + "x"})
    unknown = api.post(api.url("/api/v1/auth/login"), json={"email": unique_email(), "password": PASSWORD})
    assert wrong.status_code == unknown.status_code == 401
    strip = lambda b: {k: v for k, v in b.items() if k != "request_id"}  # noqa: E731
    assert strip(wrong.json()) == strip(unknown.json())
    bad = api.post(api.url("/api/v1/auth/login"), json={"email": "not-an-address", "password": "x"})
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "email"
    missing = api.post(api.url("/api/v1/auth/login"), json={"email": person["email"]})
    assert missing.status_code == 422 and missing.json()["errors"][0]["field"] == "password"


def test_concurrent_sign_ups_with_one_address_make_one_account(api, mongo, system_env, mailbox):
    email = unique_email()

    def attempt(i):
        return signup.request(api, email if i % 2 else email.upper(), PASSWORD, "X", f"Firma {i}").status_code

    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        statuses = list(pool.map(attempt, range(8)))
    assert set(statuses) == {202}
    mailbox.wait_for(email, count=3, timeout=30)  # three links an hour to one address at most
    tokens = [signup.token_of(m) for _, m in signup.confirmation_mails(email, mailbox)]
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        confirmed = list(pool.map(lambda t: signup.confirm(api, t).status_code, tokens))
    assert sorted(confirmed) == [200, 400, 400], confirmed  # the first confirmed wins
    db = mongo[f"{system_env['KADRA_MONGO_DB_PREFIX']}_identity"]
    assert db.accounts.count_documents({"email_norm": email.lower()}) == 1


def test_16_concurrent_refreshes_of_one_token_at_most_one_wins_and_the_family_ends(api):
    import requests
    person = sign_up(api)
    tokens = login(api, person["email"])

    def refresh(_):
        return requests.post(api.url("/api/v1/auth/refresh"), json={"refresh_token": tokens["refresh_token"]},
                             timeout=30)

    with concurrent.futures.ThreadPoolExecutor(16) as pool:
        answers = list(pool.map(refresh, range(16)))
    winners = [a.json() for a in answers if a.status_code == 200]
    assert len(winners) <= 1 and all(a.status_code in (200, 401) for a in answers)
    if winners and len(answers) > 1:  # a second use happened: the winner's new token is dead too
        again = api.post(api.url("/api/v1/auth/refresh"), json={"refresh_token": winners[0]["refresh_token"]})
        assert again.status_code == 401


def test_a_hash_made_with_weaker_parameters_is_upgraded_at_the_next_login(api, mongo, system_env):
    from argon2 import PasswordHasher, Type

    person = sign_up(api)
    accounts = mongo[f"{system_env['KADRA_MONGO_DB_PREFIX']}_identity"].accounts
    weak = PasswordHasher(time_cost=1, memory_cost=8 * 1024, parallelism=1, type=Type.ID).hash(PASSWORD)
    accounts.update_one({"_id": person["account_id"]}, {"$set": {"password_hash": weak}})
    assert login(api, person["email"])["access_token"]
    stored = accounts.find_one({"_id": person["account_id"]})["password_hash"]
    assert stored != weak and stored.startswith("$argon2id$v=19$m=19456,t=2,p=1$")
    assert login(api, person["email"])["access_token"]  # and the upgraded hash still takes the password
