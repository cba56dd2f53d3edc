"""Abuse limits of the users service, as the attacks they stop: e-mail from our domain to strangers, with
attacker-chosen company names, without end.

On `strict_system` (tests/conftest.py STRICT_LIMITS: invitations 4 per inviter and 6 per company a day,
companies 2 per account a day), and on the main system a busy office's normal day that never meets the
defaults.
"""
import random
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from tests.support.users import API, accept, invitation_token, invite, login, sign_up, unique_email

pytestmark = pytest.mark.e2e


@pytest.fixture
def strict(strict_system):
    """A session against strict_system, as one client of its own (X-Forwarded-For: its per-client limits)."""
    session = requests.Session()
    session.url = lambda path: strict_system.base_url + path
    session.headers["X-Forwarded-For"] = f"10.{random.randrange(256)}.{random.randrange(256)}.{random.randrange(1, 255)}"
    yield session
    session.close()


def _assert_limited(response, what_en: str, what_pl: str):
    assert response.status_code == 429, response.text
    assert response.headers["Content-Type"] == "application/problem+json"
    assert 0 < int(response.headers["Retry-After"]) <= 86400 + 1
    problem = response.json()
    assert problem["code"] == "too_many_requests" and int(problem["retry_after"]) == int(response.headers["Retry-After"])
    assert what_en in problem["detail"] and "per day" in problem["detail"], problem
    assert what_pl in problem["detail_pl"] and "na dobę" in problem["detail_pl"], problem


def _resend(api, actor, company_id, invitation_id):
    return api.post(api.url(f"{API}/companies/{company_id}/invitations/{invitation_id}/resend"), headers=actor.auth)


def test_an_inviter_cannot_mail_a_fifth_stranger_today(strict, mailbox):
    owner, company_id = sign_up(strict, company_name="Faktury Pilne Sp. z o.o.")
    strangers = [unique_email("stranger") for _ in range(5)]
    for address in strangers[:4]:
        assert invite(strict, owner, company_id, address, "employee").status_code == 201
    _assert_limited(invite(strict, owner, company_id, strangers[4], "employee"),
                    "invitations sent by you", "zaproszeń wysłanych przez Ciebie")
    # nothing of the refused one was written or sent
    listed = strict.get(strict.url(f"{API}/companies/{company_id}/users"), headers=owner.auth).json()
    assert strangers[4] not in {row["email"] for row in listed}
    mailbox.wait_for(strangers[3], timeout=30)
    assert mailbox.to(strangers[4]) == []


def test_a_re_send_counts_as_an_invitation(strict):
    owner, company_id = sign_up(strict)
    first = invite(strict, owner, company_id, unique_email("stranger"), "employee")
    assert first.status_code == 201
    invitation_id = first.json()["invitation_id"]
    assert invite(strict, owner, company_id, unique_email("stranger"), "employee").status_code == 201
    assert _resend(strict, owner, company_id, invitation_id).status_code == 202
    assert _resend(strict, owner, company_id, invitation_id).status_code == 202
    _assert_limited(_resend(strict, owner, company_id, invitation_id),
                    "invitations sent by you", "zaproszeń wysłanych przez Ciebie")


def test_a_company_cannot_mail_a_seventh_stranger_today_whoever_sends(strict, mailbox):
    owner, company_id = sign_up(strict)
    manager_email = unique_email("manager")
    assert invite(strict, owner, company_id, manager_email, "manager").status_code == 201  # the company's 1st
    response = accept(strict, invitation_token(mailbox, manager_email), full_name="Anna Nowak")
    assert response.status_code == 200, response.text
    from tests.support.users import PASSWORD, Person
    manager = login(strict, Person(email=manager_email, password=PASSWORD, full_name="Anna Nowak"))
    for _ in range(3):  # the owner's 2nd-4th: the owner's own limit reached, the company's at 4
        assert invite(strict, owner, company_id, unique_email("stranger"), "employee").status_code == 201
    for _ in range(2):  # the company's 5th and 6th
        assert invite(strict, manager, company_id, unique_email("stranger"), "employee").status_code == 201
    # the manager has sent 2 of their 4, but the company has sent its 6
    _assert_limited(invite(strict, manager, company_id, unique_email("stranger"), "employee"),
                    "invitations from this company", "zaproszeń z tej firmy")


def test_forty_parallel_invitations_send_exactly_the_limit(strict):
    owner, company_id = sign_up(strict)
    addresses = [unique_email("burst") for _ in range(40)]

    def one(address):
        session = requests.Session()
        session.headers.update(strict.headers)
        try:
            return session.post(strict.url(f"{API}/companies/{company_id}/users"), headers=owner.auth,
                                json={"email": address, "role": "employee"}, timeout=30).status_code
        finally:
            session.close()

    with ThreadPoolExecutor(40) as pool:
        statuses = list(pool.map(one, addresses))
    assert statuses.count(201) == 4 and statuses.count(429) == 36, statuses
    listed = strict.get(strict.url(f"{API}/companies/{company_id}/users"), headers=owner.auth).json()
    assert len([row for row in listed if row["status"] == "invited"]) == 4


def test_a_person_creates_two_companies_a_day_besides_the_one_of_their_sign_up(strict):
    person, _ = sign_up(strict)
    for name in ("Druga Firma", "Trzecia Firma"):
        response = strict.post(strict.url(f"{API}/companies"), json={"name": name}, headers=person.auth)
        assert response.status_code == 201, response.text
    response = strict.post(strict.url(f"{API}/companies"), json={"name": "Bank Polski - pilne"}, headers=person.auth)
    _assert_limited(response, "new companies", "nowych firm")
    me = strict.get(strict.url(f"{API}/me"), headers=person.auth).json()
    assert "Bank Polski - pilne" not in {c["name"] for c in me.get("companies", [])}


@pytest.mark.slow
def test_a_busy_office_day_never_meets_the_default_limits(api):
    """An accounting office on the main system (default limits): 5 new client companies and 40 invitations
    from one owner (10 into one company, a re-send among them), all accepted."""
    owner, first_company = sign_up(api)
    companies = [first_company]
    for n in range(5):
        response = api.post(api.url(f"{API}/companies"), json={"name": f"Klient {n + 1} Sp. z o.o."},
                            headers=owner.auth)
        assert response.status_code == 201, response.text
        companies.append(response.json()["company_id"])
    started = time.monotonic()
    sent = []
    for n in range(40):
        company_id = companies[n % len(companies)] if n >= 10 else first_company
        response = invite(api, owner, company_id, unique_email("staff"), "employee")
        assert response.status_code == 201, (n, response.text)
        sent.append((company_id, response.json()["invitation_id"]))
    company_id, invitation_id = sent[0]
    assert _resend(api, owner, company_id, invitation_id).status_code == 202
    print(f"40 invitations and a re-send in {time.monotonic() - started:.1f}s")
