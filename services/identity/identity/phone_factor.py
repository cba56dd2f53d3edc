"""Approval on the trusted phone as a second factor: turning it on and off (identity.approvals holds the requests).

On: a trusted phone, the password, and TOTP's current code (or a recovery code) when TOTP is on. Off: the
password and a current factor — TOTP's code when TOTP is on; else the phone's own approval (a request with
purpose "phone_off", polled with its pending token like a login); with no trusted phone left, the password
alone (there is no factor to show). Each change stores its notice e-mail in the same write (outbox) and tells
the audit log (`second_factor_changed`, method phone), as TOTP's changes do (identity.second_factor).
"""
import secrets
from datetime import timedelta

from kadra_defaults import clock

from identity import accounts, approvals, passwords
from identity import second_factor as sf
from identity.exceptions import InvalidInput


def enable(deps, account_id, password, code=None, recovery_code=None, client_ip=None) -> None:
    """Phone approval on: needs a trusted device, the password, and a current TOTP code when TOTP is on."""
    account = accounts.active(deps, account_id)
    doc = deps.store.factors.get(account_id) or {}
    if doc.get("phone"):
        raise InvalidInput.on("phone", "Approving logins on the phone is already on.",
                              "Potwierdzanie logowania w aplikacji mobilnej jest już włączone.")
    if not approvals.has_phone(deps, account_id):
        raise InvalidInput.on("phone", "Activate the mobile app on your phone first (the “Aplikacja mobilna” page).",
                              "Najpierw aktywuj aplikację mobilną na telefonie (strona „Aplikacja mobilna”).")
    totp = deps.store.factors.enabled(account_id)
    sf.password_and_factor(deps, account, totp, password, code, recovery_code, client_ip)
    if not deps.store.factors.set_phone(account_id, True, sf.notice(account, "enabled", "phone", bool(totp))):
        raise InvalidInput.on("phone", "Approving logins on the phone is already on.",
                              "Potwierdzanie logowania w aplikacji mobilnej jest już włączone.")
    sf.told(deps, account_id, "enabled", "phone")


def disable(deps, account_id, password=None, code=None, recovery_code=None, client_ip=None, pending_token=None,
            user_agent=None) -> dict:
    """Phone approval off: the password and a current factor — a TOTP (or recovery) code when TOTP is on, else
    the phone's own approval (answers {"status": "waiting", pending_token, number, …}; poll with the
    pending_token). {"status": "done"} once off. Without a trusted device the password alone turns it off."""
    if pending_token is not None:
        return _disable_approved(deps, account_id, pending_token)
    account = accounts.active(deps, account_id)
    doc = deps.store.factors.get(account_id) or {}
    if not doc.get("phone"):
        raise InvalidInput.on("phone", "Approving logins on the phone is not on.",
                              "Potwierdzanie logowania w aplikacji mobilnej nie jest włączone.")
    totp = deps.store.factors.enabled(account_id)
    if totp or not approvals.has_phone(deps, account_id):
        sf.password_and_factor(deps, account, totp, password, code, recovery_code, client_ip)
        _phone_off(deps, account, bool(totp))
        return {"status": "done"}
    if not passwords.confirm(deps, account, password, client_ip, end_streak=False):
        raise InvalidInput.on("password", "The password is wrong.", "Hasło jest nieprawidłowe.")
    token = secrets.token_urlsafe(32)
    key = sf.digest(token)
    asked = approvals.ask(deps, account_id, key, "phone_off", approvals.client_of(client_ip, user_agent))
    deps.store.factors.add_pending_login(key, account_id, clock.now() + timedelta(seconds=approvals.APPROVAL_TTL),
                                         purpose="phone_off", approval_id=asked["approval_id"])
    return {"status": "waiting", "pending_token": token, "number": asked["number"],
            "expires_in": approvals.APPROVAL_TTL}


def _disable_approved(deps, account_id, pending_token) -> dict:
    if not isinstance(pending_token, str) or not 20 <= len(pending_token) <= 200:
        raise approvals.pending_invalid()
    key = sf.digest(pending_token)
    pending = deps.store.factors.pending_login(key)
    if pending is not None and pending["account_id"] != account_id:
        raise approvals.pending_invalid()
    waiting = approvals.poll(deps, key, pending, "phone_off")
    if waiting is not None:
        return waiting
    account = accounts.active(deps, account_id)
    deps.store.throttle.record_success(account["email_norm"])
    _phone_off(deps, account, bool(deps.store.factors.enabled(account_id)))
    return {"status": "done"}


def _phone_off(deps, account: dict, other_on: bool) -> None:
    if deps.store.factors.set_phone(account["_id"], False, sf.notice(account, "disabled", "phone", other_on)):
        sf.told(deps, account["_id"], "disabled", "phone")
