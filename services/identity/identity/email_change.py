"""E-mail (login) change: a confirmation link to the new address, a notice with an undo link to the old one.

Confirming sets the new address. Undoing ("this wasn't me", 7 days) puts the old address back, voids
pending confirmations, removes the trusted device (whoever asked for the change knew the password, and a
device is paired with it: identity.recovery.end_trusted_device, before the link is spent) and ends every
session and access token of the account. Requests are limited per account
(KADRA_LIMIT_EMAIL_CHANGES_PER_ACCOUNT_DAY): each sends e-mail to an address the requester chose.
"""
from datetime import timedelta

from pymongo.errors import DuplicateKeyError

from kadra_defaults import clock, settings
from kadra_defaults.limits import DAY, Limit
from kadra_defaults.outbox import mail_event

from identity import accounts, passwords, recovery, schemas, sessions, tokens
from identity.exceptions import InvalidInput, InvalidToken
from identity.storage.accounts import normalise_email

EMAIL_CONFIRM_TTL = 24 * 3600
EMAIL_UNDO_TTL = 7 * 24 * 3600
EMAIL_CHANGES = Limit("email_changes", "e-mail address change requests for this account",
                      "próśb o zmianę adresu e-mail tego konta", DAY)


def request(deps, account_id, new_email, password, client_ip=None) -> None:
    """An address that has an account gets no confirmation (and the caller is told nothing else)."""
    account = accounts.active(deps, account_id)
    new = schemas.load(schemas.NewEmailSchema(), {"new_email": new_email})["new_email"]
    if normalise_email(new) == account["email_norm"]:
        raise InvalidInput.on("new_email", "This is already your e-mail address.", "To już jest Twój adres e-mail.")
    if not passwords.confirm(deps, account, password, client_ip):
        raise InvalidInput.on("password", "The password is wrong.", "Hasło jest nieprawidłowe.")
    # Counted once the password is right (wrong ones are the lockout's), before anything is sent.
    EMAIL_CHANGES.take(deps.store.db, account_id, settings.current().limit_email_changes_per_account_day)
    onetime = deps.store.onetime
    taken = deps.store.accounts.by_email(new, active_only=False) is not None
    undo = tokens.new_secret()
    notice = mail_event("email_change_notice", {**accounts.recipient(account), "new_email": new, "undo_token": undo})
    onetime.void(account_id, "email_confirm")
    onetime.insert(tokens.digest(undo), "email_revert", account_id, EMAIL_UNDO_TTL,
                   data={"old_email": account["email"]}, events=(notice,))
    if not taken:
        confirm_token = tokens.new_secret()
        event = mail_event("email_change_requested", {
            **accounts.recipient(account), "to": new, "new_email": new, "token": confirm_token,
            "expires_at": (clock.now() + timedelta(seconds=EMAIL_CONFIRM_TTL)).isoformat()})
        onetime.insert(tokens.digest(confirm_token), "email_confirm", account_id, EMAIL_CONFIRM_TTL,
                       data={"old_norm": account["email_norm"], "new_email": new}, events=(event,))
    deps.outbox.kick()


def confirm(deps, token) -> None:
    doc = _consume(deps, token, "email_confirm")
    try:
        changed = deps.store.accounts.change_email(doc["account_id"], doc["data"]["old_norm"], doc["data"]["new_email"])
    except DuplicateKeyError:
        changed = None
    if changed is None:
        raise InvalidToken()
    deps.feed.account_changed(doc["account_id"])
    deps.events.dispatch_quietly("email_changed", {"account_id": doc["account_id"], "new_email": changed["email"]})


def revert(deps, token) -> None:
    """"This wasn't me": the old address back, pending confirmations void, the trusted device removed, every
    session ended."""
    doc = _live(deps, token, "email_revert")
    account = deps.store.accounts.by_id(doc["account_id"])
    if account is None:
        raise InvalidToken()
    # Before the link is spent: without devices' answer, a 503 leaves the link as it was for the retry.
    # The notice goes to the address being restored: the real owner's.
    owner = {**accounts.recipient(account), "to": doc["data"]["old_email"]}
    recovery.end_trusted_device(deps, account["_id"], "email_revert", owner)
    doc = _consume(deps, token, "email_revert")
    account = deps.store.accounts.by_id(doc["account_id"]) or account  # as it is now, after the wait
    deps.store.onetime.void(account["_id"], "email_confirm")
    old = doc["data"]["old_email"]
    if normalise_email(old) != account["email_norm"]:
        try:
            deps.store.accounts.change_email(account["_id"], account["email_norm"], old)
        except DuplicateKeyError:
            raise InvalidToken() from None
        deps.feed.account_changed(account["_id"])
        deps.events.dispatch_quietly("email_changed", {"account_id": account["_id"], "new_email": old,
                                                       "reverted": True})
    sessions.end(deps, account_id=account["_id"], reason="email_revert", cutoff_account=True)
    recovery.end_trusted_device(deps, account["_id"], "email_revert", owner, required=False)


def _live(deps, token, kind: str) -> dict:
    """The document of a live one-time token, not consumed; InvalidToken otherwise."""
    if not isinstance(token, str) or not 20 <= len(token) <= 200:
        raise InvalidToken()
    doc = recovery.live(deps.store.onetime.peek(tokens.digest(token), kind))
    if doc is None:
        raise InvalidToken()
    return doc


def _consume(deps, token, kind: str) -> dict:
    if not isinstance(token, str) or not 20 <= len(token) <= 200:
        raise InvalidToken()
    doc = deps.store.onetime.consume(tokens.digest(token), kind)
    if doc is None:
        raise InvalidToken()
    return doc
