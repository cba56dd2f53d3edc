"""Invariants under concurrency, held by the database: one pending invitation per address, one owner.

Each runs on the session's Kadra (one process of everything) and on one with two processes of every
service and two gateways, the requests spread over both gateways (as the Kubernetes base runs it).
"""
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.support.systems import spread_session
from tests.support.users import API, join, owners, sign_up, token_from, unique_email

pytestmark = pytest.mark.e2e


@pytest.fixture(params=["one of each", "two of each"])
def kadra(request):
    """The running system: the session's, or the replicated one."""
    return request.getfixturevalue("system" if request.param == "one of each" else "replicated_system")


@pytest.fixture
def api(kadra):
    with spread_session(kadra) as session:
        yield session


def test_twenty_concurrent_invitations_of_one_address_leave_one(api, kadra, mongo):
    owner, company_id = sign_up(api)
    email = unique_email("twenty")

    def send(n):
        with spread_session(kadra) as session:
            # the same address, written differently
            address = email.upper() if n % 2 else email
            return session.post(session.url(f"{API}/companies/{company_id}/users"),
                                json={"email": address, "role": "employee"}, headers=owner.auth).status_code

    with ThreadPoolExecutor(20) as pool:
        statuses = list(pool.map(send, range(20)))
    assert sorted(statuses) == [201] + [409] * 19, statuses
    db = mongo[f"{kadra.env['KADRA_MONGO_DB_PREFIX']}_users"]
    assert db["invitations"].count_documents({"company_id": company_id, "email": email}) == 1
    rows = api.get(api.url(f"{API}/companies/{company_id}/users"), headers=owner.auth).json()
    assert [r["email"] for r in rows if r["status"] == "invited"] == [email]


def test_twenty_concurrent_role_changes_and_removals_around_the_owner_leave_exactly_one(api, kadra, mailbox, mongo):
    owner, company_id = sign_up(api)
    manager = join(api, mailbox, owner, company_id, "manager")
    heir = join(api, mailbox, owner, company_id, "employee")
    response = api.post(api.url(f"{API}/companies/{company_id}/ownership/transfer"),
                        json={"account_id": heir.account_id}, headers=owner.auth)
    assert response.status_code == 202, response.text
    mail = [m for m in mailbox.wait_for(heir.email, count=2, timeout=30) if "#token=" in m.text][-1]
    token = token_from(mail)
    users = f"{API}/companies/{company_id}/users"

    # Everything that could take the company's owner away or give it two, all at once.
    attempts = (
        [("PATCH", f"{users}/{owner.account_id}", {"role": "manager"}, manager)] * 4
        + [("PATCH", f"{users}/{owner.account_id}", {"role": "employee"}, owner)] * 2
        + [("DELETE", f"{users}/{owner.account_id}", None, manager)] * 3
        + [("DELETE", f"{users}/{owner.account_id}", None, owner)] * 2
        + [("PATCH", f"{users}/{heir.account_id}", {"role": "warehouse"}, manager)] * 3
        + [("DELETE", f"{users}/{heir.account_id}", None, manager)] * 2
        + [("POST", f"{API}/ownership/accept", {"token": token}, heir)] * 4
    )
    assert len(attempts) == 20

    def run(attempt):
        method, path, body, who = attempt
        with spread_session(kadra) as session:
            return session.request(method, session.url(path), json=body, headers=who.auth).status_code

    with ThreadPoolExecutor(20) as pool:
        statuses = list(pool.map(run, attempts))
    assert all(s < 500 for s in statuses), statuses
    final = owners(mongo, kadra.env, company_id)
    assert len(final) == 1, final
    assert final[0] in (owner.account_id, heir.account_id)
    accepted = statuses[-4:].count(200)
    assert accepted <= 1
    assert final == [heir.account_id if accepted else owner.account_id]
    # what the API says agrees with the database
    rows = api.get(api.url(users), headers=(heir if accepted else owner).auth).json()
    assert [r["account_id"] for r in rows if r["role"] == "owner"] == final
