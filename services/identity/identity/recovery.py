"""Recovery: a forgotten password is reset through a 30-minute link sent by e-mail.

The request answers the same, and does the same work, for every address, known or not. A reset ends every
session of the account and every access token issued until then.
"""
import logging
from datetime import timedelta

from kadra_defaults import clock
from kadra_defaults.outbox import mail_event

from identity import accounts, passwords, schemas, sessions, tokens
from identity.exceptions import InvalidToken
from identity.storage.accounts import normalise_email

log = logging.getLogger(__name__)

RESET_TTL = 30 * 60
# Reset e-mails per address: at most this many in this many seconds (a completed reset starts again), so
# nobody can bury a person's mailbox in reset links. Further requests answer the same 202 and send nothing.
RESET_MAILS = 3
RESET_MAIL_WINDOW = 60 * 60


def _requests_key(email: str) -> str:
    return f"r:{normalise_email(email)}"


def request_reset(deps, email, client_ip=None) -> None:
    """Always the same answer and the same work; a known address gets an e-mail with a 30-minute link."""
    data = schemas.load(schemas.EmailSchema(), {"email": email})
    store = deps.store
    account = store.accounts.by_email(data["email"])
    # counted for every address, known or not: the same writes either way
    requests = store.throttle.count_in_window(_requests_key(data["email"]), RESET_MAIL_WINDOW)
    token = tokens.new_secret()
    if account is not None and requests > RESET_MAILS:
        # The earlier links stay valid (voiding them without a new one would lock the person out).
        log.info("password reset e-mail held back: too many requests for this address",
                 extra={"account_id": account["_id"], "requests": requests})
        account = None
    if account is not None:
        store.onetime.void(account["_id"], "reset")
        event = mail_event("password_reset_requested", {
            **accounts.recipient(account), "token": token,
            "expires_at": (clock.now() + timedelta(seconds=RESET_TTL)).isoformat()})
        store.onetime.insert(tokens.digest(token), "reset", account["_id"], RESET_TTL, events=(event,))
        deps.outbox.kick()
    else:
        store.onetime.void("-", "reset")
        store.onetime.insert(tokens.digest(token), "decoy", None, RESET_TTL)


def reset(deps, token, new_password) -> None:
    """A new password through a live link: every session and access token of the account ends."""
    if not isinstance(token, str) or not 20 <= len(token) <= 200:
        raise InvalidToken()
    store = deps.store
    digest = tokens.digest(token)
    peek = store.onetime.peek(digest, "reset")
    account = store.accounts.by_id(peek["account_id"]) if peek else None
    passwords.require_policy(new_password, "new_password", account["email"] if account else None)
    if store.onetime.consume(digest, "reset") is None or account is None:
        raise InvalidToken()
    passwords.set_new(deps, account, new_password, via="reset")
    sessions.end(deps, account_id=account["_id"], reason="password_reset", cutoff_account=True)
    store.throttle.record_success(account["email_norm"])
    store.throttle.forget(_requests_key(account["email_norm"]))
