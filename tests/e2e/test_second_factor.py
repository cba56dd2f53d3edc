"""The second factor of web logins (TOTP with recovery codes) against the real services: enrolment, the login's
second step, replays, recovery codes, 20 parallel uses of one code, the lockout, turning it off, the notices and
the audit log — and a wrong password answered the same with and without it.

Real gateway, identity, users and notify over RabbitMQ and FerretDB; e-mails read from the SMTP sink; the codes
computed by pyotp as a phone's authenticator app would (tests/support/second_factor.py).
"""
import os
import subprocess
import sys
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.support.devices import Phone, sign_up, web_login
from tests.support.identity import session_from
from tests.support.second_factor import API, enrol, first_step, second_step
from tests.support.users import audit_entries

pytestmark = pytest.mark.e2e


def _client(api):
    """A session from its own loopback address (127.0.0.x), so the per-client failure count of other tests never
    mixes in."""
    return session_from(api, f"127.0.{uuid.uuid4().int % 200 + 30}.{uuid.uuid4().int % 250 + 2}")


def _strip(response) -> tuple:
    body = {k: v for k, v in response.json().items() if k != "request_id"}
    return response.status_code, body, response.headers.get("Retry-After"), response.headers.get("Content-Type")


def test_enrol_then_log_in_with_a_code_and_a_replay_is_refused(api, mailbox):
    http = _client(api)
    person = sign_up(http, locale="en")
    headers = web_login(http, person)
    assert http.get(http.url(f"{API}/me/second-factor"), headers=headers).json()["totp"] is False
    app, codes, begun = enrol(http, headers)
    assert begun["qr_svg"].startswith("<svg") and begun["otpauth_uri"].startswith("otpauth://totp/Kadra:")
    assert begun["secret"] in begun["otpauth_uri"]
    assert len(codes) == 10 and len(set(codes)) == 10
    status = http.get(http.url(f"{API}/me/second-factor"), headers=headers).json()
    assert status["totp"] is True and status["recovery_codes_left"] == 10 and "secret" not in status
    # the secret is never answered again: a second set-up is refused while it is on
    again = http.post(http.url(f"{API}/me/second-factor/totp"), headers=headers)
    assert again.status_code == 422 and again.json()["errors"][0]["field"] == "totp"
    (notice,) = mailbox.wait_for(person["email"], "two-step login turned on", timeout=30)
    assert "recovery codes" in notice.text and begun["secret"] not in notice.text

    pending = first_step(http, person["email"], person["password"])
    assert pending["methods"] == ["totp", "recovery_code"] and pending["expires_in"] == 300
    code = app.code()
    done = second_step(http, pending["pending_token"], code=code)
    assert done.status_code == 200, done.text
    tokens = done.json()
    assert http.get(http.url(f"{API}/me"), headers={"Authorization": f"Bearer {tokens['access_token']}"}).ok
    # the pending login is spent, and the same code in a new login is refused (used within its window)
    assert second_step(http, pending["pending_token"], code=app.code()).status_code == 400
    pending = first_step(http, person["email"], person["password"])
    replay = second_step(http, pending["pending_token"], code=code)
    assert replay.status_code == 401 and replay.json()["errors"][0]["field"] == "code"
    assert second_step(http, pending["pending_token"], code=app.code()).status_code == 200
    (entry,) = audit_entries(http, person["company_id"], headers, "second_factor_changed")
    assert entry["details"] == {"method": "totp", "change": "enabled"}
    assert entry["actor_account_id"] == person["account_id"]


def test_a_recovery_code_works_once(api):
    http = _client(api)
    person = sign_up(http, locale="pl")
    headers = web_login(http, person)
    app, codes, _ = enrol(http, headers)
    pending = first_step(http, person["email"], person["password"])
    used = second_step(http, pending["pending_token"], recovery_code=codes[3].upper())  # as typed off paper
    assert used.status_code == 200, used.text
    pending = first_step(http, person["email"], person["password"])
    again = second_step(http, pending["pending_token"], recovery_code=codes[3])
    assert again.status_code == 401
    assert again.json()["errors"][0]["message_pl"].startswith("Kod jest nieprawidłowy")
    assert second_step(http, pending["pending_token"], recovery_code=codes[4]).status_code == 200
    assert http.get(http.url(f"{API}/me/second-factor"), headers=headers).json()["recovery_codes_left"] == 8


def test_twenty_parallel_uses_of_one_code_give_exactly_one_login(api):
    http = _client(api)
    person = sign_up(http, locale="en")
    app, _, _ = enrol(http, web_login(http, person))
    # four pending logins (each right password counts in the streak until a second step succeeds), then one code
    # sent 20 times at once across them: only the step's claim can stop the other logins
    pendings = [first_step(http, person["email"], person["password"])["pending_token"] for _ in range(4)]
    code = app.code()
    with ThreadPoolExecutor(max_workers=20) as pool:
        answers = list(pool.map(lambda i: second_step(http, pendings[i % 4], code=code), range(20)))
    statuses = sorted(a.status_code for a in answers)
    assert statuses.count(200) == 1, statuses
    # the others: the code used (401), the winner's pending login spent (400), or the lockout the refused codes
    # lead to (429)
    assert set(statuses) <= {200, 400, 401, 429}, statuses
    assert statuses.count(401) >= 1


def test_wrong_codes_count_toward_the_password_lockout(api, mailbox):
    http = _client(api)
    person = sign_up(http, locale="en")
    app, _, _ = enrol(http, web_login(http, person))
    pending = first_step(http, person["email"], person["password"])   # 1 in the streak
    for _ in range(4):                                                 # 2..5
        wrong = second_step(http, pending["pending_token"], code=app.wrong())
        assert wrong.status_code == 401, wrong.text
    # now even the right code and the right password wait, as after 5 wrong passwords
    locked = second_step(http, pending["pending_token"], code=app.code())
    assert locked.status_code == 429 and int(locked.headers["Retry-After"]) > 0
    again = http.post(http.url(f"{API}/auth/login"), json={"email": person["email"], "password": person["password"]})
    assert again.status_code == 429
    mailbox.wait_for(person["email"], "temporarily locked", timeout=30)


def test_turning_it_off_needs_the_password_and_a_code(api, mailbox):
    http = _client(api)
    person = sign_up(http, locale="en")
    headers = web_login(http, person)
    app, codes, _ = enrol(http, headers)
    off = http.url(f"{API}/me/second-factor/totp/disable")
    no_code = http.post(off, headers=headers, json={"password": person["password"]})
    assert no_code.status_code == 422 and no_code.json()["errors"][0]["field"] == "code"
    wrong_password = http.post(off, headers=headers, json={"password": "not the password at all", "code": app.code()})
    assert wrong_password.status_code == 422 and wrong_password.json()["errors"][0]["field"] == "password"
    wrong_code = http.post(off, headers=headers, json={"password": person["password"], "code": app.wrong()})
    assert wrong_code.status_code == 422 and wrong_code.json()["errors"][0]["field"] == "code"
    assert http.get(http.url(f"{API}/me/second-factor"), headers=headers).json()["totp"] is True
    done = http.post(off, headers=headers, json={"password": person["password"], "recovery_code": codes[0]})
    assert done.status_code == 204, done.text
    assert http.get(http.url(f"{API}/me/second-factor"), headers=headers).json()["totp"] is False
    mailbox.wait_for(person["email"], "two-step login turned off", timeout=30)
    entries = audit_entries(http, person["company_id"], headers, "second_factor_changed", count=2)
    assert [e["details"]["change"] for e in entries] == ["disabled", "enabled"]
    # a login is one step again
    login = http.post(http.url(f"{API}/auth/login"), json={"email": person["email"], "password": person["password"]})
    assert login.status_code == 200 and "access_token" in login.json()


def test_a_wrong_password_answers_the_same_with_and_without_totp(api):
    plain = sign_up(api, locale="en")
    guarded = sign_up(api, locale="en")
    enrol(api, web_login(api, guarded))
    answers = []
    for person in (plain, guarded):
        http = _client(api)
        wrong = http.post(http.url(f"{API}/auth/login"), json={"email": person["email"], "password": "wrong one!!"})
        answers.append(_strip(wrong))
    assert answers[0] == answers[1]
    assert answers[0][0] == 401


@pytest.mark.parametrize("body, field", [
    ({"code": "123456"}, "pending_token"),
    ({"pending_token": "x" * 43}, "code"),
    ({"pending_token": "x" * 43, "code": "123456"}, "pending_token"),
    ({"pending_token": "x" * 43, "code": 123456}, "code"),
])
def test_a_bad_second_step_names_the_field(api, body, field):
    response = api.post(api.url(f"{API}/auth/login/second-factor"), json=body)
    assert 400 <= response.status_code < 500, response.text
    assert response.headers["Content-Type"].startswith("application/problem+json")
    assert response.json()["errors"][0]["field"] == field


def test_activating_a_phone_with_the_password_needs_the_code_too(api, tmp_path):
    # activation answers tokens: with TOTP on, the password alone must not open a session by this door
    http = _client(api)
    person = sign_up(http, locale="en")
    app, _, _ = enrol(http, web_login(http, person))
    phone = Phone(http, "Pixel 8", "android")
    bare = phone.activate(person)
    assert bare.status_code == 401 and bare.json()["errors"][0]["field"] == "code"
    assert "two-step login" in bare.json()["detail"]
    wrong = phone.activate(person, code=app.wrong())
    assert wrong.status_code == 401 and wrong.json()["errors"][0]["field"] == "code"
    done = phone.activate(person, code=app.code())
    assert done.status_code == 201, done.text
    # the reference client passes the code on (`kadra-mobile activate --code`)
    binary = os.path.join(os.path.dirname(sys.executable), "kadra-mobile")
    env = dict(os.environ, KADRA_MOBILE_PASSWORD=person["password"])
    run = subprocess.run([binary, "--gateway", api.base, "--state", str(tmp_path / "phone.json"), "--json",
                          "activate", "--email", person["email"], "--name", "Pixel 9", "--replace",
                          "--code", app.code()], env=env, capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stdout + run.stderr
    # a wrong password is still the one answer for every wrong pair
    other = Phone(http, "iPhone", "ios").activate({**person, "password": "not the password at all"})
    assert other.status_code == 401 and other.json()["code"] == "unauthorized"
    assert "errors" not in other.json() or other.json()["errors"][0]["field"] != "code"
