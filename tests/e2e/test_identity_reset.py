"""Forgot/reset password and e-mail change, with the links read from the real e-mails."""
import concurrent.futures
import time

import pytest
import requests

from tests.support.identity import (PASSWORD, bearer, link_token, login, mail_tokens, rpc_client, sign_up,
                                    unique_email)

pytestmark = pytest.mark.e2e

NEW_PASSWORD = "a brand new passphrase 3"


def _strip(body: dict) -> dict:
    return {k: v for k, v in body.items() if k != "request_id"}


def _reset_token(api, mailbox, email, count=1) -> str:
    assert api.post(api.url("/api/v1/auth/password/forgot"), json={"email": email}).status_code == 202
    mails = mailbox.wait_for(email, "set a new password", count=count, timeout=30)
    return mail_tokens(mails[-1])[0]


def test_forgot_password_answers_the_same_for_known_and_unknown_addresses(api):
    person = sign_up(api)
    known = api.post(api.url("/api/v1/auth/password/forgot"), json={"email": person["email"]})
    unknown = api.post(api.url("/api/v1/auth/password/forgot"), json={"email": unique_email()})
    assert known.status_code == unknown.status_code == 202
    assert _strip(known.json()) == _strip(unknown.json())


@pytest.mark.slow
def test_16_concurrent_redemptions_of_one_reset_token_one_wins_in_each_of_20_runs(api, mailbox, system_env):
    person = sign_up(api)
    client = rpc_client(system_env)
    try:
        for run in range(20):
            token = _reset_token(api, mailbox, person["email"], count=run + 1)
            password = f"{NEW_PASSWORD} run {run}"
            if run % 2:
                # 16 at once straight at identity (its 10 workers race on the one document)
                results = client.call_many([("identity", "reset_password", (), {"token": token,
                                                                                "new_password": password})] * 16,
                                           timeout=30)
                wins = [r for r in results if not isinstance(r, Exception)]
                losses = [r for r in results if isinstance(r, Exception)]
                assert all(getattr(e, "exc_type", "") == "InvalidToken" for e in losses), losses
            else:
                # 16 at once through the gateway
                def redeem(_):
                    return requests.post(api.url("/api/v1/auth/password/reset"),
                                         json={"token": token, "new_password": password}, timeout=30).status_code
                with concurrent.futures.ThreadPoolExecutor(16) as pool:
                    statuses = list(pool.map(redeem, range(16)))
                wins = [s for s in statuses if s == 204]
                assert sorted(statuses) == [204] + [400] * 15, statuses
            assert len(wins) == 1, f"run {run}: {len(wins)} winners"
            assert login(api, person["email"], password)["access_token"]
    finally:
        client.close()


def test_reset_link_from_the_email_works_once_and_a_newer_link_voids_older(api, mailbox):
    person = sign_up(api)
    first = _reset_token(api, mailbox, person["email"], count=1)
    mails = mailbox.wait_for(person["email"], "set a new password", count=1)
    link = next(link for link in mails[0].links() if "token=" in link)
    assert "/app/reset-password#token=" in link and link_token(link) == first
    second = _reset_token(api, mailbox, person["email"], count=2)
    assert second != first
    old = api.post(api.url("/api/v1/auth/password/reset"), json={"token": first, "new_password": NEW_PASSWORD})
    assert old.status_code == 400 and old.json()["code"] == "bad_request"
    weak = api.post(api.url("/api/v1/auth/password/reset"), json={"token": second, "new_password": "short"})
    assert weak.status_code == 422 and weak.json()["errors"][0]["field"] == "new_password"
    # the refused weak password did not spend the token
    ok = api.post(api.url("/api/v1/auth/password/reset"), json={"token": second, "new_password": NEW_PASSWORD})
    assert ok.status_code == 204, ok.text
    again = api.post(api.url("/api/v1/auth/password/reset"), json={"token": second, "new_password": NEW_PASSWORD})
    assert again.status_code == 400
    assert login(api, person["email"], NEW_PASSWORD)["access_token"]


def test_reset_token_expires_after_30_minutes(api, mailbox, system_env):
    person = sign_up(api)
    token = _reset_token(api, mailbox, person["email"])
    client = rpc_client(system_env)
    try:
        client.call("identity", "advance_clock", 31 * 60)
    finally:
        client.close()
    response = api.post(api.url("/api/v1/auth/password/reset"), json={"token": token, "new_password": NEW_PASSWORD})
    assert response.status_code == 400


def test_email_change_confirm_link_then_undo_link_from_the_real_emails(api, mailbox):
    person = sign_up(api)
    tokens = login(api, person["email"])
    new_email = unique_email("new")
    wrong = api.post(api.url("/api/v1/me/email"), headers=bearer(tokens),
                     json={"new_email": new_email, "password": "not the password"})
    assert wrong.status_code == 422 and wrong.json()["errors"][0]["field"] == "password"
    response = api.post(api.url("/api/v1/me/email"), headers=bearer(tokens),
                        json={"new_email": new_email, "password": PASSWORD})
    assert response.status_code == 202, response.text
    (confirm_mail,) = mailbox.wait_for(new_email, "confirm your new e-mail address", timeout=30)
    (notice,) = mailbox.wait_for(person["email"], "change your account's e-mail address", timeout=30)
    confirm_link = next(link for link in confirm_mail.links() if "token=" in link)
    undo_link = next(link for link in notice.links() if "token=" in link)
    assert "/app/confirm-email#token=" in confirm_link and "/app/revert-email#token=" in undo_link
    # nothing changes before the confirmation
    assert api.get(api.url("/api/v1/me"), headers=bearer(tokens)).json()["email"] == person["email"]
    assert api.post(api.url("/api/v1/me/email/confirm"), json={"token": link_token(confirm_link)}).status_code == 204
    assert api.get(api.url("/api/v1/me"), headers=bearer(tokens)).json()["email"] == new_email
    assert login(api, new_email)["access_token"]
    assert api.post(api.url("/api/v1/auth/login"), json={"email": person["email"], "password": PASSWORD}
                    ).status_code == 401
    assert api.post(api.url("/api/v1/me/email/confirm"), json={"token": link_token(confirm_link)}).status_code == 400
    # "this wasn't me": the old address back, every session ended
    assert api.post(api.url("/api/v1/me/email/revert"), json={"token": link_token(undo_link)}).status_code == 204
    assert login(api, person["email"])["access_token"]
    deadline = time.monotonic() + 1.0
    while api.get(api.url("/api/v1/me"), headers=bearer(tokens)).status_code != 401:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert api.post(api.url("/api/v1/auth/refresh"), json={"refresh_token": tokens["refresh_token"]}
                    ).status_code == 401


def test_email_change_to_a_taken_address_says_nothing_and_sends_no_confirmation(api, mailbox):
    person, other = sign_up(api), sign_up(api)
    tokens = login(api, person["email"])
    response = api.post(api.url("/api/v1/me/email"), headers=bearer(tokens),
                        json={"new_email": other["email"].upper(), "password": PASSWORD})
    assert response.status_code == 202
    mailbox.wait_for(person["email"], "change your account's e-mail address", timeout=30)
    time.sleep(1.0)
    assert not [m for m in mailbox.to(other["email"]) if "confirm your new e-mail" in m.subject]


def _forgot(api, email):
    response = api.post(api.url("/api/v1/auth/password/forgot"), json={"email": email})
    assert response.status_code == 202
    return _strip(response.json())


def test_reset_emails_per_address_are_limited_and_the_last_link_keeps_working(api, mailbox, system_env):
    person, other = sign_up(api), sign_up(api)
    answer = _forgot(api, unique_email())
    links = [_reset_token(api, mailbox, person["email"], count=n) for n in (1, 2, 3)]
    [_reset_token(api, mailbox, other["email"], count=n) for n in (1, 2, 3)]
    # more requests within the hour: the same answer, and no e-mail
    for _ in range(3):
        assert _forgot(api, person["email"]) == _forgot(api, other["email"]) == answer
    time.sleep(3)  # what was sent has arrived by now (the others took milliseconds)
    assert len(mailbox.to(person["email"])) == len(mailbox.to(other["email"])) == 3
    # the held-back requests voided nothing: the last link works, and a completed reset starts the count again
    ok = api.post(api.url("/api/v1/auth/password/reset"), json={"token": links[-1], "new_password": NEW_PASSWORD})
    assert ok.status_code == 204, ok.text
    assert _reset_token(api, mailbox, person["email"], count=4) not in links
    # for the other person the hour has to pass
    client = rpc_client(system_env)
    try:
        client.call("identity", "advance_clock", 61 * 60)
    finally:
        client.close()
    assert _reset_token(api, mailbox, other["email"], count=4)
