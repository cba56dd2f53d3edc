"""Recovery: a forgotten password is reset through a 30-minute link sent by e-mail.

The request answers the same, and does the same work, for every address, known or not; it is limited per
client address (KADRA_LIMIT_RESETS_PER_CLIENT_HOUR: a limit met is 429 for a known and an unknown address
alike — it is about the client, not the address). A reset ends every session of the account and every
access token issued until then, and removes the trusted device (recovery means the old password may have
been in other hands, and a device is paired with the password; a voluntary change keeps it).

How identity tells devices, and why nothing is lost (`end_trusted_device`, also used by the e-mail change's
"this wasn't me" undo): before the link is spent, identity asks devices (`devices.end_for_recovery`, an RPC)
to remove the account's device and waits at most DEVICES_TIMEOUT seconds. No answer in time: 503 (Retry-After)
and nothing has changed — the link still works, the password is the old one — so the person's retry does it
all. A reset never completes with the device left behind, and it never waits long. devices ignores a request
identity stopped waiting for (`stale_after`), so a backlog replayed after an outage removes nothing. Once the
new password is set, devices is asked once more (without waiting on failure) for a device that an activation
with the old password paired in the milliseconds between.
"""
import logging
import time
from datetime import timedelta

import eventlet

from kadra_defaults import clock, settings
from kadra_defaults.limits import HOUR, Limit
from kadra_defaults.outbox import mail_event

from identity import accounts, passwords, schemas, sessions, tokens
from identity.exceptions import InvalidToken, Unavailable
from identity.storage.accounts import normalise_email

log = logging.getLogger(__name__)

RESET_TTL = 30 * 60
# Reset e-mails per address: at most this many in this many seconds (a completed reset starts again), so
# nobody can bury a person's mailbox in reset links. Further requests answer the same 202 and send nothing.
RESET_MAILS = 3
RESET_MAIL_WINDOW = 60 * 60
# Reset requests per client address (an abuse limit: our e-mails to any number of addresses).
RESETS = Limit("password_resets", "password-reset requests from this network address",
               "próśb o ustawienie nowego hasła z tego adresu sieciowego", HOUR)

# How long a recovery waits for devices to remove the trusted device before answering 503, and how long
# devices may still act on the request (wall-clock seconds; generous, for clock skew between machines).
DEVICES_TIMEOUT = 3.0
STALE_AFTER = 30.0
UNFINISHED = {
    "password_reset": ("Setting the new password did not finish. Try again in a moment: the link still works.",
                       "Ustawianie nowego hasła nie zostało ukończone. Spróbuj ponownie za chwilę: link nadal działa."),
    "email_revert": ("Undoing the change did not finish. Try again in a moment: the link still works.",
                     "Cofanie zmiany nie zostało ukończone. Spróbuj ponownie za chwilę: link nadal działa."),
}


def _requests_key(email: str) -> str:
    return f"r:{normalise_email(email)}"


def request_reset(deps, email, client_ip=None) -> None:
    """Always the same answer and the same work; a known address gets an e-mail with a 30-minute link."""
    data = schemas.load(schemas.EmailSchema(), {"email": email})
    store = deps.store
    RESETS.take(store.db, client_ip, settings.current().limit_resets_per_client_hour)  # before the address is read
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
        store.onetime.insert(tokens.digest(token), "decoy", None, RESET_TTL, decoy_mail=True)
        deps.outbox.kick()


def reset(deps, token, new_password) -> None:
    """A new password through a live link: the trusted device goes, every session and access token ends."""
    if not isinstance(token, str) or not 20 <= len(token) <= 200:
        raise InvalidToken()
    store = deps.store
    digest = tokens.digest(token)
    peek = live(store.onetime.peek(digest, "reset"))
    account = store.accounts.by_id(peek["account_id"]) if peek else None
    passwords.require_policy(new_password, "new_password", account["email"] if account else None,
                             passwords.own_inputs(account))
    if account is None:
        raise InvalidToken()
    # Before the link is spent: without devices' answer, a 503 leaves the link and the old password as they were.
    end_trusted_device(deps, account["_id"], "password_reset", accounts.recipient(account))
    if store.onetime.consume(digest, "reset") is None:
        raise InvalidToken()
    passwords.set_new(deps, account, new_password, via="reset")
    sessions.end(deps, account_id=account["_id"], reason="password_reset", cutoff_account=True)
    end_trusted_device(deps, account["_id"], "password_reset", accounts.recipient(account), required=False)
    store.throttle.record_success(account["email_norm"])
    store.throttle.forget(_requests_key(account["email_norm"]))


def live(doc: dict | None) -> dict | None:
    """The one-time token's document if it can still be consumed (not used, voided or expired), else None."""
    if doc is None or doc.get("used_at") is not None or doc.get("voided"):
        return None
    expires_at = doc.get("expires_at")
    return doc if expires_at is not None and expires_at > clock.now() else None


def end_trusted_device(deps, account_id: str, cause: str, recipient: dict, required: bool = True) -> list[str]:
    """Have devices remove the account's trusted device (audited "recovery", a notice to `recipient`) and end
    its sessions; the removed device ids.

    `required`: no answer within DEVICES_TIMEOUT is Unavailable (503, Retry-After), for the caller to raise
    before it changes anything; otherwise it is logged and the recovery goes on.
    """
    try:
        with eventlet.Timeout(DEVICES_TIMEOUT):
            answer = deps.devices.end_for_recovery.call_async(
                account_id, cause, recipient, time.time() + STALE_AFTER).result()
    except (Exception, eventlet.Timeout) as exc:  # noqa: B036 — devices down, slow or failing: all the same here
        log.warning("recovery: devices did not remove the trusted device",
                    extra={"account_id": account_id, "cause": cause, "required": required,
                           "error": type(exc).__name__})
        if required:
            raise Unavailable(*UNFINISHED[cause]) from None
        return []
    device_ids = [d for d in (answer or {}).get("device_ids") or [] if isinstance(d, str)]
    for device_id in device_ids:
        sessions.end(deps, device_id=device_id, reason=cause)
    return device_ids
