"""GET /me answers from each gateway worker's copies (no RPC), and is right on the very next request
after anything that changes it, on every worker."""
import pytest
import requests

from tests.support.users import API, accept, invite, join, sign_up, token_from

pytestmark = pytest.mark.e2e

# New connections, so the requests spread over the gateway's workers (keep-alive would pin one).
SPREAD = 12


def _me_everywhere(system, person) -> list[dict]:
    answers = []
    for _ in range(SPREAD):
        response = requests.get(system.base_url + f"{API}/me", headers={**person.auth, "Connection": "close"},
                                timeout=10)
        assert response.status_code == 200, response.text
        answers.append(response.json())
    return answers


def _companies(answer) -> dict:
    return {c["company_id"]: (c["name"], c["role"]) for c in answer["companies"]}


def test_me_is_right_on_the_next_request_after_each_change(api, system, mailbox):
    owner, first = sign_up(api, company_name="Pierwsza Sp. z o.o.")
    member = join(api, mailbox, owner, first, "employee")
    other_owner, second = sign_up(api, prefix="other", company_name="Druga S.A.")

    # every worker holds a copy now
    assert all(_companies(a) == {first: ("Pierwsza Sp. z o.o.", "employee")} for a in _me_everywhere(system, member))

    # a role change
    response = api.patch(api.url(f"{API}/companies/{first}/users/{member.account_id}"),
                         json={"role": "manager"}, headers=owner.auth)
    assert response.status_code == 200, response.text
    assert all(_companies(a) == {first: ("Pierwsza Sp. z o.o.", "manager")} for a in _me_everywhere(system, member))

    # the company renamed (the member's own membership did not change)
    response = api.patch(api.url(f"{API}/companies/{first}"), json={"name": "Nowa Nazwa Sp. z o.o."},
                         headers=owner.auth)
    assert response.status_code == 200, response.text
    assert all(_companies(a) == {first: ("Nowa Nazwa Sp. z o.o.", "manager")} for a in _me_everywhere(system, member))

    # a second company joined by invitation
    assert invite(api, other_owner, second, member.email, "warehouse").status_code == 201
    # the member's third e-mail (after the first invitation and the role-change notice)
    mails = sorted(mailbox.wait_for(member.email, count=3, timeout=30), key=lambda m: m.name)
    token = token_from([m for m in mails if "#token=" in m.text][-1])
    response = accept(api, token, password=None, full_name=None, headers=member.auth)
    assert response.status_code == 200, response.text
    assert all(_companies(a) == {first: ("Nowa Nazwa Sp. z o.o.", "manager"), second: ("Druga S.A.", "warehouse")}
               for a in _me_everywhere(system, member))

    # removed from the first
    response = api.delete(api.url(f"{API}/companies/{first}/users/{member.account_id}"), headers=owner.auth)
    assert response.status_code == 204, response.text
    assert all(_companies(a) == {second: ("Druga S.A.", "warehouse")} for a in _me_everywhere(system, member))

    # the profile
    response = api.patch(api.url(f"{API}/me"), json={"full_name": "Anna Zmieniona"}, headers=member.auth)
    assert response.status_code == 200, response.text
    assert all(a["full_name"] == "Anna Zmieniona" for a in _me_everywhere(system, member))


def _rpc_calls(system, service: str, method: str) -> float:
    text = requests.get(f"http://127.0.0.1:{system.health_ports[service]}/metrics", timeout=5).text
    prefix = f'kadra_rpc_calls_total{{method="{method}",'
    return sum(float(line.split()[-1]) for line in text.splitlines() if line.startswith(prefix))


def test_me_answers_from_the_copies_without_asking_the_services(api, system):
    owner, _ = sign_up(api)
    # warm every worker (twice the spread: a worker missed once is hit the second time)
    _me_everywhere(system, owner)
    _me_everywhere(system, owner)
    before = (_rpc_calls(system, "identity", "get_accounts"), _rpc_calls(system, "users", "companies_of"))
    for _ in range(5):
        response = api.get(api.url(f"{API}/me"), headers=owner.auth)
        assert response.status_code == 200, response.text
    after = (_rpc_calls(system, "identity", "get_accounts"), _rpc_calls(system, "users", "companies_of"))
    assert before[0] > 0 and before[1] > 0  # the counters are the right ones: the first requests asked
    assert after == before
