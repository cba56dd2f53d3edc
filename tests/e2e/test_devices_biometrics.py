"""The biometric key is set or replaced only with proof (journey 7): the attacks, against the real services.

A stolen device token alone used to register an attacker's "biometric" key, which then logged in with no PIN
at all — a permanent login. Now `PUT /devices/{id}/biometrics` needs a fresh challenge signed by the device
key and the PIN, counted like a PIN login: a wrong PIN counts toward the block, a blocked device cannot.
"""
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from tests.support.devices import (GOOD_PIN, OTHER_PIN, Phone, device_doc, phone_with_pin, public_b64, refusals, sign,
                                   sign_up)
from tests.support.infra import wait_until

pytestmark = pytest.mark.e2e

WRONG_PIN = "950173"


@pytest.fixture
def account(api):
    return sign_up(api)


@pytest.fixture
def phone(api, account):
    return phone_with_pin(api, account)


def _put(api, phone: Phone, body: dict, headers: dict | None = None):
    return api.put(api.url(f"/api/v1/devices/{phone.device_id}/biometrics"), json=body,
                   headers=phone.bearer if headers is None else headers)


def test_a_device_token_alone_neither_sets_nor_replaces_the_biometric_key(api, phone, mongo, system_env):
    thief = Ed25519PrivateKey.generate()
    refused = _put(api, phone, {"public_key": public_b64(thief)})
    assert refused.status_code == 422, refused.text
    assert {"pin", "challenge", "signature"} <= {e["field"] for e in refused.json()["errors"]}
    assert refused.json()["detail_pl"]
    assert device_doc(mongo, system_env, phone.device_id)["biometric_key"] is None
    assert phone.login_biometric(key=thief).status_code == 401
    # with biometrics on, the thief cannot swap the key either
    assert phone.enable_biometrics().status_code == 204
    assert _put(api, phone, {"public_key": public_b64(thief)}).status_code == 422
    assert phone.login_biometric(key=thief).status_code == 401
    assert phone.login_biometric().status_code == 200
    assert device_doc(mongo, system_env, phone.device_id)["biometric_key"] == public_b64(phone.biometric)


def test_with_a_signed_challenge_and_the_pin_the_key_is_set_and_logs_in(api, phone, mongo, system_env):
    response = phone.enable_biometrics()
    assert response.status_code == 204, response.text
    assert phone.login_biometric().status_code == 200
    # replacing it needs the same proof; the old key stops working at once
    newer = Ed25519PrivateKey.generate()
    assert phone.enable_biometrics(biometric=newer).status_code == 204
    assert phone.login_biometric().status_code == 401
    assert phone.login_biometric(key=newer).status_code == 200


def test_the_proof_must_be_this_devices_fresh_challenge_signed_by_its_device_key(api, account, phone, system):
    other = Phone(api, "Other")
    assert other.activate(sign_up(api)).status_code == 201
    cases = {
        "signed by another key": dict(key=Ed25519PrivateKey.generate()),
        "signed by the biometric key itself": dict(key=phone.biometric),
        "another device's challenge": dict(challenge=other.new_challenge()),
        "a forged challenge": dict(challenge=f"c1.{phone.device_id}.9999999999.{'A' * 43}.{'B' * 22}"),
    }
    for what, override in cases.items():
        response = phone.enable_biometrics(**override)
        assert response.status_code == 401, (what, response.text)
    # a challenge is spent by the attempt: replaying it after a refusal is refused too
    challenge = phone.new_challenge()
    assert phone.enable_biometrics(challenge=challenge, pin=WRONG_PIN).status_code == 401
    assert phone.enable_biometrics(challenge=challenge).status_code == 401
    assert phone.login_biometric().status_code == 401  # nothing was set
    wait_until(lambda: {"bad_signature", "challenge_of_another_device", "challenge_forged", "challenge_reused"}
               <= set(refusals(system, phone.device_id)), 5, what="refusals logged")


def test_a_wrong_pin_counts_toward_the_block_and_a_blocked_device_cannot_set_the_key(api, account, phone, mongo,
                                                                                       system_env, mailbox):
    for n in range(1, 4):
        wrong = phone.login_pin(WRONG_PIN)
        assert wrong.status_code == 401 and int(wrong.json()["attempts_left"]) == 5 - n
    fourth = phone.enable_biometrics(pin=WRONG_PIN)
    assert fourth.status_code == 401, fourth.text
    assert int(fourth.json()["attempts_left"]) == 1
    assert device_doc(mongo, system_env, phone.device_id)["failed_pins"] == 4
    fifth = phone.enable_biometrics(pin=WRONG_PIN)
    assert fifth.status_code == 423, fifth.text
    assert device_doc(mongo, system_env, phone.device_id)["blocked_at"]
    mailbox.wait_for(account["email"], subject_contains="zablokowane", count=1, timeout=30)
    # blocked: neither the right PIN nor a new challenge
    assert phone.challenge().status_code == 423
    assert _put(api, phone, {"public_key": public_b64(phone.biometric), "pin": GOOD_PIN, "challenge": "c1.x.1.a.b",
                             "signature": sign(phone.key, "c1.x.1.a.b")}).status_code == 423
    assert device_doc(mongo, system_env, phone.device_id)["biometric_key"] is None


def test_a_right_pin_on_the_biometric_step_starts_the_count_again(api, phone, mongo, system_env):
    for _ in range(4):
        assert phone.login_pin(WRONG_PIN).status_code == 401
    assert phone.enable_biometrics().status_code == 204
    assert device_doc(mongo, system_env, phone.device_id)["failed_pins"] == 0
    wrong = phone.login_pin(WRONG_PIN)
    assert wrong.status_code == 401 and int(wrong.json()["attempts_left"]) == 4


def test_the_biometric_step_refuses_a_device_without_a_pin(api, account):
    phone = Phone(api)
    assert phone.activate(account).status_code == 201
    response = phone.enable_biometrics(pin=OTHER_PIN)
    assert response.status_code == 409, response.text
    assert response.json()["detail_pl"]
