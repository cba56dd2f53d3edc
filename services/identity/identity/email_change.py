"""E-mail (login) change: a confirmation link to the new address, a notice with an undo link to the old one.

Confirming sets the new address, with a notice to the old and to the new address in the same write. Undoing
("this wasn't me", 7 days) puts the old address back, voids pending confirmations, removes the trusted device
(whoever asked for the change knew the password, and a device is paired with it:
identity.recovery.end_trusted_device, before the link is spent) and ends every session and access token of the
account; a notice goes to the restored address and, when the change had been confirmed, to the address it had
become (never to one the account never had). Requests are limited per account
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
                   data={"old_email": account["email"], "new_email": new}, events=(notice,))
    if not taken:
        confirm_token = tokens.new_secret()
        event = mail_event("email_change_requested", {
            **accounts.recipient(account), "to": new, "new_email": new, "token": confirm_token,
            "expires_at": (clock.now() + timedelta(seconds=EMAIL_CONFIRM_TTL)).isoformat()})
        onetime.insert(tokens.digest(confirm_token), "email_confirm", account_id, EMAIL_CONFIRM_TTL,
                       data={"old_norm": account["email_norm"], "new_email": new}, events=(event,))
    deps.outbox.kick()


def confirm(deps, token) -> None:
    """The new address becomes the login; the old and the new address each get a notice, in the same write."""
    doc = _consume(deps, token, "email_confirm")
    account = deps.store.accounts.by_id(doc["account_id"])
    if account is None or account["email_norm"] != doc["data"]["old_norm"]:
        raise InvalidToken()
    new = doc["data"]["new_email"]
    try:
        changed = deps.store.accounts.change_email(account["_id"], account["email_norm"], new,
                                                   *changed_mails(account, new))
    except DuplicateKeyError:
        changed = None
    if changed is None:
        raise InvalidToken()
    deps.outbox.kick()
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
    account = deps.store.accounts.by_id(doc["account_id"]) or account  # as it is now, after the wait
    old = doc["data"]["old_email"]
    changed_back = normalise_email(old) != account["email_norm"]
    # The notices go to addresses the account really had: the restored one, and the one the change had made
    # its login (when it was confirmed); an address only requested never had the account, and gets nothing.
    undone = account["email"] if changed_back else doc["data"].get("new_email")
    notices = reverted_mails(account, old, undone, changed_back)
    # In the write that makes the undo happen: the address changed back, else the link spent (either once).
    doc = _consume(deps, token, "email_revert", *(() if changed_back else notices))
    deps.store.onetime.void(account["_id"], "email_confirm")
    if changed_back:
        try:
            deps.store.accounts.change_email(account["_id"], account["email_norm"], old, *notices)
        except DuplicateKeyError:
            raise InvalidToken() from None
        deps.feed.account_changed(account["_id"])
    deps.outbox.kick()
    deps.events.dispatch_quietly("email_changed", {"account_id": account["_id"], "new_email": old, "reverted": True})
    sessions.end(deps, account_id=account["_id"], reason="email_revert", cutoff_account=True)
    recovery.end_trusted_device(deps, account["_id"], "email_revert", owner, required=False)


def changed_mails(account: dict, new_email: str) -> tuple[dict, dict]:
    """The notices of a confirmed change: to the address the account had, and to its new one."""
    base = {**accounts.recipient(account), "old_email": account["email"], "new_email": new_email,
            "changed_at": clock.now().isoformat()}
    return (mail_event("email_changed", {**base, "to": account["email"], "sent_to": "old"}),
            mail_event("email_changed", {**base, "to": new_email, "sent_to": "new"}))


def reverted_mails(account: dict, restored: str, undone: str | None, to_undone: bool) -> tuple[dict, ...]:
    """The notices of an undone change: to the restored address and, if the change had made it the login, to
    the undone one."""
    base = {**accounts.recipient(account), "restored_email": restored, "undone_email": undone or restored,
            "reverted_at": clock.now().isoformat()}
    mails = [mail_event("email_change_reverted", {**base, "to": restored, "sent_to": "restored"})]
    if to_undone and undone:
        mails.append(mail_event("email_change_reverted", {**base, "to": undone, "sent_to": "undone"}))
    return tuple(mails)


def _live(deps, token, kind: str) -> dict:
    """The document of a live one-time token, not consumed; InvalidToken otherwise."""
    if not isinstance(token, str) or not 20 <= len(token) <= 200:
        raise InvalidToken()
    doc = recovery.live(deps.store.onetime.peek(tokens.digest(token), kind))
    if doc is None:
        raise InvalidToken()
    return doc


def _consume(deps, token, kind: str, *events: dict) -> dict:
    if not isinstance(token, str) or not 20 <= len(token) <= 200:
        raise InvalidToken()
    doc = deps.store.onetime.consume(tokens.digest(token), kind, *events)
    if doc is None:
        raise InvalidToken()
    return doc
