"""Sign-up is all or nothing: when the company step (users) fails, a retry with the same data finishes it,
and one nobody retries is finished by identity's timer; no account is left without a company."""
import pytest

from tests.support.identity import PASSWORD, bearer, login, rpc_client, unique_email
from tests.support.infra import wait_until

pytestmark = pytest.mark.e2e


def _body(email, company):
    return {"email": email, "password": PASSWORD, "full_name": "Anna Kowalska", "company_name": company}


@pytest.mark.slow
def test_a_sign_up_whose_company_step_failed_is_finished_by_a_retry_or_by_the_timer(api, system, mongo, system_env):
    accounts = mongo[f"{system_env['KADRA_MONGO_DB_PREFIX']}_identity"].accounts
    retried, forgotten = unique_email("retried"), unique_email("forgotten")
    system.stop_process("users")
    try:
        for email, company in ((retried, "Biuro Rachunkowe Sp. z o.o."), (forgotten, "Porzucona Sp. z o.o.")):
            response = api.post(api.url("/api/v1/accounts"), json=_body(email, company), timeout=30)
            assert response.status_code in (503, 504), response.text
            assert response.headers["Content-Type"] == "application/problem+json"
            # half made: there is an account, but nobody can log in to it
            assert accounts.find_one({"email_norm": email})["status"] == "pending"
            assert api.post(api.url("/api/v1/auth/login"), json={"email": email, "password": PASSWORD}).status_code == 401
    finally:
        system.start_service("users")
    wait_until(lambda: api.get(api.url("/readyz")).status_code == 200, 60, what="readyz 200 after users is back")

    # the person retries with the same data: their account and one company, the same ids on every retry
    first = api.post(api.url("/api/v1/accounts"), json=_body(retried, "Biuro Rachunkowe Sp. z o.o."), timeout=30)
    assert first.status_code == 201, first.text
    again = api.post(api.url("/api/v1/accounts"), json=_body(retried, "Biuro Rachunkowe Sp. z o.o."), timeout=30)
    assert again.status_code == 201 and again.json() == first.json()
    me = api.get(api.url("/api/v1/me"), headers=bearer(login(api, retried))).json()
    assert [(c["company_id"], c["name"], c["role"]) for c in me["companies"]] == [
        (first.json()["company_id"], "Biuro Rachunkowe Sp. z o.o.", "owner")]
    assert accounts.count_documents({"email_norm": retried}) == 1

    # the other one never retries: once it is a minute old, identity's timer (every 30 s) finishes it
    client = rpc_client(system_env)
    try:
        client.call("identity", "advance_clock", 61)
    finally:
        client.close()
    wait_until(lambda: (accounts.find_one({"email_norm": forgotten}) or {}).get("status") == "active", 45,
               what="the forgotten sign-up finished by the timer")
    me = api.get(api.url("/api/v1/me"), headers=bearer(login(api, forgotten))).json()
    assert [(c["name"], c["role"]) for c in me["companies"]] == [("Porzucona Sp. z o.o.", "owner")]
    assert accounts.count_documents({"status": "pending", "email_norm": {"$in": [retried, forgotten]}}) == 0
