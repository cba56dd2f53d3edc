"""Approve on the trusted phone, against the real services: a web login with the right password waits for the
phone, which sees the request (address, browser, time, app) and approves it with the number shown on the web
and its signed challenge plus the PIN (or the biometric key); deny, a wrong number, expiry, a blocked phone,
20 parallel approvals of one login, turning the method on and off (notices, audit), and a wrong password
answered the same with and without it.

Real gateway, identity, devices, users and notify over RabbitMQ and FerretDB; e-mails read from the SMTP sink.
Expiry is reached by moving the request's stored expiry into the past (waiting 2 minutes adds nothing).
"""
import uuid
from datetime import datetime, timedelta, timezone

import pytest

from tests.support import approvals as ap
from tests.support.devices import Phone, concurrently, phone_with_pin, sign_up, web_login
from tests.support.identity import rpc_client, session_from
from tests.support.second_factor import enrol
from tests.support.users import audit_entries

pytestmark = pytest.mark.e2e

API = "/api/v1"


def _client(api):
    """A session from its own loopback address, so the per-client failure counts of other tests never mix in."""
    return session_from(api, f"127.0.{uuid.uuid4().int % 200 + 30}.{uuid.uuid4().int % 250 + 2}")


def _person_with_phone(http, locale="en"):
    person = sign_up(http, locale=locale)
    headers = web_login(http, person)
    phone = phone_with_pin(http, person)
    turned = ap.turn_on(http, headers, person["password"])
    assert turned.status_code == 204, turned.text
    return person, headers, phone


def _identity_now(system_env) -> datetime:
    client = rpc_client(system_env)
    try:
        return datetime.fromisoformat(client.call("identity", "advance_clock", 0))  # moves it by nothing
    finally:
        client.close()


def test_the_phone_approves_a_web_login_and_the_tokens_come_once(api, mailbox, system_env):
    http = _client(api)
    person, headers, phone = _person_with_phone(http)
    status = http.get(http.url(f"{API}/me/second-factor"), headers=headers).json()
    assert status["phone"] is True and status["phone_enabled_at"]
    (notice,) = mailbox.wait_for(person["email"], "approving logins in the mobile app turned on", timeout=30)
    assert "number shown on the login screen" in notice.text

    pending = ap.login(http, person)
    assert pending["methods"] == ["phone"] and pending["approval_expires_in"] == 120
    number = pending["number"]
    assert len(number) == 2 and number.isdigit()
    first = ap.poll(http, pending["pending_token"])
    assert first.status_code == 202 and first.json()["status"] == "waiting" and first.json()["number"] == number
    item = ap.only_waiting(http, phone)
    assert item["app"] == "web" and item["purpose"] == "login" and item["user_agent"] == ap.BROWSER
    assert item["client_ip"].startswith("127.0.") and 0 < item["expires_in"] <= 120 and "number" not in item
    # identity's clock, which other tests of this session's system may have moved forward (lockout waits)
    assert abs(datetime.fromisoformat(item["requested_at"]) - _identity_now(system_env)) < timedelta(minutes=1)

    approved = ap.approve(http, phone, item["approval_id"], number)
    assert approved.status_code == 200 and approved.json() == {"decision": "approved"}, approved.text
    done = ap.poll(http, pending["pending_token"])
    assert done.status_code == 200, done.text
    me = http.get(http.url(f"{API}/me"), headers={"Authorization": f"Bearer {done.json()['access_token']}"})
    assert me.status_code == 200 and me.json()["account_id"] == person["account_id"]
    assert ap.poll(http, pending["pending_token"]).status_code == 400  # handed out once
    assert ap.waiting(http, phone).json() == {"approvals": []}
    again = ap.approve(http, phone, item["approval_id"], number)
    assert again.status_code == 409
    (entry,) = audit_entries(http, person["company_id"], headers, "second_factor_changed")
    assert entry["details"] == {"method": "phone", "change": "enabled"}


def test_a_denied_login_and_a_wrong_number_give_no_tokens(api):
    http = _client(api)
    person, _, phone = _person_with_phone(http)
    pending = ap.login(http, person)
    item = ap.only_waiting(http, phone)
    denied = ap.deny(http, phone, item["approval_id"])
    assert denied.status_code == 200 and denied.json() == {"decision": "denied"}
    answer = ap.poll(http, pending["pending_token"])
    assert answer.status_code == 403 and answer.json()["code"] == "login_denied"
    assert answer.json()["errors"][0]["field"] == "pending_token"

    pending = ap.login(http, person)
    item = ap.only_waiting(http, phone)
    wrong = ap.approve(http, phone, item["approval_id"], ap.other_number(pending["number"]))
    assert wrong.status_code == 422 and wrong.json()["errors"][0]["field"] == "number", wrong.text
    assert "login screen" in wrong.json()["errors"][0]["message"]
    assert ap.poll(http, pending["pending_token"]).status_code == 403
    late = ap.approve(http, phone, item["approval_id"], pending["number"])  # the right number, once denied
    assert late.status_code == 409


def test_denied_requests_count_toward_the_password_lockout(api):
    # each denial is a failed check of the address: a stolen password gets a few requests to the phone, not a flood
    # (5 logins left unfinished would lock too; with the denials counted the lock comes by the fourth)
    http = _client(api)
    person, _, phone = _person_with_phone(http)
    statuses = []
    for _ in range(4):
        response = http.post(http.url(f"{API}/auth/login"),
                             json={"email": person["email"], "password": person["password"]})
        statuses.append(response.status_code)
        if response.status_code != 200:
            break
        item = ap.only_waiting(http, phone)
        assert ap.deny(http, phone, item["approval_id"]).status_code == 200
    assert statuses[-1] == 429 and statuses[:-1] == [200] * (len(statuses) - 1), statuses


def test_twenty_parallel_approvals_of_one_pending_login_give_exactly_one_success(api):
    http = _client(api)
    person, _, phone = _person_with_phone(http)
    assert phone.enable_biometrics().status_code == 204
    pending = ap.login(http, person)
    item = ap.only_waiting(http, phone)
    challenges = [phone.new_challenge() for _ in range(20)]
    answers = concurrently([lambda c=c: ap.approve(http, phone, item["approval_id"], pending["number"],
                                                   biometric=True, challenge=c) for c in challenges], workers=20)
    statuses = sorted(a.status_code for a in answers)
    assert statuses.count(200) == 1 and statuses.count(409) == 19, statuses
    polls = concurrently([lambda: ap.poll(http, pending["pending_token"]) for _ in range(20)], workers=20)
    assert sorted(p.status_code for p in polls).count(200) == 1, [p.status_code for p in polls]
    assert all(p.status_code in (200, 400) for p in polls)


def test_an_approval_expires_after_two_minutes(api, mongo, system_env):
    http = _client(api)
    person, _, phone = _person_with_phone(http)
    pending = ap.login(http, person)
    item = ap.only_waiting(http, phone)
    db = mongo[f"{system_env['KADRA_MONGO_DB_PREFIX']}_identity"]
    stored = db.login_approvals.find_one({"_id": item["approval_id"]})
    assert abs(stored["expires_at"] - stored["created_at"] - timedelta(minutes=2)) < timedelta(seconds=1)
    db.login_approvals.update_one({"_id": item["approval_id"]},
                                  {"$set": {"expires_at": datetime.now(timezone.utc) - timedelta(seconds=1)}})
    late = ap.poll(http, pending["pending_token"])
    assert late.status_code == 410 and late.json()["code"] == "approval_expired"
    assert ap.approve(http, phone, item["approval_id"], pending["number"]).status_code == 410
    assert ap.waiting(http, phone).json() == {"approvals": []}


def test_a_blocked_phone_cannot_approve(api):
    http = _client(api)
    person, _, phone = _person_with_phone(http)
    assert phone.enable_biometrics().status_code == 204
    pending = ap.login(http, person)
    item = ap.only_waiting(http, phone)
    for _ in range(5):
        assert phone.login_pin(pin="000917").status_code in (401, 423)
    assert ap.waiting(http, phone).status_code == 423
    assert ap.approve(http, phone, item["approval_id"], pending["number"], biometric=True,
                      challenge="c1.x").status_code == 423
    assert ap.deny(http, phone, item["approval_id"]).status_code == 423
    assert ap.poll(http, pending["pending_token"]).status_code == 202  # still waiting: nothing let it through


def test_a_wrong_password_answers_the_same_with_and_without_phone_approval(api):
    plain = sign_up(api, locale="en")
    guarded, _, _ = _person_with_phone(_client(api))
    answers = []
    for person in (plain, guarded):
        http = _client(api)
        wrong = http.post(http.url(f"{API}/auth/login"), json={"email": person["email"], "password": "wrong one!!"})
        answers.append((wrong.status_code, {k: v for k, v in wrong.json().items() if k != "request_id"},
                        wrong.headers.get("Content-Type")))
    assert answers[0] == answers[1] and answers[0][0] == 401


def test_turning_it_on_needs_a_phone_and_the_password_and_off_needs_the_phone(api, mailbox):
    http = _client(api)
    person = sign_up(http, locale="pl")
    headers = web_login(http, person)
    no_phone = ap.turn_on(http, headers, person["password"])
    assert no_phone.status_code == 422 and no_phone.json()["errors"][0]["field"] == "phone"
    phone = phone_with_pin(http, person)
    wrong = ap.turn_on(http, headers, "not the password")
    assert wrong.status_code == 422 and wrong.json()["errors"][0]["field"] == "password"
    assert ap.turn_on(http, headers, person["password"]).status_code == 204
    assert ap.turn_on(http, headers, person["password"]).json()["errors"][0]["field"] == "phone"

    # another phone cannot step around the approving one with the password alone
    other = Phone(http, "iPhone", "ios").activate(person, replace=True)
    assert other.status_code == 401 and other.json()["errors"][0]["field"] == "replace"

    off = http.post(http.url(f"{API}/me/second-factor/phone/disable"), headers=headers,
                    json={"password": person["password"]})
    assert off.status_code == 202 and off.json()["status"] == "waiting", off.text
    item = ap.only_waiting(http, phone)
    assert item["purpose"] == "phone_off"
    ask = lambda: http.post(http.url(f"{API}/me/second-factor/phone/disable"), headers=headers,  # noqa: E731
                            json={"pending_token": off.json()["pending_token"]})
    assert ask().status_code == 202
    assert ap.approve(http, phone, item["approval_id"], off.json()["number"]).status_code == 200
    done = ask()
    assert done.status_code == 200 and done.json()["status"] == "done", done.text
    assert http.get(http.url(f"{API}/me/second-factor"), headers=headers).json()["phone"] is False
    login = http.post(http.url(f"{API}/auth/login"), json={"email": person["email"], "password": person["password"]})
    assert login.status_code == 200 and "access_token" in login.json()
    (notice,) = mailbox.wait_for(person["email"], "wyłączone", timeout=30)
    assert "Potwierdzanie logowania w aplikacji mobilnej" in notice.text and "tylko hasła" in notice.text
    entries = audit_entries(http, person["company_id"], headers, "second_factor_changed", count=2)
    assert {e["details"]["change"] for e in entries} == {"enabled", "disabled"}
    assert {e["details"]["method"] for e in entries} == {"phone"}


def test_with_totp_on_too_a_code_can_finish_the_login_and_withdraws_the_request(api):
    http = _client(api)
    person = sign_up(http, locale="en")
    headers = web_login(http, person)
    app, _, _ = enrol(http, headers)
    phone = Phone(http)
    assert phone.activate(person, code=app.code()).status_code == 201  # with TOTP on, activation needs its code
    assert phone.set_pin().status_code == 204
    without_code = ap.turn_on(http, headers, person["password"])
    assert without_code.status_code == 422 and without_code.json()["errors"][0]["field"] == "code"
    assert ap.turn_on(http, headers, person["password"], code=app.code()).status_code == 204
    pending = ap.login(http, person)
    assert pending["methods"] == ["phone", "totp", "recovery_code"]
    assert ap.only_waiting(http, phone)
    done = http.post(http.url(f"{API}/auth/login/second-factor"),
                     json={"pending_token": pending["pending_token"], "code": app.code()})
    assert done.status_code == 200, done.text
    assert ap.waiting(http, phone).json() == {"approvals": []}


@pytest.mark.parametrize("body, field", [
    ({"number": "4", "challenge": "c1.x", "signature": "AA==", "pin": "482915"}, "number"),
    ({"number": "42", "signature": "AA==", "pin": "482915"}, "challenge"),
    ({"number": "42", "challenge": "c1.x", "signature": "AA==", "pin": "12ab"}, "pin"),
])
def test_a_bad_approval_names_the_field(api, body, field):
    http = _client(api)
    person = sign_up(http, locale="en")
    phone = phone_with_pin(http, person)
    response = http.post(http.url(f"{API}/devices/{phone.device_id}/approvals/{'a' * 32}/approve"), json=body,
                         headers=phone.bearer)
    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["field"] == field
