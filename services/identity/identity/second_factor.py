"""The second factor of web logins: TOTP (RFC 6238, pyotp) with recovery codes.

Enrolment: `begin` makes a secret on the server and answers it once (with its otpauth:// URI, for a QR
code); `confirm` with a current code turns it on and answers ten recovery codes, once. After that the secret
is never answered again and never logged. Turning it off needs the password and a current code (or a
recovery code). Each change stores its notice e-mail in the same write (outbox) and tells the audit log
(`second_factor_changed`).

Activating a phone with the password (`verify_credentials` with `codes`) answers tokens too, so for an account with
TOTP on it needs a code as well; with only phone approval on (identity.approvals) and a trusted phone, another
phone is refused (the current one must be removed first, or a password reset removes it).

Login: a right password for an account with TOTP on answers a pending login — an opaque token, single use,
5 minutes — instead of tokens (`login`); the second step (`complete_login`) trades it with a code for the
tokens. A wrong password never reaches this module, so its answer is the same with and without TOTP.

Codes: six digits, the current 30-second step or one either side (clock drift). A step is used once per
account (a claim by unique insert: 20 parallel uses of one code give one success), and never an older step
than the newest used. Recovery codes are 10 random base32 characters (50 bits), stored as sha256 digests:
a code that random cannot be guessed from its digest, so a slow hash (argon2id, for passwords people choose)
would only cost time on every try; each is spent once (a claim).

Counting: every code checked reserves a number in the address's failure streak first, like a password
(storage.throttle), so wrong codes lead to the same lockout as wrong passwords. For an account with TOTP a
right password alone does not end the streak — only a completed second step does — so knowing the password
gives 5 code guesses before the doubling waits, not 5 more after every login.
"""
import hashlib
import hmac
import secrets
import time
from datetime import timedelta

import pyotp

from kadra_defaults import clock
from kadra_defaults.errors import field_error
from kadra_defaults.outbox import mail_event

from identity import accounts, approvals, passwords, sessions
from identity.exceptions import InvalidInput, InvalidSecondFactor, Throttled
from identity.storage.factors import FACTORS

ISSUER = "Kadra"
STEP = 30                       # seconds (RFC 6238's default; every authenticator app's)
DRIFT = 1                       # steps accepted either side of the current one
PENDING_LOGIN_TTL = 5 * 60      # seconds
ENROLMENT_TTL = timedelta(minutes=15)
RECOVERY_CODES = 10
RECOVERY_ALPHABET = "abcdefghijkmnpqrstuvwxyz23456789"   # no 0/o, 1/l: read off paper
RECOVERY_LENGTH = 10            # 10 characters of 32: 50 bits
METHODS = ["totp", "recovery_code"]
_pending_invalid = approvals.pending_invalid


def digest(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8")).hexdigest()


def normalise_recovery(code) -> str:
    return "".join(ch for ch in str(code).lower() if ch.isalnum())


def new_recovery_code() -> str:
    raw = "".join(secrets.choice(RECOVERY_ALPHABET) for _ in range(RECOVERY_LENGTH))
    return f"{raw[:5]}-{raw[5:]}"


def matching_step(secret: str, code, now: float | None = None) -> int | None:
    """The time-step whose code `code` is (the current one or one either side), or None."""
    if not isinstance(code, str):
        return None
    code = code.strip().replace(" ", "")
    if len(code) != 6 or not code.isdigit():
        return None
    totp = pyotp.TOTP(secret, interval=STEP)
    current = int((now if now is not None else time.time()) // STEP)
    found = None
    for step in range(current - DRIFT, current + DRIFT + 1):
        if hmac.compare_digest(totp.generate_otp(step), code):
            found = step
    return found


# -- status and enrolment ---------------------------------------------------------------------------

def status(deps, account_id) -> dict:
    """{totp, enabled_at, recovery_codes_left, phone, phone_enabled_at} — never the secret."""
    doc = deps.store.factors.get(account_id) or {}
    phone = {"phone": bool(doc.get("phone")),
             "phone_enabled_at": clock.aware(doc["phone_enabled_at"]).isoformat() if doc.get("phone") else None}
    if doc.get("state") != "on":
        return {"totp": False, "enabled_at": None, "recovery_codes_left": 0, **phone}
    return {"totp": True, "enabled_at": doc["enabled_at"].isoformat(),
            "recovery_codes_left": len(doc.get("recovery", [])), **phone}


def methods_of(deps, account_ids) -> dict:
    """{account_id: [methods on]} for up to 500 accounts (key look-ups): the users service's copy is filled from
    it for accounts it has heard no `second_factor_changed` of (the company policy, the users table)."""
    if not isinstance(account_ids, (list, tuple)) or len(account_ids) > 500:
        raise InvalidInput.on("account_ids", "Give a list of at most 500 account ids.",
                              "Podaj listę najwyżej 500 identyfikatorów kont.")
    wanted = [a for a in dict.fromkeys(account_ids) if isinstance(a, str)]
    found = {doc["_id"]: doc for doc in deps.store.factors.by_keys(FACTORS, wanted)}
    return {a: _methods_on(found.get(a) or {}) for a in wanted}


def _methods_on(doc: dict) -> list:
    """The second-factor methods a factors document has on: TOTP, approval on the trusted phone."""
    return [method for method, on in (("totp", doc.get("state") == "on"), ("phone", bool(doc.get("phone")))) if on]


def begin(deps, account_id) -> dict:
    """A new secret, answered this once with its otpauth URI; confirm it with a code within 15 minutes."""
    account = accounts.active(deps, account_id)
    secret = pyotp.random_base32(32)   # 160 bits, RFC 4226's recommended key length
    if not deps.store.factors.begin(account_id, secret):
        raise InvalidInput.on("totp", "Two-step login with a code is already on.",
                              "Logowanie dwuetapowe z kodem jest już włączone.")
    uri = pyotp.TOTP(secret, interval=STEP).provisioning_uri(name=account["email"], issuer_name=ISSUER)
    return {"secret": secret, "otpauth_uri": uri, "expires_in": int(ENROLMENT_TTL.total_seconds())}


def confirm(deps, account_id, code) -> dict:
    """Turn TOTP on with a current code; answers the ten recovery codes (shown once, stored hashed)."""
    account = accounts.active(deps, account_id)
    doc = deps.store.factors.get(account_id)
    if doc is None or doc.get("state") != "pending" or doc["begun_at"].replace(tzinfo=None) < \
            (clock.now() - ENROLMENT_TTL).replace(tzinfo=None):
        raise InvalidInput.on("code", "Start setting up two-step login again: no set-up is waiting.",
                              "Zacznij od nowa włączanie logowania dwuetapowego: nie czeka żadne włączanie.")
    step = matching_step(doc["secret"], code)
    if step is None or not deps.store.factors.use_step(account_id, step):
        raise InvalidInput.on("code", "The code is wrong or has expired. Enter the current code from the app.",
                              "Kod jest nieprawidłowy lub wygasł. Wpisz aktualny kod z aplikacji.")
    codes = [new_recovery_code() for _ in range(RECOVERY_CODES)]
    event = notice(account, "enabled", other_on=bool(doc.get("phone")))
    if not deps.store.factors.enable(doc, [digest(normalise_recovery(c)) for c in codes], secrets.token_hex(8),
                                     step, event):
        raise InvalidInput.on("code", "Start setting up two-step login again: no set-up is waiting.",
                              "Zacznij od nowa włączanie logowania dwuetapowego: nie czeka żadne włączanie.")
    told(deps, account_id, "enabled")
    return {"recovery_codes": codes}


def disable(deps, account_id, password, code=None, recovery_code=None, client_ip=None) -> None:
    """TOTP off: needs the password and a current code (or a recovery code)."""
    account = accounts.active(deps, account_id)
    doc = deps.store.factors.enabled(account_id)
    if doc is None:
        raise InvalidInput.on("totp", "Two-step login with a code is not on.",
                              "Logowanie dwuetapowe z kodem nie jest włączone.")
    if not code and not recovery_code:
        raise InvalidInput.on("code", "Enter the current code from the app or a recovery code.",
                              "Wpisz aktualny kod z aplikacji lub kod zapasowy.")
    if not passwords.confirm(deps, account, password, client_ip, end_streak=False):
        raise InvalidInput.on("password", "The password is wrong.", "Hasło jest nieprawidłowe.")
    if not _counted_check(deps, account, doc, code, recovery_code, client_ip):
        field = "code" if code else "recovery_code"
        raise InvalidInput.on(field, "The code is wrong, used or expired.",
                              "Kod jest nieprawidłowy, został już użyty lub wygasł.")
    deps.store.factors.disable(account_id, notice(account, "disabled", other_on=bool(doc.get("phone"))))
    told(deps, account_id, "disabled")


def password_and_factor(deps, account, totp, password, code, recovery_code, client_ip) -> None:
    """The password, and with TOTP on a current code (or recovery code), both counted; InvalidInput naming the
    field at fault."""
    if totp and not code and not recovery_code:
        raise InvalidInput.on("code", "Enter the current code from the app or a recovery code.",
                              "Wpisz aktualny kod z aplikacji lub kod zapasowy.")
    if not passwords.confirm(deps, account, password, client_ip, end_streak=not totp):
        raise InvalidInput.on("password", "The password is wrong.", "Hasło jest nieprawidłowe.")
    if totp and not _counted_check(deps, account, totp, code, recovery_code, client_ip):
        raise InvalidInput.on("code" if code else "recovery_code", "The code is wrong, used or expired.",
                              "Kod jest nieprawidłowy, został już użyty lub wygasł.")


# -- login ------------------------------------------------------------------------------------------

def login(deps, email, password, client_ip=None, user_agent=None) -> dict:
    """Tokens for a right password; for an account with a second factor on (TOTP, or the phone's approval with
    a trusted device: identity.approvals), a pending login instead."""
    account, attempt = passwords.check_login(deps, email, password, client_ip, end_streak=False)
    doc = deps.store.factors.get(account["_id"])
    totp = bool(doc and doc.get("state") == "on")
    phone = approvals.phone_ready(deps, account["_id"], doc)
    if not totp and not phone:
        deps.store.throttle.succeeded(attempt)
        return sessions.open_new(deps, account["_id"])
    deps.store.throttle.held(attempt)  # the streak goes on until the second step succeeds
    token = secrets.token_urlsafe(32)
    key = digest(token)
    answer = {"second_factor_required": True, "pending_token": token,
              "methods": (["phone"] if phone else []) + (METHODS if totp else []), "expires_in": PENDING_LOGIN_TTL}
    approval_id = None
    if phone:
        asked = approvals.ask(deps, account["_id"], key, "login", approvals.client_of(client_ip, user_agent))
        approval_id = asked.pop("approval_id")
        answer.update(asked)
    deps.store.factors.add_pending_login(key, account["_id"], clock.now() + timedelta(seconds=PENDING_LOGIN_TTL),
                                         approval_id=approval_id)
    return answer


def verify_credentials(deps, email, password, client_ip=None, codes=None) -> dict:
    """The account for a right password. With `codes` ({code} or {recovery_code}; a phone's activation, which
    answers tokens too) an account with TOTP on also needs a right code, counted like the second step."""
    if codes is None:
        return passwords.check_login(deps, email, password, client_ip)
    account, attempt = passwords.check_login(deps, email, password, client_ip, end_streak=False)
    factors = deps.store.factors.get(account["_id"])  # one read for both methods
    doc = factors if factors and factors.get("state") == "on" else None
    if doc is None:
        deps.store.throttle.succeeded(attempt)
        if approvals.phone_ready(deps, account["_id"], factors):
            # Replacing the approving phone with the password alone would step around the phone's approval.
            raise InvalidSecondFactor(
                "This account approves web logins on its trusted phone: remove that phone first on the web page "
                "“Aplikacja mobilna” (or, if it is lost, set a new password with “przypomnij hasło”, which removes "
                "it), then activate this one.",
                "To konto potwierdza logowania w aplikacji mobilnej na zaufanym telefonie: najpierw usuń ten telefon "
                "na stronie „Aplikacja mobilna” (a jeśli go zgubiono, ustaw nowe hasło opcją „przypomnij hasło”, "
                "co go usunie), potem aktywuj ten.",
                errors=[field_error("replace", "The current phone approves logins: remove it first.",
                                    "Obecny telefon potwierdza logowania: najpierw go usuń.")])
        return account
    deps.store.throttle.held(attempt)
    if not codes.get("code") and not codes.get("recovery_code"):
        raise InvalidSecondFactor("This account uses two-step login: enter the current code from the authenticator "
                                  "app (or a recovery code).",
                                  "To konto używa logowania dwuetapowego: wpisz aktualny kod z aplikacji "
                                  "uwierzytelniającej (lub kod zapasowy).")
    if not _counted_check(deps, account, doc, codes.get("code"), codes.get("recovery_code"), client_ip):
        raise InvalidSecondFactor()
    return account


def complete_login(deps, pending_token, code=None, recovery_code=None, client_ip=None, via=None) -> dict:
    """The token pair for a pending login and a right code (or recovery code); the pending login is spent.
    `via="phone"` (not `method`: the RPC client's own parameter): the web's poll of a login waiting for the phone
    (identity.approvals.poll) — {"status": "waiting", ...} until then, the token pair once after the approval."""
    if not isinstance(pending_token, str) or not 20 <= len(pending_token) <= 200:
        raise _pending_invalid()
    key = digest(pending_token)
    pending = deps.store.factors.pending_login(key)
    if via == "phone":
        waiting = approvals.poll(deps, key, pending, "login")
        if waiting is not None:
            return waiting
        account = accounts.active(deps, pending["account_id"])
        deps.store.throttle.record_success(account["email_norm"])  # the second step succeeded: the streak ends
        return sessions.open_new(deps, account["_id"])
    account = deps.store.accounts.by_id(pending["account_id"]) if pending else None
    doc = deps.store.factors.enabled(account["_id"]) if account else None
    if doc is None or (pending.get("purpose") or "login") != "login" or \
            approvals.denied(deps, pending.get("approval_id")):  # a login the phone denied is over for every method
        raise _pending_invalid()
    if not _counted_check(deps, account, doc, code, recovery_code, client_ip):
        raise InvalidSecondFactor()
    if not deps.store.factors.complete_pending_login(key):
        raise _pending_invalid()
    approvals.withdraw(deps, pending.get("approval_id"))
    return sessions.open_new(deps, account["_id"])


def _counted_check(deps, account, doc, code, recovery_code, client_ip) -> bool:
    """Check a code (or a recovery code) as a counted attempt: a number in the failure streak first;
    a wrong, replayed or spent code is a failure (lockout); a right one ends the streak."""
    attempt = deps.store.throttle.begin(account["email_norm"], client_ip)
    if not attempt.allowed:
        raise Throttled.after(attempt.wait)
    if code:
        step = matching_step(doc["secret"], code)
        ok = step is not None and step > doc.get("last_step", -1) and deps.store.factors.use_step(account["_id"], step)
    elif isinstance(recovery_code, str) and len(recovery_code) <= 64:
        hashed = digest(normalise_recovery(recovery_code))
        ok = hashed in doc.get("recovery", []) and deps.store.factors.use_recovery(doc, hashed)
    else:
        ok = False
    if not ok:
        passwords.failed_check(deps, attempt, account, client_ip)
        return False
    deps.store.throttle.succeeded(attempt)
    return True


def notice(account: dict, change: str, method: str = "totp", other_on: bool = False) -> dict:
    """The notice e-mail of a change; `other_on`: another second factor stays on (the e-mail says so)."""
    return mail_event("second_factor_changed", {**accounts.recipient(account), "method": method, "change": change,
                                                "other_on": other_on, "changed_at": clock.now().isoformat()})


def told(deps, account_id: str, change: str, method: str = "totp") -> None:
    """Kick the outbox (the notice is stored) and tell the audit log."""
    deps.outbox.kick()
    deps.events.dispatch_quietly("second_factor_changed", {"account_id": account_id, "method": method,
                                                           "change": change})
