"""Passwords: argon2id hashing (OWASP parameters) off the event loop, and the password policy.

Hashing and verifying run in eventlet's OS-thread pool, one per core at a time
(`kadra_defaults.hashing`): argon2-cffi releases the GIL, so one identity process
uses every core and its other green threads (RPCs that need no hash) keep
answering meanwhile.

Policy (NIST SP 800-63B-4 §3.1.1.2, OWASP ASVS 5 §6.2): at least 12 and at most 1024 characters (counted
after Unicode NFKC normalisation, which is also what is hashed, so the same password typed on another
keyboard matches), any Unicode, never truncated, no composition rules; and not guessable:
- not one of the common passwords (data/common-passwords.txt: zxcvbn's list and Polish ones, made by
  services/identity/scripts/make_common_passwords.py), compared lower-cased with Polish letters folded;
- not the e-mail address;
- at least MIN_GUESSES guesses by the estimator (identity.strength: zxcvbn with a Polish dictionary, the
  person's e-mail address, name and company name and the product's name as words, keyboard walks,
  repeats, sequences, years, look-alike characters). A refusal says what made it guessable, in Polish
  and English.

Every check of a password is counted before it is made (storage.throttle): per address, at most 5 checks
before a wait that doubles up to 15 minutes (one notice e-mail per lockout), whatever runs in parallel; per
client address, 100 failures in 15 minutes. A change ends the person's other sessions.
"""
import functools
import os
import unicodedata

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from kadra_defaults import clock
from kadra_defaults.errors import field_error
from kadra_defaults.hashing import offload
from kadra_defaults.outbox import mail_event
from kadra_defaults.storage import in_parallel

from identity import accounts, sessions, strength
from identity.exceptions import InvalidCredentials, InvalidInput, Throttled
from identity.storage.accounts import normalise_email

# OWASP Password Storage Cheat Sheet: argon2id, m=19 MiB, t=2, p=1 (the minimum).
ARGON2_PARAMETERS = {"time_cost": 2, "memory_cost": 19 * 1024, "parallelism": 1}
MIN_LENGTH = 12
MAX_LENGTH = 1024
# 10^10 guesses: what zxcvbn calls "very unguessable" (its score 4), counted without its bonus for the number
# of pieces (identity.strength). A random 12-character password has 10^12; a word, a year and a "!" 10^5.
MIN_GUESSES = 10 ** 10
COMMON_FILE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data", "common-passwords.txt")

hasher = PasswordHasher(hash_len=32, salt_len=16, type=Type.ID, **ARGON2_PARAMETERS)


def normalise(password: str) -> str:
    return unicodedata.normalize("NFKC", password)


def hash_password(password: str) -> str:
    return offload(hasher.hash, normalise(password))


def _verify(stored: str, password: str) -> bool:
    try:
        return hasher.verify(stored, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def verify_password(stored: str | None, password: str) -> bool:
    """True when `password` matches `stored`; with no stored hash, spends the same time and says False."""
    if not stored:
        offload(_verify, dummy_hash(), normalise(password))
        return False
    return offload(_verify, stored, normalise(password))


def needs_rehash(stored: str) -> bool:
    try:
        return hasher.check_needs_rehash(stored)
    except InvalidHashError:
        return True


@functools.lru_cache(maxsize=1)
def dummy_hash() -> str:
    """A hash of a random secret with today's parameters: what unknown accounts are checked against."""
    return hasher.hash(os.urandom(16).hex())


@functools.lru_cache(maxsize=1)
def common_passwords() -> frozenset:
    with open(COMMON_FILE, encoding="utf-8") as f:
        return frozenset(line.strip() for line in f if line.strip() and not line.startswith("#"))


# Why the estimator found a password guessable: the kind of its pieces -> (English, Polish), each completing
# "it contains …" / "zawiera …".
REASONS = {
    "own": ("your own details (e-mail address, name or company name)",
            "Twoje dane (adres e-mail, imię i nazwisko lub nazwę firmy)"),
    "product": ("the product's name", "nazwę produktu"),
    "common": ("a common password or word", "popularne hasło lub słowo"),
    "l33t": ("a common word with look-alike characters (like h@sl0)", "popularne słowo z podobnymi znakami (np. h@sl0)"),
    "keyboard": ("a keyboard pattern (like qwerty or zaq12wsx)", "układ klawiszy (np. qwerty lub zaq12wsx)"),
    "repeat": ("repeated characters (like aaaa or abcabc)", "powtórzenia (np. aaaa lub abcabc)"),
    "sequence": ("a sequence (like abcd or 1234)", "ciąg kolejnych znaków (np. abcd lub 1234)"),
    "date": ("a date or a year", "datę lub rok"),
}


def _reason(piece: dict, own: dict) -> str | None:
    pattern = piece["pattern"]
    if pattern == "dictionary":
        if piece.get("dictionary_name") == "user_inputs":
            return "product" if own.get(piece["matched_word"]) == "product" else "own"
        if piece.get("l33t"):
            return "l33t"
        return strength.shape(piece["token"]) or "common"  # a listed "zaq12wsx" is still a keyboard walk
    return {"spatial": "keyboard", "repeat": "repeat", "sequence": "sequence", "regex": "date",
            "date": "date"}.get(pattern)


def guessable_because(password: str, email: str | None = None, inputs=()) -> list[str] | None:
    """None when the estimator finds `password` hard enough to guess; else what made it guessable (REASONS'
    keys, the most characters first)."""
    own = strength.own_words(email, inputs)
    guesses, pieces = strength.estimate(password, own)
    if guesses >= MIN_GUESSES:
        return None
    covered: dict[str, int] = {}
    for piece in pieces:
        reason = _reason(piece, own)
        if reason:
            covered[reason] = covered.get(reason, 0) + len(piece["token"])
    return sorted(covered, key=lambda r: -covered[r]) or ["common"]


def _and(parts: list[str], word: str) -> str:
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + f" {word} " + parts[-1]


def policy_errors(password, field: str = "password", email: str | None = None, inputs=()) -> list[dict]:
    """Field errors (English and Polish) for a password that breaks the policy; [] when it is fine.

    `inputs`: the person's own words besides the e-mail address (full name, company name)."""
    if not isinstance(password, str):
        return [field_error(field, "Not a valid string.", "Wartość musi być tekstem.")]
    value = normalise(password)
    if len(value) < MIN_LENGTH:
        return [field_error(field, f"The password needs at least {MIN_LENGTH} characters.",
                            f"Hasło musi mieć co najmniej {MIN_LENGTH} znaków.")]
    if len(value) > MAX_LENGTH:
        return [field_error(field, f"The password may have at most {MAX_LENGTH} characters.",
                            f"Hasło może mieć najwyżej {MAX_LENGTH} znaków.")]
    if strength.fold(value).lower() in common_passwords():
        return [field_error(field, "This password is one of the most common ones and easy to guess. Choose another.",
                            "To hasło jest jednym z najpopularniejszych i łatwo je odgadnąć. Wybierz inne.")]
    if email and value.strip().lower() == email.strip().lower():
        return [field_error(field, "The password must not be your e-mail address.",
                            "Hasło nie może być Twoim adresem e-mail.")]
    reasons = guessable_because(value, email, inputs)
    if reasons:
        reasons = reasons[:3]
        en = _and([REASONS[r][0] for r in reasons], "and")
        pl = _and([REASONS[r][1] for r in reasons], "i")
        return [field_error(field, f"This password is too easy to guess: it contains {en}. Choose a longer one, "
                                   f"for example a few unrelated words.",
                            f"To hasło łatwo odgadnąć: zawiera {pl}. Wybierz dłuższe, na przykład kilka "
                            f"niezwiązanych ze sobą słów.")]
    return []


def own_inputs(account: dict | None) -> tuple:
    """The words of an account the policy refuses besides its address (its full name)."""
    return (account.get("full_name"),) if account and account.get("full_name") else ()


def require_policy(password, field: str, email: str | None, inputs=()) -> None:
    """InvalidInput naming `field` when the password breaks the policy."""
    errors = policy_errors(password, field, email, inputs)
    if errors:
        raise InvalidInput(errors=errors)


# -- counted checks ---------------------------------------------------------------------------------

def check_login(deps, email, password, client_ip=None, end_streak: bool = True):
    """The account for this pair, or InvalidCredentials; throttled per address and per client.

    `end_streak=False` (a login that may need a second step): answers (account, attempt) and leaves ending
    the failure streak to the caller (second_factor.login)."""
    if not isinstance(email, str) or not isinstance(password, str) or len(email) > 320:
        raise InvalidCredentials()
    norm = normalise_email(email)
    account, attempt = in_parallel(lambda: deps.store.accounts.by_email(norm),
                                   lambda: deps.store.throttle.begin(norm, client_ip))
    if not attempt.allowed:
        raise Throttled.after(attempt.wait)
    if not verify_password(account["password_hash"] if account else None, password):
        _failed(deps, attempt, account, client_ip)
        raise InvalidCredentials()
    _rehash_if_old(deps, account, password)
    if not end_streak:
        return account, attempt
    deps.store.throttle.succeeded(attempt)
    return account


def confirm(deps, account: dict, password, client_ip=None, end_streak: bool = True) -> bool:
    """Re-confirmation of a known account's password (before a change), counted like a login.

    `end_streak=False`: a right password leaves the failure streak going (a second factor is checked next and
    ends it when right), so a known password never resets the count of wrong codes."""
    attempt = deps.store.throttle.begin(account["email_norm"], client_ip)
    if not attempt.allowed:
        raise Throttled.after(attempt.wait)
    if not isinstance(password, str) or not verify_password(account["password_hash"], password):
        _failed(deps, attempt, account, client_ip)
        return False
    if end_streak:
        deps.store.throttle.succeeded(attempt)
    else:
        deps.store.throttle.held(attempt)
    _rehash_if_old(deps, account, password)
    return True


def failed_check(deps, attempt, account: dict | None, client_ip) -> None:
    """A counted check of another secret (a second-factor code) failed: counted like a wrong password."""
    _failed(deps, attempt, account, client_ip)


def _failed(deps, attempt, account: dict | None, client_ip) -> None:
    """Count the failure; the one that starts a lockout also mails the person and tells the audit log."""
    def lockout_event(locked_until):
        if account is None or locked_until is None:
            return None
        return mail_event("login_locked_out", {**accounts.recipient(account), "locked_until": locked_until.isoformat()})

    result = deps.store.throttle.failed(attempt, client_ip, lockout_event)
    if result["notified"]:
        deps.outbox.kick()
        deps.events.dispatch_quietly("login_locked_out", {"account_id": account["_id"],
                                                          "locked_until": result["locked_until"].isoformat()})


def _rehash_if_old(deps, account: dict, password: str) -> None:
    if needs_rehash(account["password_hash"]):
        deps.store.accounts.upgrade_hash(account["_id"], account["password_hash"], hash_password(password))


# -- changes ----------------------------------------------------------------------------------------

def change(deps, account_id, session_id, current_password, new_password, client_ip=None) -> None:
    """A new password for a logged-in person who knows the current one; their other sessions end."""
    account = accounts.active(deps, account_id)
    require_policy(new_password, "new_password", account["email"], own_inputs(account))
    if not confirm(deps, account, current_password, client_ip):
        raise InvalidInput.on("current_password", "The current password is wrong.",
                              "Obecne hasło jest nieprawidłowe.")
    set_new(deps, account, new_password, via="change")
    sessions.end(deps, account_id=account_id, except_session=session_id, reason="password_change")


def set_new(deps, account: dict, new_password: str, via: str) -> None:
    """Store the new hash and, in the same write, the "your password changed" e-mail; tell the audit log."""
    event = mail_event("password_changed", {**accounts.recipient(account), "changed_at": clock.now().isoformat(),
                                            "via": via})
    deps.store.accounts.set_password(account["_id"], hash_password(new_password), event)
    deps.outbox.kick()
    deps.events.dispatch_quietly("password_changed", {"account_id": account["_id"], "via": via})
