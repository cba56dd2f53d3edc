"""Abuse limits of recovery and e-mail change: the attacks, on `strict_system` (tests/conftest.py STRICT_LIMITS).

- Password-reset requests per client address (KADRA_LIMIT_RESETS_PER_CLIENT_HOUR, 3 there): one client cannot
  send our reset e-mails to any number of addresses. The answer stays "202 always" for known and unknown
  addresses alike; a limit met is 429 for both alike, because it is about the client, not the address.
- E-mail-change requests per account (KADRA_LIMIT_EMAIL_CHANGES_PER_ACCOUNT_DAY, 2 there): a session cannot
  send confirmation e-mails to any number of strangers.
Clients are told apart by X-Forwarded-For (one trusted proxy, as behind the ingress).
"""
import re
import uuid

import pytest
import requests

from tests.support.identity import PASSWORD, bearer, login, sign_up, unique_email

pytestmark = pytest.mark.e2e


def _client(system, address: str) -> requests.Session:
    session = requests.Session()
    session.headers["X-Forwarded-For"] = address
    session.url = lambda path: system.base_url + path
    return session


def _new_client_address() -> str:
    raw = uuid.uuid4().bytes
    return f"10.{raw[0]}.{raw[1]}.{raw[2] or 1}"


@pytest.fixture
def strict(strict_system):
    """A client of the strict system with an address of its own (its sign-ups count for it alone)."""
    session = _client(strict_system, _new_client_address())
    yield session
    session.close()


def _forgot(session, email):
    return session.post(session.url("/api/v1/auth/password/forgot"), json={"email": email})


def _strip(body: dict) -> dict:
    """The body without what differs between two requests a moment apart: the request id, and the seconds
    left to wait (the second request comes a second later: "2224" vs "2223"), in numbers and in words."""
    out = {k: v for k, v in body.items() if k not in ("request_id", "retry_after")}
    for key in ("detail", "detail_pl"):
        if isinstance(out.get(key), str):
            out[key] = re.sub(r"[0-9]+", "#", out[key])
    return out


def test_reset_requests_per_client_address_are_limited_alike_for_known_and_unknown_addresses(strict,
                                                                                             strict_system, mailbox):
    known = sign_up(strict)
    attacker = _client(strict_system, "203.0.113.7")
    answers = [_forgot(attacker, email) for email in (known["email"], unique_email(), known["email"])]
    assert [a.status_code for a in answers] == [202, 202, 202]
    # the fourth from the same client: 429 for a known and an unknown address alike
    over_known, over_unknown = _forgot(attacker, known["email"]), _forgot(attacker, unique_email())
    assert over_known.status_code == over_unknown.status_code == 429, over_known.text
    assert _strip(over_known.json()) == _strip(over_unknown.json())
    body = over_known.json()
    assert body["code"] == "too_many_requests" and body["detail"] and body["detail_pl"] != body["detail"]
    assert 0 < int(over_known.headers["Retry-After"]) <= 3600
    # the same wait, but for the second that may pass between the two requests (each rounded up from its moment)
    assert abs(int(over_known.headers["Retry-After"]) - int(over_unknown.headers["Retry-After"])) <= 1
    # nothing was sent for the refused ones: two e-mails to the known address, from the first and third request
    mails = mailbox.wait_for(known["email"], "set a new password", count=2, timeout=30)
    assert len(mails) == 2
    # another client is not affected; bad input is still 422, not counted
    other = _client(strict_system, "203.0.113.8")
    assert _forgot(other, known["email"]).status_code == 202
    assert _forgot(attacker, "not-an-address").status_code == 422


def test_email_change_requests_per_account_are_limited(strict, mailbox):
    person, other = sign_up(strict), sign_up(strict)
    headers = bearer(login(strict, person["email"]))
    targets = [unique_email("target") for _ in range(3)]
    for target in targets[:2]:
        response = strict.post(strict.url("/api/v1/me/email"), headers=headers,
                               json={"new_email": target, "password": PASSWORD})
        assert response.status_code == 202, response.text
    # a wrong password is refused as before and sends nothing (the lockout counts it)
    wrong = strict.post(strict.url("/api/v1/me/email"), headers=headers,
                        json={"new_email": targets[2], "password": "not the password at all"})
    assert wrong.status_code == 422
    over = strict.post(strict.url("/api/v1/me/email"), headers=headers,
                       json={"new_email": targets[2], "password": PASSWORD})
    assert over.status_code == 429, over.text
    assert over.json()["detail_pl"] and int(over.headers["Retry-After"]) > 0
    mailbox.wait_for(targets[1], "confirm your new e-mail address", timeout=30)
    assert not mailbox.to(targets[2])
    # per account: another person's request goes through
    assert strict.post(strict.url("/api/v1/me/email"), headers=bearer(login(strict, other["email"])),
                       json={"new_email": unique_email("target"), "password": PASSWORD}).status_code == 202
