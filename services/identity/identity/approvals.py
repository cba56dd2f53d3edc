"""Approve on the trusted phone: the second factor where the person's phone approves a web login.

When it is on: a person turns it on (`enable`: the password, and a current TOTP code when TOTP is on) while they
have a trusted device; from then on a right password answers a pending login whose `methods` list "phone" as
long as the account has a trusted device (devices.list_devices; a blocked one still counts — it cannot
approve, so the login waits or expires rather than falling back to the password alone). Without any trusted
device (removed from the web, or by a password reset, which proves the mailbox) the method asks nothing: the
factor is the phone, and there is none. Why "and the factor on" rather than every person with a phone: turning
it on is a choice with a notice e-mail and an audit entry, and a person without it keeps logging in as before.

The request: the pending login gets an approval (storage.approvals) — a random id the phone sees, the client's
address and browser, the time, and a two-digit number shown on the web only; the person types that number on
the phone (number matching: a login they did not start shows a number they cannot know, against approval
fatigue). It can be approved for 2 minutes (`APPROVAL_TTL`); the pending login itself keeps TOTP's 5 minutes
so a person with both can still use a code.

Deciding: the devices service checks the phone (usable, not blocked, the account's), the device key's
signature over a message binding the approval id, the number and a fresh challenge (devices.approvals), and
the PIN (counted toward the device's block) or the biometric key, then calls `decide`. Exactly one decision
wins (a claim). A wrong number denies the request. Every denial counts as a failed check in the address's
failure streak, like a wrong code: 5 denied requests lock the password out for a while (and mail the person),
so a stolen password cannot be used to flood the phone with requests.

Completing: the web polls (`poll`); "waiting" until a decision, the token pair once after an approval (the
pending login's completion is a claim: 20 parallel polls get one pair), LoginDenied after a denial,
ApprovalExpired after 2 minutes. An approved login ends the failure streak.
"""
import hmac
import secrets
from datetime import timedelta

from kadra_defaults import clock
from kadra_defaults.errors import field_error
from kadra_defaults.storage import new_id

from identity import passwords
from identity.exceptions import (AlreadyDecided, ApprovalExpired, ApprovalNotFound, InvalidInput, InvalidToken,
                                 LoginDenied, Unavailable)

APPROVAL_TTL = 120          # seconds the phone may approve
NUMBER_DIGITS = 2
APP = "web"                 # the app that asks: the web app (the only one that logs in with a password and a factor)
PURPOSES = ("login", "phone_off")
USER_AGENT_MAX = 300


def new_number() -> str:
    """Two random digits, "00"–"99" (secrets: not guessable from earlier ones)."""
    return f"{secrets.randbelow(10 ** NUMBER_DIGITS):0{NUMBER_DIGITS}d}"


def number_matches(expected: str, given) -> bool:
    """The number the person typed on the phone is the one on the web screen (spaces ignored)."""
    if not isinstance(given, str):
        return False
    return hmac.compare_digest(expected.encode(), given.strip().encode())


def client_of(client_ip, user_agent) -> dict:
    """What the phone is told about the asking client (bounded, strings only)."""
    agent = user_agent if isinstance(user_agent, str) else ""
    return {"client_ip": client_ip if isinstance(client_ip, str) else None,
            "user_agent": "".join(ch for ch in agent if ch.isprintable())[:USER_AGENT_MAX]}


def has_phone(deps, account_id: str) -> bool:
    """Does the account have a trusted device (blocked or not)? Asked of devices; Unavailable when it is
    silent (a login with the method on is refused then rather than let through on the password alone)."""
    try:
        return bool(deps.devices.list_devices(account_id))
    except Exception:  # noqa: BLE001 - any failure of the call: fail closed, retry is safe
        raise Unavailable("Logging in did not finish. Try again in a moment.",
                          "Logowanie nie zostało ukończone. Spróbuj ponownie za chwilę.") from None


def phone_ready(deps, account_id: str, doc: dict | None) -> bool:
    """Phone approval is on and the account has a trusted device to approve with."""
    return bool(doc and doc.get("phone")) and has_phone(deps, account_id)


def ask(deps, account_id: str, pending_digest: str, purpose: str, client: dict) -> dict:
    """A request for the phone, bound to the pending login `pending_digest`; what the web shows of it."""
    approval_id = new_id()
    number = new_number()
    deps.store.approvals.add(approval_id, account_id, pending_digest, purpose, number, client,
                             clock.now() + timedelta(seconds=APPROVAL_TTL))
    return {"approval_id": approval_id, "number": number, "approval_expires_in": APPROVAL_TTL}


def view(doc: dict) -> dict:
    """A request as the phone lists it (never the number: the person reads it on the web screen)."""
    left = (clock.aware(doc["expires_at"]) - clock.now()).total_seconds()
    return {"approval_id": doc["_id"], "purpose": doc.get("purpose") or "login", "app": APP,
            "client_ip": doc.get("client_ip"), "user_agent": doc.get("user_agent") or "",
            "requested_at": clock.aware(doc["created_at"]).isoformat(), "expires_in": max(0, int(left))}


def open_for(deps, account_id) -> list[dict]:
    """The account's requests waiting for the phone, oldest first."""
    if not isinstance(account_id, str):
        return []
    return [view(doc) for doc in deps.store.approvals.open_for(account_id)]


def decide(deps, account_id, device_id, approval_id, decision, number=None) -> dict:
    """Record the phone's decision (devices checked the phone, its signature and the PIN first):
    {"decision": "approved" | "denied"}; a wrong number denies (and says so: WrongNumber after recording)."""
    if decision not in ("approve", "deny"):
        raise InvalidInput.on("decision", "Send approve or deny.", "Wyślij approve albo deny.")
    doc = deps.store.approvals.get(approval_id)
    if doc is None or doc.get("account_id") != account_id:
        raise ApprovalNotFound()
    if doc.get("decision"):
        raise AlreadyDecided()
    if clock.aware(doc["expires_at"]) <= clock.now():
        raise ApprovalExpired()
    if decision == "approve" and number_matches(doc["number"], number):
        result, reason = "approved", "approved"
    else:
        result, reason = "denied", "wrong_number" if decision == "approve" else "denied"
    if not deps.store.approvals.decide(doc, result, device_id, reason):
        raise AlreadyDecided()
    if result == "denied":
        _count_denial(deps, doc)
    if reason == "wrong_number":
        raise InvalidInput.on("number", "This is not the number shown on the login screen: the login was refused. "
                                        "If it was you, log in again and type the number you see.",
                              "To nie jest liczba z ekranu logowania: logowanie odrzucono. Jeśli to Ty, zaloguj się "
                              "ponownie i wpisz liczbę widoczną na ekranie.")
    return {"decision": result}


def _count_denial(deps, doc: dict) -> None:
    """A denied request counts as a failed check in the address's failure streak (lockout, its notice)."""
    account = deps.store.accounts.by_id(doc["account_id"])
    if account is None:
        return
    attempt = deps.store.throttle.begin(account["email_norm"], doc.get("client_ip"))
    if attempt.allowed:
        passwords.failed_check(deps, attempt, account, doc.get("client_ip"))


def poll(deps, pending_digest: str, pending: dict | None, purpose: str) -> dict | None:
    """The web's look at a pending login waiting for the phone: {"status": "waiting", ...} while undecided,
    None once approved — and only for the one caller whose completion claim won — else an error."""
    if pending is None or (pending.get("purpose") or "login") != purpose:
        raise pending_invalid()
    approval = deps.store.approvals.get(pending.get("approval_id"))
    if approval is None:
        raise InvalidInput.on("method", "This login does not wait for the phone's approval.",
                              "To logowanie nie czeka na potwierdzenie w aplikacji mobilnej.")
    decision = approval.get("decision")
    if decision == "approved":
        if not deps.store.factors.complete_pending_login(pending_digest):
            raise pending_invalid()
        return None
    if decision:
        raise LoginDenied()
    left = (clock.aware(approval["expires_at"]) - clock.now()).total_seconds()
    if left <= 0:
        raise ApprovalExpired()
    return {"status": "waiting", "number": approval["number"], "expires_in": max(1, int(left))}


def withdraw(deps, approval_id) -> None:
    """The pending login was completed another way (a TOTP code): the phone's request goes from its list."""
    doc = deps.store.approvals.get(approval_id) if approval_id else None
    if doc is not None and not doc.get("decision"):
        deps.store.approvals.decide(doc, "withdrawn", None, "completed_elsewhere")


def denied(deps, approval_id) -> bool:
    """Was this pending login's phone request denied? (Then no other method may complete it.)"""
    doc = deps.store.approvals.get(approval_id) if approval_id else None
    return bool(doc and doc.get("decision") == "denied")


def pending_invalid() -> InvalidToken:
    return InvalidToken("This login has expired or was used. Log in again.",
                        "To logowanie wygasło lub zostało już użyte. Zaloguj się ponownie.",
                        errors=[field_error("pending_token", "Invalid, used or expired.",
                                            "Nieprawidłowy, użyty lub wygasły.")])
