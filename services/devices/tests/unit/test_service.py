"""The devices service's entry points with worker_factory (store, identity and events are mocks)."""
import base64
from datetime import timedelta

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from nameko.testing.services import worker_factory
from pymongo.errors import DuplicateKeyError

from devices import challenges, pins
from devices.exceptions import DeviceAlreadyPaired, DeviceBlocked, DeviceNotFound, InvalidInput, LoginRefused
from devices.service import DevicesService
from kadra_defaults.contracts.events import utcnow, wrap

ACCOUNT = {"account_id": "a" * 32, "email": "anna@example.com", "full_name": "Anna", "locale": "pl"}


def _key():
    private = Ed25519PrivateKey.generate()
    raw = private.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return private, base64.b64encode(raw).decode()


def _device(**overrides):
    device = {"_id": "d" * 32, "account_id": ACCOUNT["account_id"], "name": "Pixel", "platform": "android",
              "public_key": _key()[1], "biometric_key": None, "pin_hash": None, "failed_pins": 0,
              "activated_at": utcnow(), "owner": {"email": ACCOUNT["email"], "full_name": "Anna", "locale": "pl"}}
    device.update(overrides)
    return device


@pytest.fixture
def service():
    worker = worker_factory(DevicesService)
    worker.identity.open_session.return_value = {"access_token": "a", "refresh_token": "r", "token_type": "Bearer",
                                                 "expires_in": 900}
    return worker


def test_activation_stores_the_device_with_its_notice_and_audits_it(service):
    _, public = _key()
    service.store.get_device.side_effect = lambda device_id: {"_id": device_id}
    result = service.activate(ACCOUNT, "Pixel 8", "android", public)
    stored, envelope = service.store.insert_device.call_args.args
    assert stored["account_id"] == ACCOUNT["account_id"] and stored["public_key"] == public
    assert envelope["type"] == "device_paired" and envelope["payload"]["to"] == ACCOUNT["email"]
    service.identity.open_session.assert_called_once_with(ACCOUNT["account_id"], device_id=result["device_id"])
    service.events.dispatch.assert_called_once()
    event_type, payload = service.events.dispatch.call_args.args
    assert event_type == "device_paired"
    envelope = wrap(event_type, payload)  # what Events sends: the payload checked by the contract, enveloped
    assert set(envelope) >= {"id", "occurred_at"}
    assert set(envelope["payload"]) >= {"account_id", "device_id", "device_name", "platform"}


def test_second_device_is_refused_without_replace_naming_the_current_one(service):
    _, public = _key()
    service.store.insert_device.side_effect = DuplicateKeyError("dup")
    service.store.device_of_account.return_value = _device(name="Old iPhone", platform="ios")
    with pytest.raises(DeviceAlreadyPaired) as refused:
        service.activate(ACCOUNT, "Pixel 8", "android", public)
    current = refused.value.args[0]["extra"]["current_device"]
    assert current["name"] == "Old iPhone" and current["platform"] == "ios" and current["activated_at"]
    service.identity.open_session.assert_not_called()


def test_replace_removes_the_old_device_and_ends_its_sessions(service):
    _, public = _key()
    old = _device()
    service.store.insert_device.side_effect = [DuplicateKeyError("dup"), None]
    service.store.device_of_account.return_value = old
    service.store.delete_device.return_value = old
    service.store.get_device.side_effect = lambda device_id: {"_id": device_id}
    result = service.activate(ACCOUNT, "Pixel 8", "android", public, replace=True)
    service.identity.end_sessions.assert_called_once_with(device_id=old["_id"])
    assert result["replaced_device_ids"] == [old["_id"]]
    assert [c.args[0] for c in service.events.dispatch.call_args_list] == ["device_removed", "device_paired"]


def test_a_device_replaced_while_activating_ends_its_own_fresh_sessions(service):
    _, public = _key()
    service.store.get_device.return_value = None
    service.store.device_of_account.return_value = _device()
    with pytest.raises(DeviceAlreadyPaired):
        service.activate(ACCOUNT, "Pixel 8", "android", public)
    (call,) = service.identity.end_sessions.call_args_list
    assert call.kwargs["device_id"] == service.store.insert_device.call_args.args[0]["_id"]


@pytest.mark.parametrize("field,value", [("public_key", "AAAA"), ("platform", "windows"), ("device_name", "  ")])
def test_bad_activation_input_names_the_field_and_stores_nothing(service, field, value):
    _, public = _key()
    args = {"account": ACCOUNT, "device_name": "Pixel", "platform": "android", "public_key": public, field: value}
    with pytest.raises(InvalidInput) as bad:
        service.activate(**args)
    assert [e["field"] for e in bad.value.args[0]["errors"]] == [field]
    assert all(e["message_pl"] for e in bad.value.args[0]["errors"])
    service.store.insert_device.assert_not_called()


KEY = b"k" * 32


def _signed(service, device, private, expires_in=120, device_id=None):
    service.store.get_device.return_value = device
    service.store.challenge_key.return_value = KEY
    service.store.spend_challenge.return_value = True
    challenge = challenges.issue(KEY, device_id or device["_id"], utcnow() + timedelta(seconds=expires_in))
    return challenge, base64.b64encode(private.sign(challenge.encode())).decode()


def test_pin_login_with_the_right_key_and_pin_opens_a_device_session(service):
    private, public = _key()
    device = _device(public_key=public, pin_hash=pins.hash_pin("482915"))
    challenge, signature = _signed(service, device, private)
    service.store.record_login.return_value = True
    tokens = service.login(device["_id"], challenge, signature=signature, pin="482915")
    assert tokens["access_token"] == "a"
    service.store.spend_challenge.assert_called_once()
    service.identity.open_session.assert_called_once_with(device["account_id"], device_id=device["_id"])


@pytest.mark.parametrize("case", ["wrong_key", "expired", "foreign", "used"])
def test_bad_challenges_and_signatures_are_refused(service, case):
    private, public = _key()
    device = _device(public_key=public, pin_hash="x")
    challenge, signature = _signed(service, device, _key()[0] if case == "wrong_key" else private,
                                   expires_in=-1 if case == "expired" else 120,
                                   device_id="e" * 32 if case == "foreign" else None)
    if case == "used":
        service.store.spend_challenge.return_value = False
    with pytest.raises(LoginRefused):
        service.login(device["_id"], challenge, signature=signature, pin="482915")
    service.store.reserve_pin_check.assert_not_called()
    service.identity.open_session.assert_not_called()


def test_the_fifth_wrong_pin_blocks_and_sends_the_notice(service):
    private, public = _key()
    device = _device(public_key=public, pin_hash=pins.hash_pin("482915"))
    challenge, signature = _signed(service, device, private)
    service.store.reserve_pin_check.return_value = (5, "epoch-1")
    service.store.mark_blocked.return_value = True
    with pytest.raises(DeviceBlocked):
        service.login(device["_id"], challenge, signature=signature, pin="730164")
    device_id, epoch, _, envelope = service.store.mark_blocked.call_args.args
    assert epoch == "epoch-1"
    assert envelope["type"] == "device_blocked" and envelope["payload"]["to"] == ACCOUNT["email"]
    assert service.events.dispatch.call_args.args[0] == "device_blocked"
    service.store.note_wrong_pin.assert_called_once_with(device["_id"], (5, "epoch-1"))


def test_with_every_pin_check_of_the_epoch_taken_the_pin_is_not_even_hashed(service, monkeypatch):
    private, public = _key()
    device = _device(public_key=public, pin_hash=pins.hash_pin("482915"))
    challenge, signature = _signed(service, device, private)
    service.store.reserve_pin_check.return_value = None
    monkeypatch.setattr(pins, "pin_matches", lambda *a: pytest.fail("the PIN was checked"))
    with pytest.raises(DeviceBlocked):
        service.login(device["_id"], challenge, signature=signature, pin="482915")
    service.store.record_login.assert_not_called()
    service.identity.open_session.assert_not_called()


def test_a_wrong_fifth_pin_of_an_epoch_a_right_pin_ended_blocks_nothing(service):
    private, public = _key()
    device = _device(public_key=public, pin_hash=pins.hash_pin("482915"))
    challenge, signature = _signed(service, device, private)
    service.store.reserve_pin_check.return_value = (5, "old-epoch")
    service.store.mark_blocked.return_value = False
    service.store.device_status.return_value = {"_id": device["_id"], "blocked_at": None}
    with pytest.raises(LoginRefused):
        service.login(device["_id"], challenge, signature=signature, pin="730164")
    service.events.dispatch.assert_not_called()


def test_a_right_pin_starts_the_count_again(service):
    private, public = _key()
    device = _device(public_key=public, pin_hash=pins.hash_pin("482915"))
    challenge, signature = _signed(service, device, private)
    service.store.reserve_pin_check.return_value = (3, "epoch-1")
    service.store.record_login.return_value = True
    service.login(device["_id"], challenge, signature=signature, pin="482915")
    assert service.store.record_login.call_args.kwargs["pin_check"] == (3, "epoch-1")


def test_a_blocked_device_refuses_biometrics_too(service):
    private, public = _key()
    device = _device(public_key=public, biometric_key=public, failed_pins=5, blocked_at=utcnow())
    challenge, signature = _signed(service, device, private)
    with pytest.raises(DeviceBlocked):
        service.login(device["_id"], challenge, biometric_signature=signature)
    service.store.device_status.return_value = device
    with pytest.raises(DeviceBlocked):
        service.issue_challenge(device["_id"])


def test_biometric_login_after_biometrics_were_turned_off_is_refused(service):
    private, public = _key()
    device = _device(biometric_key=None)
    challenge, signature = _signed(service, device, private)
    with pytest.raises(LoginRefused):
        service.login(device["_id"], challenge, biometric_signature=signature)


@pytest.mark.parametrize("kwargs,field", [({"signature": "x"}, "pin"), ({"pin": "482915"}, "signature"),
                                          ({"signature": "x", "pin": "48291a"}, "pin")])
def test_login_without_a_way_in_names_the_field(service, kwargs, field):
    with pytest.raises(InvalidInput) as bad:
        service.login("d" * 32, "c" * 43, **kwargs)
    assert field in [e["field"] for e in bad.value.args[0]["errors"]]
    service.store.spend_challenge.assert_not_called()


def test_removal_ends_sessions_is_audited_and_sends_a_notice_to_the_current_address(service):
    service.store.get_device.return_value = _device()
    service.store.delete_device.return_value = _device()
    service.identity.get_accounts.return_value = [{**ACCOUNT, "email": "anna.now@example.com", "locale": "en"}]
    service.remove_device(ACCOUNT["account_id"], "d" * 32)
    service.identity.end_sessions.assert_called_once_with(device_id="d" * 32)
    assert service.events.dispatch.call_args.args[0] == "device_removed"
    (notice,) = service.store.delete_device.call_args.kwargs["envelopes"]
    assert notice["type"] == "device_removed"
    assert notice["payload"]["cause"] == "removed" and notice["payload"]["to"] == "anna.now@example.com"
    assert notice["payload"]["locale"] == "en"


def test_a_device_of_another_account_is_not_removed_and_nobody_is_told(service):
    service.store.get_device.return_value = _device(account_id="b" * 32)
    with pytest.raises(DeviceNotFound):
        service.remove_device(ACCOUNT["account_id"], "d" * 32)
    service.store.delete_device.assert_not_called()


def test_the_biometric_key_needs_a_signed_challenge_and_the_pin(service):
    private, public = _key()
    _, biometric = _key()
    device = _device(public_key=public, pin_hash=pins.hash_pin("482915"))
    challenge, signature = _signed(service, device, private)
    with pytest.raises(InvalidInput) as missing:
        service.set_biometric_key(ACCOUNT["account_id"], device["_id"], biometric)
    assert {"pin", "challenge", "signature"} <= {e["field"] for e in missing.value.args[0]["errors"]}
    service.store.set_biometric_key.assert_not_called()
    # a wrong PIN counts like a login's
    service.store.reserve_pin_check.return_value = (2, "epoch-1")
    with pytest.raises(LoginRefused):
        service.set_biometric_key(ACCOUNT["account_id"], device["_id"], biometric, pin="730164",
                                  challenge=challenge, signature=signature)
    service.store.note_wrong_pin.assert_called_once_with(device["_id"], (2, "epoch-1"))
    service.store.set_biometric_key.assert_not_called()
    # the right one sets it, and starts the count again
    challenge, signature = _signed(service, device, private)
    service.store.set_biometric_key.return_value = True
    service.set_biometric_key(ACCOUNT["account_id"], device["_id"], biometric, pin="482915", challenge=challenge,
                              signature=signature)
    args, kwargs = service.store.set_biometric_key.call_args
    assert args[:2] == (device["_id"], biometric) and kwargs["pin_check"] == (2, "epoch-1")


def test_the_biometric_key_signed_by_another_key_is_refused_before_the_pin(service):
    private, public = _key()
    device = _device(public_key=public, pin_hash=pins.hash_pin("482915"))
    challenge, _ = _signed(service, device, private)
    forged = base64.b64encode(_key()[0].sign(challenge.encode())).decode()
    with pytest.raises(LoginRefused):
        service.set_biometric_key(ACCOUNT["account_id"], device["_id"], _key()[1], pin="482915",
                                  challenge=challenge, signature=forged)
    service.store.reserve_pin_check.assert_not_called()
    service.store.set_biometric_key.assert_not_called()


@pytest.mark.parametrize("challenge", ["c1.%s.\u00b2.n.m" % ("d" * 32), "c1.%s.\u0661\u0662.%s.%s" % ("d" * 32, "A" * 43, "B" * 22),
                                       "c1.%s.1700000000.\ud800%s.%s" % ("d" * 32, "A" * 42, "B" * 22)])
def test_a_malformed_challenge_is_a_refused_login_not_an_error(service, challenge):
    private, public = _key()
    device = _device(public_key=public, pin_hash="x", biometric_key=public)
    _signed(service, device, private)
    with pytest.raises(LoginRefused):
        service.login(device["_id"], challenge, signature="eA==", pin="482915")
    with pytest.raises(LoginRefused):
        service.login(device["_id"], challenge, biometric_signature="eA==")
    service.store.spend_challenge.assert_not_called()


def test_recovery_removes_the_device_with_its_notice_without_calling_identity_back(service):
    device = _device()
    service.store.device_of_account.side_effect = [device, None]
    service.store.delete_device.return_value = device
    recipient = {"to": "anna.back@example.com", "locale": "en", "full_name": "Anna"}
    import time
    result = service.end_for_recovery(ACCOUNT["account_id"], "password_reset", recipient, time.time() + 30)
    assert result == {"device_ids": [device["_id"]]}
    args, kwargs = service.store.delete_device.call_args
    assert args[0] == device["_id"] and args[2] == "recovery"
    (envelope,) = kwargs["envelopes"]
    assert envelope["type"] == "device_removed" and envelope["payload"]["to"] == "anna.back@example.com"
    assert envelope["payload"]["cause"] == "password_reset" and envelope["payload"]["locale"] == "en"
    service.identity.end_sessions.assert_not_called()  # identity ends them: it is waiting for this answer
    event_type, payload = service.events.dispatch.call_args.args
    assert event_type == "device_removed" and payload["reason"] == "recovery"
    wrap(event_type, payload)


def test_a_recovery_request_nobody_waits_for_any_more_removes_nothing(service):
    import time
    result = service.end_for_recovery(ACCOUNT["account_id"], "email_revert",
                                      {"to": "anna@example.com", "locale": "pl"}, time.time() - 1)
    assert result["device_ids"] == []
    service.store.delete_device.assert_not_called()


@pytest.mark.parametrize("overrides,field", [({"cause": "bored"}, "cause"), ({"recipient": {"to": "x"}}, "recipient"),
                                             ({"account_id": "\u00b2" * 32}, "account_id")])
def test_a_bad_recovery_request_names_the_field(service, overrides, field):
    import time
    args = {"account_id": ACCOUNT["account_id"], "cause": "password_reset",
            "recipient": {"to": "anna@example.com"}, "stale_after": time.time() + 30, **overrides}
    with pytest.raises(InvalidInput) as bad:
        service.end_for_recovery(**args)
    assert any(e["field"].startswith(field) for e in bad.value.args[0]["errors"])


def test_the_blocked_device_message_names_the_web_page_where_it_is_unblocked():
    # "Aplikacja mobilna" is its own item of the company menu, not a part of "Dane i ustawienia".
    blocked = DeviceBlocked()
    for words in (blocked.details["detail"], blocked.details["detail_pl"]):
        assert "Aplikacja mobilna" in words and "Dane i ustawienia" not in words and "Data and settings" not in words
    assert "menu przy nazwie firmy" in blocked.details["detail_pl"]
    assert "menu next to the company's name" in blocked.details["detail"]
