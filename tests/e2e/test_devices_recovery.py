"""Recovery ends the trusted device (journey 3 and 6): the attacks, against the real services.

Someone who knew the password paired a phone. The owner takes the account back by a reset link, or by the
"this wasn't me" link of an e-mail change: the phone must go with the old password — its sessions end at
once, it cannot log in with its PIN or biometrics, the owner gets a notice and the audit log says why.
A voluntary password change (the person knows the password) keeps the device.
"""
import time

import pytest

from tests.support.devices import Phone, sign_up, web_login
from tests.support.identity import bearer, mail_tokens
from tests.support.infra import wait_until

pytestmark = pytest.mark.e2e

NEW_PASSWORD = "a brand new passphrase for the owner 7"
REMOVED_SUBJECT = "was removed"  # the English notice's subject: "your trusted device … was removed"


@pytest.fixture
def account(api):
    return sign_up(api, locale="en")


@pytest.fixture
def phone(api, account):
    """The phone someone paired with the password (a PIN and biometrics on)."""
    phone = Phone(api, "Mallory's phone")
    assert phone.activate(account).status_code == 201
    assert phone.set_pin().status_code == 204
    assert phone.enable_biometrics().status_code == 204
    assert phone.login_pin().status_code == 200
    return phone


def _reset_link(api, mailbox, email: str) -> str:
    assert api.post(api.url("/api/v1/auth/password/forgot"), json={"email": email}).status_code == 202
    (mail,) = mailbox.wait_for(email, "set a new password", count=1, timeout=30)
    return mail_tokens(mail)[0]


def _audit(api, account: dict, headers: dict) -> list[dict]:
    page = api.get(api.url(f"/api/v1/companies/{account['company_id']}/audit"), headers=headers)
    assert page.status_code == 200, page.text
    return page.json()["items"]


def _assert_device_gone(api, account: dict, phone: Phone, password: str, mailbox) -> None:
    """The device cannot log in any way, its token is refused, the web lists nothing, notice and audit."""
    wait_until(lambda: api.get(api.url("/api/v1/me/devices"), headers=phone.bearer).status_code == 401, 1.0,
               interval=0.05, what="the device's token refused")
    assert phone.challenge().status_code == 404
    # a challenge kept from before does not help either
    assert phone.login_pin(challenge=phone.kept_challenge).status_code in (401, 404)
    assert phone.login_biometric(challenge=phone.kept_biometric_challenge).status_code in (401, 404)
    assert api.post(api.url("/api/v1/auth/refresh"), json={"refresh_token": phone.refresh_token}).status_code == 401
    web = web_login(api, {**account, "password": password})
    assert api.get(api.url("/api/v1/me/devices"), headers=web).json() == []
    (notice,) = mailbox.wait_for(account["email"], REMOVED_SUBJECT, count=1, timeout=30)
    assert phone.name in notice.subject and phone.name in notice.text
    assert "/app/mobile" in notice.text

    def removal():
        return [item for item in _audit(api, account, web) if item["action"] == "device_removed"]

    (entry,) = wait_until(removal, 10, what="the removal audited")
    assert entry["details"]["reason"] == "recovery" and entry["details"]["device_id"] == phone.device_id


def _keep_challenges(phone: Phone) -> None:
    phone.kept_challenge = phone.new_challenge()
    phone.kept_biometric_challenge = phone.new_challenge()


def test_a_completed_reset_removes_the_trusted_device_with_a_notice_and_an_audit_entry(api, account, phone,
                                                                                       mailbox):
    _keep_challenges(phone)
    token = _reset_link(api, mailbox, account["email"])
    started = time.monotonic()
    reset = api.post(api.url("/api/v1/auth/password/reset"), json={"token": token, "new_password": NEW_PASSWORD})
    assert reset.status_code == 204, reset.text
    assert time.monotonic() - started < 3
    _assert_device_gone(api, account, phone, NEW_PASSWORD, mailbox)
    # the owner pairs their own phone again with the new password
    own = Phone(api, "Owner's phone")
    assert own.activate({**account, "password": NEW_PASSWORD}).status_code == 201
    assert own.set_pin().status_code == 204 and own.login_pin().status_code == 200


def test_a_voluntary_password_change_keeps_the_trusted_device(api, account, phone, mailbox):
    web = web_login(api, account)
    changed = api.post(api.url("/api/v1/auth/password/change"), headers=web,
                       json={"current_password": account["password"], "new_password": NEW_PASSWORD})
    assert changed.status_code == 204, changed.text
    assert phone.login_pin().status_code == 200
    assert phone.login_biometric().status_code == 200
    (listed,) = api.get(api.url("/api/v1/me/devices"), headers=web_login(api, {**account, "password": NEW_PASSWORD})
                        ).json()
    assert listed["device_id"] == phone.device_id
    time.sleep(1)
    assert not [m for m in mailbox.to(account["email"]) if REMOVED_SUBJECT in m.subject]


def test_the_this_wasnt_me_undo_of_an_email_change_removes_the_trusted_device(api, account, phone, mailbox):
    _keep_challenges(phone)
    web = web_login(api, account)
    new_email = f"mallory-{phone.device_id[:8]}@example.com"
    requested = api.post(api.url("/api/v1/me/email"), headers=web,
                         json={"new_email": new_email, "password": account["password"]})
    assert requested.status_code == 202, requested.text
    (notice,) = mailbox.wait_for(account["email"], "change your account's e-mail address", timeout=30)
    undo = mail_tokens(notice)[0]
    reverted = api.post(api.url("/api/v1/me/email/revert"), json={"token": undo})
    assert reverted.status_code == 204, reverted.text
    _assert_device_gone(api, account, phone, account["password"], mailbox)
    # the undo link is spent
    assert api.post(api.url("/api/v1/me/email/revert"), json={"token": undo}).status_code == 400


def test_a_used_or_unknown_reset_link_removes_nothing(api, account, phone, mailbox):
    token = _reset_link(api, mailbox, account["email"])
    for bad in ("x" * 43, token[:-2] + "AA"):
        response = api.post(api.url("/api/v1/auth/password/reset"), json={"token": bad, "new_password": NEW_PASSWORD})
        assert response.status_code == 400
    weak = api.post(api.url("/api/v1/auth/password/reset"), json={"token": token, "new_password": "short"})
    assert weak.status_code == 422
    assert phone.login_pin().status_code == 200
    (listed,) = api.get(api.url("/api/v1/me/devices"), headers=web_login(api, account)).json()
    assert listed["device_id"] == phone.device_id


@pytest.mark.slow
def test_a_reset_while_devices_is_down_answers_503_soon_and_the_same_link_works_once_it_is_back(
        api, account, phone, mailbox, system):
    """The reset never completes without ending the device: while devices does not answer, the person is told
    to try again (the link stays valid and the password unchanged); the retry completes it."""
    token = _reset_link(api, mailbox, account["email"])
    system.stop_process("devices")
    try:
        started = time.monotonic()
        response = api.post(api.url("/api/v1/auth/password/reset"), json={"token": token, "new_password": NEW_PASSWORD},
                            timeout=30)
        waited = time.monotonic() - started
        assert response.status_code == 503, response.text
        assert response.headers.get("Retry-After") and response.json()["detail_pl"]
        assert waited < 6, f"the reset waited {waited:.1f} s for devices"
        # nothing changed: the old password still logs in, the new one does not
        assert api.post(api.url("/api/v1/auth/login"), json={"email": account["email"], "password": NEW_PASSWORD}
                        ).status_code == 401
        assert web_login(api, account)
    finally:
        system.start_service("devices")
    wait_until(lambda: api.get(api.url("/readyz")).status_code == 200, 60, what="readyz 200 after devices is back")
    retried = api.post(api.url("/api/v1/auth/password/reset"), json={"token": token, "new_password": NEW_PASSWORD})
    assert retried.status_code == 204, retried.text
    wait_until(lambda: phone.challenge().status_code == 404, 5, what="the device gone")
    web = web_login(api, {**account, "password": NEW_PASSWORD})
    assert api.get(api.url("/api/v1/me/devices"), headers=web).json() == []
    assert api.get(api.url("/api/v1/me"), headers=bearer(phone.access_token)).status_code == 401
