"""Sign-up, attacked: it is no password oracle, it cannot pre-hijack somebody's address, its notices to an
address's owner are few, and one client address cannot sign up without limit.

Before the e-mailed link, `POST /accounts` with a taken address answered 201 with the account's real ids
when the password was right and fresh ids when it was wrong, with no limit (the issue measured 30 guesses
in 2.8 s), and a sign-up on somebody else's address made a working account at once (a phone could be paired
to it and kept after the real owner reset the password).
"""
import time
import uuid

import pytest
import requests

from tests.support import signup
from tests.support.devices import Phone
from tests.support.identity import PASSWORD, bearer, login, sign_up, unique_email

pytestmark = pytest.mark.e2e

NOTICE = "someone tried to create an account"
NOTICE_PL = "ktoś próbował założyć konto"


def _strip(body: dict) -> dict:
    return {k: v for k, v in body.items() if k != "request_id"}


def _notices(mailbox, email):
    return [m for m in mailbox.to(email) if NOTICE in m.subject or NOTICE_PL in m.subject]


def test_sign_up_with_a_taken_address_is_no_password_oracle(api, mailbox):
    owner = sign_up(api)
    right = signup.request(api, owner["email"], owner["password"], "Mallory", "Evil Sp. z o.o.", "en")
    wrong = signup.request(api, owner["email"], "someone else's passphrase", "Mallory", "Evil Sp. z o.o.", "en")
    fresh = signup.request(api, unique_email("fresh"), "someone else's passphrase", "Mallory", "Evil Sp. z o.o.",
                           "en")
    assert right.status_code == wrong.status_code == fresh.status_code == 202, (right.text, wrong.text, fresh.text)
    assert _strip(right.json()) == _strip(wrong.json()) == _strip(fresh.json())
    assert set(_strip(fresh.json())) == {"detail", "detail_pl"}
    assert {k for k in right.headers if k.lower() not in ("date", "x-request-id")} == \
        {k for k in fresh.headers if k.lower() not in ("date", "x-request-id")}
    for answer in (right, wrong, fresh):
        assert owner["account_id"] not in answer.text and owner["company_id"] not in answer.text
        assert "account_id" not in answer.text and "company_id" not in answer.text
    # a refused password is refused alike for a taken and a new address
    weak_taken = signup.request(api, owner["email"], "short", "Mallory", "Evil", "en")
    weak_new = signup.request(api, unique_email("weak"), "short", "Mallory", "Evil", "en")
    assert weak_taken.status_code == weak_new.status_code == 422
    assert _strip(weak_taken.json()) == _strip(weak_new.json())
    # nothing changed for the owner; the guesser's password opens nothing
    assert login(api, owner["email"])["access_token"]
    assert api.post(api.url("/api/v1/auth/login"), json={"email": owner["email"],
                                                         "password": "someone else's passphrase"}).status_code == 401
    # the owner is told, in their own language and name, with a way to log in or reset, and no link to confirm
    notices = mailbox.wait_for(owner["email"], NOTICE, count=2, timeout=30)
    for mail in notices:
        paths = {link.split("/app/", 1)[1] for link in mail.links()}
        assert paths == {"login", "forgot-password"}, mail.links()
        assert "#token=" not in mail.text + mail.html
        assert "Mallory" not in mail.text + mail.html and "Evil" not in mail.text + mail.html
        assert "Anna Kowalska" in mail.text


def test_a_sign_up_on_somebody_elses_address_logs_in_nowhere_and_never_blocks_its_owner(api, mailbox, mongo,
                                                                                       system_env):
    victim = unique_email("victim")
    attacker_password = "the attacker's own passphrase"
    known = {m.name for _, m in signup.confirmation_mails(victim, mailbox)}
    squat = signup.request(api, victim, attacker_password, "Eve", "Eve's Company", "en")
    assert squat.status_code == 202, squat.text
    # without the link (it went to the victim's mailbox): no login, no phone
    assert api.post(api.url("/api/v1/auth/login"), json={"email": victim, "password": attacker_password}).status_code == 401
    phone = Phone(api)
    paired = phone.activate({"email": victim, "password": attacker_password})
    assert paired.status_code == 401, paired.text
    assert phone.device_id is None
    _, squatters_mail = signup.wait_for_confirmation(victim, mailbox, known)

    # the real owner signs up later, follows their own link and owns the address
    owner = sign_up(api, email=victim)
    assert login(api, victim)["access_token"]
    assert api.post(api.url("/api/v1/auth/login"), json={"email": victim, "password": attacker_password}).status_code == 401
    me = api.get(api.url("/api/v1/me"), headers=bearer(login(api, victim))).json()
    assert me["account_id"] == owner["account_id"] and me["full_name"] == "Anna Kowalska"
    assert [c["name"] for c in me["companies"]] == ["Kowalska Sp. z o.o."]
    # the squatter's link, opened later by the owner by mistake, makes nothing
    late = signup.confirm(api, signup.token_of(squatters_mail))
    assert late.status_code == 400 and "already has an account" in late.json()["detail"]
    assert mongo[f"{system_env['KADRA_MONGO_DB_PREFIX']}_identity"].accounts.count_documents(
        {"email_norm": victim}) == 1
    assert Phone(api).activate({"email": victim, "password": attacker_password}).status_code == 401


def test_an_address_gets_at_most_three_sign_up_emails_an_hour(api, mailbox):
    owner = sign_up(api, locale="pl")  # its confirmation link was the first of this hour
    answers = [signup.request(api, owner["email"], f"guess number {i} of many", "Mallory", "Evil", "pl")
               for i in range(6)]
    assert [a.status_code for a in answers] == [202] * 6
    assert len({repr(_strip(a.json())) for a in answers}) == 1  # held back or not, the same answer
    notices = mailbox.wait_for(owner["email"], NOTICE_PL, count=2, timeout=30)
    assert all(n.headers.get("Content-Language") == "pl" for n in notices)
    # a later e-mail to the owner arrives, and still no fourth notice
    assert api.post(api.url("/api/v1/auth/password/forgot"), json={"email": owner["email"]}).status_code == 202
    mailbox.wait_for(owner["email"], "nowe hasło", count=1, timeout=30)
    time.sleep(1)
    assert len(_notices(mailbox, owner["email"])) == 2
    # and a new address is as protected: three confirmation links an hour at most
    stranger = unique_email("stranger")
    for i in range(5):
        assert signup.request(api, stranger, PASSWORD, "Mallory", "Evil", "pl").status_code == 202
    mailbox.wait_for(stranger, count=3, timeout=30)
    time.sleep(2)
    assert len(signup.confirmation_mails(stranger, mailbox)) == 3


def _client(strict_system, address: str) -> requests.Session:
    session = requests.Session()
    session.url = lambda path: strict_system.base_url + path
    session.headers["X-Forwarded-For"] = address
    return session


def test_sign_ups_from_one_client_address_are_limited(strict_system, smtp_server):
    mailbox = smtp_server.mailbox
    limit = int(strict_system.env["KADRA_LIMIT_SIGNUPS_PER_CLIENT_HOUR"])
    client = _client(strict_system, f"198.51.100.{uuid.uuid4().int % 200 + 1}")
    taken = unique_email("taken")
    signup.sign_up(_client(strict_system, "192.0.2.10"), taken, PASSWORD, "Anna", "Firma", "en", mailbox=mailbox)
    addresses = [unique_email(f"burst{i}") for i in range(limit)]
    for email in addresses:
        assert signup.request(client, email, PASSWORD, "Mallory", "Evil", "en").status_code == 202
    over = [unique_email("over"), unique_email("over")]
    refused = [signup.request(client, over[0], PASSWORD, "Mallory", "Evil", "en"),
               signup.request(client, over[1], PASSWORD, "Mallory", "Evil", "pl")]
    for answer in refused:
        assert answer.status_code == 429, answer.text
        assert int(answer.headers["Retry-After"]) > 0
        problem = answer.json()
        assert "sign-ups" in problem["detail"] and "rejestracji" in problem["detail_pl"]
    # an address that has an account meets the same limit (it is about the client, not the address)
    with_account = signup.request(client, taken, PASSWORD, "Mallory", "Evil", "en")
    assert with_account.status_code == 429
    # another client is not affected
    other = _client(strict_system, "203.0.113.77")
    assert signup.request(other, unique_email("other"), PASSWORD, "Ewa", "Firma", "en").status_code == 202
    # the refused ones sent nothing; the accepted ones each got their link
    for email in addresses:
        signup.wait_for_confirmation(email, mailbox)
    time.sleep(1)
    assert not mailbox.to(over[0]) and not mailbox.to(over[1])
