"""Recovery ends the trusted device, in the right order: devices first, then the link is spent (mocks for the rest)."""
from datetime import timedelta
from unittest import mock

import pytest
from nameko.testing.services import worker_factory

from identity import email_change, recovery, tokens
from identity.exceptions import InvalidToken, Unavailable
from identity.service import IdentityService
from kadra_defaults import clock

ACCOUNT = {"_id": "a" * 32, "email": "anna@example.com", "email_norm": "anna@example.com", "full_name": "Anna",
           "locale": "en", "status": "active", "password_hash": "x"}
TOKEN = tokens.new_secret()
NEW_PASSWORD = "a brand new passphrase 3"


def _token_doc(kind="reset", **overrides):
    doc = {"_id": tokens.digest(TOKEN), "kind": kind, "account_id": ACCOUNT["_id"], "used_at": None,
           "voided": False, "expires_at": clock.now() + timedelta(minutes=10),
           "data": {"old_email": "anna.old@example.com"}}
    doc.update(overrides)
    return doc


@pytest.fixture
def service(monkeypatch):
    worker = worker_factory(IdentityService)
    worker.store.accounts.by_id.return_value = ACCOUNT
    worker.store.sessions.end.return_value = []
    monkeypatch.setattr(recovery.passwords, "set_new", mock.Mock())
    return worker


def _devices_answer(service, answer=None, error=None):
    call = service.devices.end_for_recovery.call_async
    if error is not None:
        call.return_value.result.side_effect = error
    else:
        call.return_value.result.return_value = answer or {"device_ids": []}
    return call


def test_a_reset_removes_the_device_before_it_spends_the_link_and_ends_its_sessions(service):
    order = []
    service.store.onetime.peek.return_value = _token_doc()
    call = _devices_answer(service, {"device_ids": ["d" * 32]})
    call.side_effect = lambda *a: order.append("devices") or call.return_value
    service.store.onetime.consume.side_effect = lambda *a: order.append("consume") or _token_doc()
    service.reset_password(TOKEN, NEW_PASSWORD)
    assert order[:2] == ["devices", "consume"]
    account_id, cause, recipient, stale_after = call.call_args_list[0].args
    assert (account_id, cause, recipient["to"]) == (ACCOUNT["_id"], "password_reset", ACCOUNT["email"])
    ended = [c.kwargs for c in service.store.sessions.end.call_args_list]
    assert {"account_id": None, "device_id": "d" * 32, "session_ids": None, "except_session": None,
            "reason": "password_reset"} in ended
    recovery.passwords.set_new.assert_called_once()


def test_without_devices_answer_the_reset_is_503_and_nothing_changes(service):
    service.store.onetime.peek.return_value = _token_doc()
    _devices_answer(service, error=RuntimeError("no devices"))
    with pytest.raises(Unavailable) as unavailable:
        service.reset_password(TOKEN, NEW_PASSWORD)
    assert unavailable.value.args[0]["headers"]["Retry-After"] and unavailable.value.args[0]["detail_pl"]
    service.store.onetime.consume.assert_not_called()
    recovery.passwords.set_new.assert_not_called()
    service.store.sessions.end.assert_not_called()


@pytest.mark.parametrize("overrides", [{"used_at": clock.now()}, {"voided": True},
                                       {"expires_at": clock.now() - timedelta(seconds=1)}])
def test_a_dead_link_removes_nothing(service, overrides):
    service.store.onetime.peek.return_value = _token_doc(**overrides)
    with pytest.raises(InvalidToken):
        service.reset_password(TOKEN, NEW_PASSWORD)
    service.devices.end_for_recovery.call_async.assert_not_called()


def test_the_undo_removes_the_device_with_a_notice_to_the_restored_address_before_spending_the_link(service):
    order = []
    service.store.onetime.peek.return_value = _token_doc("email_revert")
    call = _devices_answer(service)
    call.side_effect = lambda *a: order.append("devices") or call.return_value
    service.store.onetime.consume.side_effect = lambda *a: order.append("consume") or _token_doc("email_revert")
    service.store.accounts.change_email.return_value = ACCOUNT
    service.revert_email_change(TOKEN)
    assert order[:2] == ["devices", "consume"]
    _, cause, recipient, _ = call.call_args_list[0].args
    assert cause == "email_revert" and recipient["to"] == "anna.old@example.com"


def test_without_devices_answer_the_undo_is_503_and_the_link_still_works(service):
    service.store.onetime.peek.return_value = _token_doc("email_revert")
    _devices_answer(service, error=RuntimeError("no devices"))
    with pytest.raises(Unavailable):
        service.revert_email_change(TOKEN)
    service.store.onetime.consume.assert_not_called()
    service.store.accounts.change_email.assert_not_called()


def test_the_second_look_after_the_new_password_never_fails_the_reset(service):
    service.store.onetime.peek.return_value = _token_doc()
    service.store.onetime.consume.return_value = _token_doc()
    call = service.devices.end_for_recovery.call_async
    call.return_value.result.side_effect = [{"device_ids": []}, RuntimeError("gone meanwhile")]
    service.reset_password(TOKEN, NEW_PASSWORD)
    assert call.call_count == 2
    recovery.passwords.set_new.assert_called_once()


def test_the_limits_are_named_for_people():
    assert recovery.RESETS.window == 3600 and email_change.EMAIL_CHANGES.window == 86400
    assert "network address" in recovery.RESETS.what_en and "adresu sieciowego" in recovery.RESETS.what_pl


def _mails(*envelopes):
    return {(e["payload"]["to"], e["payload"]["sent_to"]) for e in envelopes}


def test_a_confirmed_change_stores_a_notice_to_the_old_and_the_new_address_with_the_change(service):
    service.store.onetime.consume.return_value = _token_doc(
        "email_confirm", data={"old_norm": ACCOUNT["email_norm"], "new_email": "anna.new@example.com"})
    service.store.accounts.change_email.return_value = {**ACCOUNT, "email": "anna.new@example.com"}
    service.confirm_email_change(TOKEN)
    account_id, from_norm, new, *envelopes = service.store.accounts.change_email.call_args.args
    assert (account_id, from_norm, new) == (ACCOUNT["_id"], ACCOUNT["email_norm"], "anna.new@example.com")
    assert _mails(*envelopes) == {("anna@example.com", "old"), ("anna.new@example.com", "new")}
    assert all(e["type"] == "email_changed" and e["payload"]["locale"] == "en" for e in envelopes)


def test_a_confirmation_for_an_address_that_changed_meanwhile_sends_nothing(service):
    service.store.onetime.consume.return_value = _token_doc(
        "email_confirm", data={"old_norm": "someone.else@example.com", "new_email": "anna.new@example.com"})
    with pytest.raises(InvalidToken):
        service.confirm_email_change(TOKEN)
    service.store.accounts.change_email.assert_not_called()


def test_undoing_a_confirmed_change_tells_the_restored_and_the_undone_address_in_the_address_write(service):
    """The account's login is the new address (the change was confirmed): both addresses were really its own."""
    doc = _token_doc("email_revert", data={"old_email": "anna.old@example.com", "new_email": ACCOUNT["email"]})
    service.store.onetime.peek.return_value = doc
    service.store.onetime.consume.return_value = doc
    _devices_answer(service)
    service.store.accounts.change_email.return_value = ACCOUNT
    service.revert_email_change(TOKEN)
    assert service.store.onetime.consume.call_args.args[2:] == ()
    *_, restored, undone = service.store.accounts.change_email.call_args.args
    assert _mails(restored, undone) == {("anna.old@example.com", "restored"), ("anna@example.com", "undone")}
    assert service.events.dispatch_quietly.call_args.args == (
        "email_changed", {"account_id": ACCOUNT["_id"], "new_email": "anna.old@example.com", "reverted": True})


def test_undoing_an_unconfirmed_change_tells_only_the_address_the_account_has(service):
    """The requested address was only typed in: it never had the account, so it hears nothing."""
    doc = _token_doc("email_revert", data={"old_email": ACCOUNT["email"], "new_email": "typed.in@example.com"})
    service.store.onetime.peek.return_value = doc
    service.store.onetime.consume.return_value = doc
    _devices_answer(service)
    service.revert_email_change(TOKEN)
    service.store.accounts.change_email.assert_not_called()
    (notice,) = service.store.onetime.consume.call_args.args[2:]
    assert _mails(notice) == {(ACCOUNT["email"], "restored")}
    assert notice["payload"]["undone_email"] == "typed.in@example.com"
    assert service.events.dispatch_quietly.call_args.args[0] == "email_changed"
