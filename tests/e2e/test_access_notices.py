"""Journey 9 against the real services: every access change that concerns a person reaches them by e-mail, once,
in their language, at addresses the account really had, and lands in the company's audit log with its kind and
actor.

Real gateway, identity, users, devices and notify over RabbitMQ and FerretDB; the e-mails are read from the SMTP
sink's folder. "Once" is checked by waiting for the e-mail and then, after a pause longer than the outbox relay's
poll (0.5 s), finding it still alone.
"""
import time

import pytest

from tests.support.devices import Phone, sign_up, web_login
from tests.support.identity import mail_tokens
from tests.support.mailbox import Mail
from tests.support.users import audit_entries, join, token_from
from tests.support.users import sign_up as sign_up_owner

pytestmark = pytest.mark.e2e

API = "/api/v1"
SETTLE = 1.5  # seconds: past a relay poll and a notify round trip, so a second copy would have arrived
NEW_PASSWORD = "a brand new passphrase for the owner 7"


def _once(mailbox, address: str, subject: str) -> Mail:
    """The one e-mail to `address` whose subject holds `subject`; fails if none comes or a second one does."""
    (mail,) = mailbox.wait_for(address, subject, count=1, timeout=30)
    time.sleep(SETTLE)
    found = [m for m in mailbox.to(address) if subject in m.subject]
    assert len(found) == 1, [m.subject for m in found]
    return mail


_entries = audit_entries


def _person(api, locale: str) -> dict:
    """A new account (and its company) writing in `locale`."""
    return {**sign_up(api, locale=locale), "locale": locale}


def _phone(api, account: dict, name: str = "Pixel 8 Anny", platform: str = "android") -> Phone:
    phone = Phone(api, name, platform)
    response = phone.activate(account)
    assert response.status_code == 201, response.text
    return phone


# -- the trusted device ---------------------------------------------------------------------------------------------

def test_removing_the_device_from_the_web_sends_one_notice_in_the_persons_language(api, mailbox):
    account = _person(api, "en")
    phone = _phone(api, account)
    web = web_login(api, account)
    assert api.delete(api.url(f"{API}/me/devices/{phone.device_id}"), headers=web).status_code == 204
    notice = _once(mailbox, account["email"], "was removed")
    assert account["email"] in notice.to
    assert phone.name in notice.subject
    assert "was removed from your account" in notice.text and "Pixel 8 Anny (Android)" in notice.text
    assert "remind password" in notice.text and "przypomnij" not in notice.text
    assert "Pixel 8 Anny" in notice.html and 'lang="en"' in notice.html
    # a second DELETE finds nothing and sends nothing
    assert api.delete(api.url(f"{API}/me/devices/{phone.device_id}"), headers=web).status_code == 404
    time.sleep(SETTLE)
    assert len([m for m in mailbox.to(account["email"]) if "was removed" in m.subject]) == 1
    (entry,) = _entries(api, account["company_id"], web, "device_removed")
    assert entry["details"]["reason"] == "removed" and entry["actor_account_id"] == account["account_id"]


def test_the_app_removing_itself_goes_to_the_address_the_account_has_now(api, mailbox):
    """The notice goes to the account's current address, not the copy the device took at activation."""
    account = _person(api, "pl")
    phone = _phone(api, account, "iPhone Anny", "ios")
    web = web_login(api, account)
    new_email = f"nowy-{account['account_id'][:10]}@example.com"
    assert api.post(api.url(f"{API}/me/email"), headers=web,
                    json={"new_email": new_email, "password": account["password"]}).status_code == 202
    (confirm,) = mailbox.wait_for(new_email, "", count=1, timeout=30)
    assert api.post(api.url(f"{API}/me/email/confirm"), json={"token": mail_tokens(confirm)[0]}).status_code == 204
    assert api.delete(api.url(f"{API}/me/devices/{phone.device_id}"), headers=phone.bearer).status_code == 204
    notice = _once(mailbox, new_email, "zostało usunięte")
    assert "iPhone Anny (iOS)" in notice.text and "usunięto urządzenie zaufane" in notice.text
    assert not [m for m in mailbox.to(account["email"]) if "zostało usunięte" in m.subject]


def test_replacing_the_phone_sends_one_notice_naming_both_phones(api, mailbox):
    account = _person(api, "pl")
    old = _phone(api, account, "Pixel 8 Anny")
    mailbox.wait_for(account["email"], "nowe urządzenie zaufane na Twoim koncie", count=1, timeout=30)
    new = Phone(api, "iPhone 15 Anny", "ios")
    assert new.activate(account).status_code == 409
    assert new.activate(account, replace=True).status_code == 201
    notice = _once(mailbox, account["email"], "zastąpiło")
    assert "iPhone 15 Anny" in notice.subject and "Pixel 8 Anny" in notice.subject
    assert "iPhone 15 Anny (iOS)" in notice.text and "Pixel 8 Anny (Android)" in notice.text
    assert "Nowe urządzenie" in notice.text and "Poprzednie urządzenie (usunięte)" in notice.text
    # one notice for the replacement: no second "new device" e-mail and no separate removal e-mail
    subjects = [m.subject for m in mailbox.to(account["email"])]
    assert sum("na Twoim koncie" in s for s in subjects) == 1, subjects
    assert not [s for s in subjects if "zostało usunięte" in s], subjects
    web = web_login(api, account)
    (removed,) = _entries(api, account["company_id"], web, "device_removed")
    assert removed["details"]["reason"] == "replaced" and removed["details"]["device_id"] == old.device_id
    assert len(_entries(api, account["company_id"], web, "device_paired", count=2)) == 2


def test_a_block_and_its_unblock_are_audited_once_with_the_person_as_actor(api, mailbox):
    account = _person(api, "en")
    phone = _phone(api, account)
    assert phone.set_pin().status_code == 204
    statuses = [phone.login_pin("950173").status_code for _ in range(5)]
    assert statuses == [401] * 4 + [423], statuses  # the fifth wrong PIN blocks
    assert phone.challenge().status_code == 423
    web = web_login(api, account)
    (blocked,) = _entries(api, account["company_id"], web, "device_blocked")
    assert blocked["actor_account_id"] == account["account_id"]
    assert blocked["details"]["device_id"] == phone.device_id and blocked["details"]["reason"] == "wrong_pins"
    unblock = api.url(f"{API}/me/devices/{phone.device_id}/unblock")
    assert api.post(unblock, json={"password": "nope-nope-1"}, headers=web).status_code == 403
    first = api.post(unblock, json={"password": account["password"]}, headers=web)
    assert first.status_code == 200 and first.json()["blocked"] is False
    # unblocking a device that is not blocked any more changes nothing in the log
    assert api.post(unblock, json={"password": account["password"]}, headers=web).status_code == 200
    (unblocked,) = _entries(api, account["company_id"], web, "device_unblocked")
    assert unblocked["actor_account_id"] == account["account_id"]
    assert unblocked["subject_account_id"] == account["account_id"]
    assert unblocked["details"]["device_id"] == phone.device_id
    time.sleep(SETTLE)
    assert len(_entries(api, account["company_id"], web, "device_unblocked")) == 1
    assert phone.login_pin().status_code == 200


# -- ownership --------------------------------------------------------------------------------------------------

def test_a_completed_transfer_tells_both_sides_their_role_now_once_each(api, mailbox):
    owner, company_id = sign_up_owner(api, company_name="Majama Michał Zając", full_name="Jan Kowalski")
    heir = join(api, mailbox, owner, company_id, "employee", full_name="Anna Nowak")
    assert api.patch(api.url(f"{API}/me"), json={"locale": "en"}, headers=heir.auth).status_code == 200
    offered = api.post(api.url(f"{API}/companies/{company_id}/ownership/transfer"),
                       json={"account_id": heir.account_id}, headers=owner.auth)
    assert offered.status_code == 202, offered.text
    (offer,) = [m for m in mailbox.wait_for(heir.email, count=2, timeout=30) if "#token=" in m.text
                and "ownership" in m.text.lower()]
    accepted = api.post(api.url(f"{API}/ownership/accept"), json={"token": token_from(offer)}, headers=heir.auth)
    assert accepted.status_code == 200, accepted.text

    to_old = _once(mailbox, owner.email, "przekazano własność firmy")
    assert "Majama Michał Zając" in to_old.subject
    assert "Twoja rola: zarząd / pełnomocnik / księgowy" in to_old.text
    assert "Nowy właściciel: Anna Nowak" in to_old.text and "Nie jesteś już jej właścicielem" in to_old.text
    to_new = _once(mailbox, heir.email, "you now own")
    assert "Majama Michał Zając" in to_new.subject
    assert "Your role: owner / president" in to_new.text and "Previous owner: Jan Kowalski" in to_new.text
    # the offer's link is spent: accepting again sends nothing more
    assert api.post(api.url(f"{API}/ownership/accept"), json={"token": token_from(offer)},
                    headers=heir.auth).status_code == 400
    time.sleep(SETTLE)
    assert len([m for m in mailbox.to(owner.email) if "przekazano własność" in m.subject]) == 1
    assert len([m for m in mailbox.to(heir.email) if "you now own" in m.subject]) == 1


# -- e-mail (login) change ---------------------------------------------------------------------------------------

def _request_change(api, mailbox, account: dict, web: dict, new_email: str) -> tuple[str, str]:
    """(confirmation token from the new address, undo token from the old one)."""
    requested = api.post(api.url(f"{API}/me/email"), headers=web,
                         json={"new_email": new_email, "password": account["password"]})
    assert requested.status_code == 202, requested.text
    (confirm,) = mailbox.wait_for(new_email, "", count=1, timeout=30)
    subject = "prośba o zmianę adresu e-mail" if account["locale"] == "pl" else "change your account's e-mail address"
    (notice,) = mailbox.wait_for(account["email"], subject, count=1, timeout=30)
    return mail_tokens(confirm)[0], mail_tokens(notice)[0]


def _confirmed_change(api, mailbox, locale: str) -> tuple[dict, str, str, str]:
    """A person whose login changed by a confirmed request: (account as it was, new address, spent confirmation
    token, undo token)."""
    account = _person(api, locale)
    new_email = f"anna-new-{account['account_id'][:10]}@example.com"
    confirm, undo = _request_change(api, mailbox, account, web_login(api, account), new_email)
    assert api.post(api.url(f"{API}/me/email/confirm"), json={"token": confirm}).status_code == 204
    return account, new_email, confirm, undo


def test_a_confirmed_change_notifies_the_old_and_the_new_address_once_and_is_audited(api, mailbox):
    account, new_email, confirm, _ = _confirmed_change(api, mailbox, "en")
    for address in (account["email"], new_email):
        notice = _once(mailbox, address, "(login) of your account was changed")
        assert account["email"] in notice.text and new_email in notice.text
        assert "From now on you log in with " + new_email in " ".join(notice.text.split())
    old_side = _once(mailbox, account["email"], "(login) of your account was changed")
    assert "this wasn't me" in old_side.text and "/app/forgot-password" in old_side.text
    # the spent link changes nothing more and sends nothing more
    assert api.post(api.url(f"{API}/me/email/confirm"), json={"token": confirm}).status_code == 400
    time.sleep(SETTLE)
    assert len([m for m in mailbox.to(new_email) if "was changed" in m.subject]) == 1
    web = web_login(api, {**account, "email": new_email})
    (entry,) = _entries(api, account["company_id"], web, "email_changed")
    assert entry["actor_account_id"] == account["account_id"] and entry["details"]["new_email"] == new_email


def test_undoing_a_confirmed_change_notifies_both_addresses_and_is_audited_as_a_revert(api, mailbox):
    account, new_email, _, undo = _confirmed_change(api, mailbox, "pl")
    assert api.post(api.url(f"{API}/me/email/revert"), json={"token": undo}).status_code == 204
    restored = _once(mailbox, account["email"], "cofnięto zmianę adresu e-mail")
    undone = _once(mailbox, new_email, "cofnięto zmianę adresu e-mail")
    for notice in (restored, undone):
        assert account["email"] in notice.text and new_email in notice.text
        assert "Przywrócony adres: " + account["email"] in notice.text
    assert "/app/forgot-password" in restored.text and "/app/forgot-password" not in undone.text
    assert api.post(api.url(f"{API}/me/email/revert"), json={"token": undo}).status_code == 400
    time.sleep(SETTLE)
    assert len([m for m in mailbox.to(account["email"]) if "cofnięto zmianę" in m.subject]) == 1
    web = web_login(api, account)
    (entry,) = _entries(api, account["company_id"], web, "email_change_reverted")
    assert entry["actor_account_id"] == account["account_id"]
    assert entry["details"]["new_email"] == account["email"]
    assert len(_entries(api, account["company_id"], web, "email_changed")) == 1  # the confirmed change only


def test_undoing_an_unconfirmed_change_tells_only_the_address_the_account_has(api, mailbox):
    """The requested address never belonged to the account (anyone may type one in): it hears nothing more."""
    account = _person(api, "en")
    web = web_login(api, account)
    stranger = f"stranger-{account['account_id'][:10]}@example.com"
    _, undo = _request_change(api, mailbox, account, web, stranger)
    assert api.post(api.url(f"{API}/me/email/revert"), json={"token": undo}).status_code == 204
    notice = _once(mailbox, account["email"], "e-mail address was undone")
    assert stranger in notice.text and "remind password" in notice.text
    time.sleep(SETTLE)
    assert [m.subject for m in mailbox.to(stranger)] == ["Kadra: confirm your new e-mail address"]
    web = web_login(api, account)
    (entry,) = _entries(api, account["company_id"], web, "email_change_reverted")
    assert entry["actor_account_id"] == account["account_id"]


# -- passwords --------------------------------------------------------------------------------------------------

def test_a_password_change_and_a_reset_are_audited_with_how(api, mailbox):
    account = _person(api, "en")
    web = web_login(api, account)
    changed = api.post(api.url(f"{API}/auth/password/change"), headers=web,
                       json={"current_password": account["password"], "new_password": NEW_PASSWORD})
    assert changed.status_code == 204, changed.text
    (entry,) = _entries(api, account["company_id"], web, "password_changed")
    assert entry["details"]["via"] == "change" and entry["actor_account_id"] == account["account_id"]
    assert api.post(api.url(f"{API}/auth/password/forgot"), json={"email": account["email"]}).status_code == 202
    (reset_mail,) = mailbox.wait_for(account["email"], "set a new password", count=1, timeout=30)
    reset = api.post(api.url(f"{API}/auth/password/reset"),
                     json={"token": mail_tokens(reset_mail)[0], "new_password": NEW_PASSWORD + "x"})
    assert reset.status_code == 204, reset.text
    web = web_login(api, {**account, "password": NEW_PASSWORD + "x"})
    entries = _entries(api, account["company_id"], web, "password_changed", count=2)
    assert [e["details"]["via"] for e in entries] == ["reset", "change"]  # newest first
    assert all(e["actor_account_id"] == account["account_id"] for e in entries)
