"""PIN, biometrics and challenge–response login of the trusted device, against the real services."""
import base64

import pytest

from tests.support.devices import (GOOD_PIN, OTHER_PIN, Phone, concurrently, device_doc, phone_with_pin, refusals,
                                   rpc_client, sign, sign_up, web_login)
from tests.support.infra import wait_until

pytestmark = pytest.mark.e2e


@pytest.fixture
def account(api):
    return sign_up(api)


@pytest.fixture
def phone(api, account):
    return phone_with_pin(api, account)


def test_pin_login_gives_a_device_bound_token_pair(api, phone):
    response = phone.login_pin()
    assert response.status_code == 200, response.text
    tokens = response.json()
    assert tokens["token_type"] == "Bearer" and tokens["access_token"] and tokens["refresh_token"]
    listed = api.get(api.url("/api/v1/me/devices"), headers={"Authorization": f"Bearer {tokens['access_token']}"})
    assert listed.status_code == 200
    (device,) = listed.json()
    assert device["device_id"] == phone.device_id and device["last_used_at"] and device["pin_set"]


def test_challenge_is_long_single_use_and_lasts_two_minutes(phone):
    answer = phone.challenge().json()
    assert answer["expires_in"] == 120
    nonce = answer["challenge"].split(".")[3]
    assert len(base64.urlsafe_b64decode(nonce + "==")) * 8 >= 128
    assert phone.new_challenge() != answer["challenge"]


def test_replayed_challenge_is_refused(phone, system):
    challenge = phone.new_challenge()
    assert phone.login_pin(challenge=challenge).status_code == 200
    replay = phone.login_pin(challenge=challenge)
    assert replay.status_code == 401
    wait_until(lambda: "challenge_reused" in refusals(system, phone.device_id), 5, what="refusal logged")


def test_one_challenge_sent_twenty_times_at_once_logs_in_once(phone, system):
    challenge = phone.new_challenge()
    responses = concurrently([lambda: phone.login_pin(challenge=challenge) for _ in range(20)], workers=20)
    assert sorted(r.status_code for r in responses) == [200] + [401] * 19
    wait_until(lambda: refusals(system, phone.device_id).count("challenge_reused") == 19, 5,
               what="19 refusals logged")


def test_expired_challenge_is_refused(phone, system, system_env):
    challenge = phone.new_challenge()
    rpc = rpc_client(system_env)
    try:
        rpc.devices.advance_clock(121)
        response = phone.login_pin(challenge=challenge)
    finally:
        rpc.devices.advance_clock(0, reset=True)
        rpc.close()
    assert response.status_code == 401
    wait_until(lambda: "challenge_expired" in refusals(system, phone.device_id), 5, what="refusal logged")
    assert phone.login_pin().status_code == 200  # a fresh challenge still works


def test_signature_by_another_key_is_refused(phone, system):
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    assert phone.login_pin(key=Ed25519PrivateKey.generate()).status_code == 401
    assert phone.login_pin(key=phone.biometric).status_code == 401  # a key of this phone, but not the device key
    wait_until(lambda: refusals(system, phone.device_id).count("bad_signature") >= 2, 5, what="refusals logged")


def test_challenge_of_another_device_is_refused(api, phone, system):
    other = Phone(api, "Other")
    assert other.activate(sign_up(api)).status_code == 201
    foreign = other.new_challenge()
    assert phone.login_pin(challenge=foreign).status_code == 401
    wait_until(lambda: "challenge_of_another_device" in refusals(system, phone.device_id), 5, what="refusal logged")


def test_biometric_login_works_until_biometrics_are_turned_off(phone, system):
    assert phone.login_biometric().status_code == 401  # not enabled yet
    assert phone.enable_biometrics().status_code == 204
    response = phone.login_biometric()
    assert response.status_code == 200, response.text
    assert phone.disable_biometrics().status_code == 204
    assert phone.login_biometric().status_code == 401
    wait_until(lambda: refusals(system, phone.device_id).count("biometrics_off") >= 2, 5, what="refusals logged")
    assert phone.login_pin().status_code == 200


@pytest.mark.parametrize("pin", ["123456", "111111", "987654", "121212", "112233", "12345678"])
def test_trivial_pins_are_refused(api, account, pin):
    phone = Phone(api)
    assert phone.activate(account).status_code == 201
    response = phone.set_pin(pin)
    assert response.status_code == 422
    assert [e["field"] for e in response.json()["errors"]] == ["pin"]


@pytest.mark.parametrize("body,field", [({"pin": "48a915"}, "pin"), ({"pin": "48291"}, "pin"),
                                        ({"pin": "482915123"}, "pin"), ({}, "pin"), ({"pin": 482915}, "pin")])
def test_bad_pins_name_the_field_and_store_nothing(api, account, mongo, system_env, body, field):
    phone = Phone(api)
    assert phone.activate(account).status_code == 201
    response = api.put(api.url(f"/api/v1/devices/{phone.device_id}/pin"), json=body, headers=phone.bearer)
    assert response.status_code == 422
    assert field in [e["field"] for e in response.json()["errors"]]
    assert device_doc(mongo, system_env, phone.device_id)["pin_hash"] is None


def test_pin_routes_need_this_devices_token(api, account, phone):
    web = web_login(api, account)
    assert api.put(api.url(f"/api/v1/devices/{phone.device_id}/pin"), json={"pin": OTHER_PIN}).status_code == 401
    assert api.put(api.url(f"/api/v1/devices/{phone.device_id}/pin"), json={"pin": OTHER_PIN},
                   headers=web).status_code == 403
    other = Phone(api)
    assert other.activate(sign_up(api)).status_code == 201
    assert api.put(api.url(f"/api/v1/devices/{phone.device_id}/pin"), json={"pin": OTHER_PIN},
                   headers=other.bearer).status_code == 403


def test_changing_the_pin_needs_the_current_pin_and_a_signature(phone):
    refused = phone.set_pin(OTHER_PIN)
    assert refused.status_code == 422
    assert {"current_pin", "challenge", "signature"} <= {e["field"] for e in refused.json()["errors"]}
    challenge = phone.new_challenge()
    wrong = phone.set_pin(OTHER_PIN, current_pin="950173", challenge=challenge,
                          signature=sign(phone.key, challenge))
    assert wrong.status_code == 401
    challenge = phone.new_challenge()
    changed = phone.set_pin(OTHER_PIN, current_pin=GOOD_PIN, challenge=challenge,
                            signature=sign(phone.key, challenge))
    assert changed.status_code == 204, changed.text
    assert phone.login_pin(GOOD_PIN).status_code == 401
    assert phone.login_pin(OTHER_PIN).status_code == 200


def test_unknown_device_is_404_naming_the_device(api):
    for response in (api.post(api.url("/api/v1/devices/" + "0" * 32 + "/challenge")),
                     api.post(api.url("/api/v1/devices/" + "0" * 32 + "/login"),
                              json={"challenge": "x", "signature": "eA==", "pin": GOOD_PIN})):
        assert response.status_code == 404
        assert [e["field"] for e in response.json()["errors"]] == ["device_id"]


@pytest.mark.parametrize("body,field", [({"signature": "eA==", "pin": GOOD_PIN}, "challenge"),
                                        ({"challenge": "x", "pin": GOOD_PIN}, "signature"),
                                        ({"challenge": "x", "signature": "eA=="}, "pin"),
                                        ({"challenge": "x", "signature": "eA==", "pin": "12ab56"}, "pin")])
def test_login_without_what_it_needs_names_the_field(api, phone, body, field):
    response = api.post(api.url(f"/api/v1/devices/{phone.device_id}/login"), json=body)
    assert response.status_code == 422
    assert field in [e["field"] for e in response.json()["errors"]]


def test_twenty_concurrent_wrong_pins_block_after_exactly_five(api, account, phone, mongo, system_env, mailbox,
                                                               system):
    assert phone.enable_biometrics().status_code == 204
    challenges = [phone.new_challenge() for _ in range(20)]
    responses = concurrently([lambda c=c: phone.login_pin("950173", challenge=c) for c in challenges], workers=20)
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [401] * 4 + [423] * 16, statuses
    stored = device_doc(mongo, system_env, phone.device_id)
    assert stored["failed_pins"] == 5 and stored["blocked_at"]
    assert refusals(system, phone.device_id).count("wrong_pin") == 5
    # blocked for everything: the right PIN, biometrics, a new challenge
    assert phone.challenge().status_code == 423
    blocked = api.post(api.url(f"/api/v1/devices/{phone.device_id}/login"),
                       json={"challenge": challenges[0], "signature": sign(phone.key, challenges[0]), "pin": GOOD_PIN})
    assert blocked.status_code == 423
    # the words send the person to the web app's own menu item "Aplikacja mobilna", in both languages
    assert "„Aplikacja mobilna” (w menu przy nazwie firmy)" in blocked.json()["detail_pl"]
    assert "“Aplikacja mobilna” (Mobile app) page in the menu" in blocked.json()["detail"]
    assert "Dane i ustawienia" not in blocked.json()["detail_pl"]
    assert api.post(api.url(f"/api/v1/devices/{phone.device_id}/login"),
                    json={"challenge": challenges[1],
                          "biometric_signature": sign(phone.biometric, challenges[1])}).status_code == 423
    # the notice e-mail (the account's locale is Polish)
    (notice,) = mailbox.wait_for(account["email"], subject_contains="zablokowane", count=1, timeout=30)
    assert phone.name in notice.subject and phone.name in notice.text
    # the web shows it blocked; a wrong password does not unblock; the password does
    web = web_login(api, account)
    (listed,) = api.get(api.url("/api/v1/me/devices"), headers=web).json()
    assert listed["blocked"] is True
    wrong = api.post(api.url(f"/api/v1/me/devices/{phone.device_id}/unblock"), json={"password": "nope-nope-1"},
                     headers=web)
    assert wrong.status_code == 403
    assert api.post(api.url(f"/api/v1/me/devices/{phone.device_id}/unblock"), json={},
                    headers=web).status_code == 422
    unblocked = api.post(api.url(f"/api/v1/me/devices/{phone.device_id}/unblock"),
                         json={"password": account["password"]}, headers=web)
    assert unblocked.status_code == 200 and unblocked.json()["blocked"] is False
    assert phone.login_pin().status_code == 200
