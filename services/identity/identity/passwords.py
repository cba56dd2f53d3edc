"""Passwords: argon2id hashing (OWASP parameters) off the event loop, and the password policy.

Hashing and verifying run in eventlet's OS-thread pool, one per core at a time
(`kadra_defaults.hashing`): argon2-cffi releases the GIL, so one identity process
uses every core and its other green threads (RPCs that need no hash) keep
answering meanwhile.

Policy (OWASP ASVS 2.1): at least 12 and at most 1024 characters (counted
after Unicode NFKC normalisation, which is also what is hashed, so the same
password typed on another keyboard matches), any Unicode, never truncated;
not one of the most common passwords (data/common-passwords.txt, generated
by scripts/make_common_passwords.py from zxcvbn's list); not the e-mail address.
"""
import functools
import os
import unicodedata

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from kadra_defaults.hashing import offload

# OWASP Password Storage Cheat Sheet: argon2id, m=19 MiB, t=2, p=1 (the minimum).
ARGON2_PARAMETERS = {"time_cost": 2, "memory_cost": 19 * 1024, "parallelism": 1}
MIN_LENGTH = 12
MAX_LENGTH = 1024
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


def policy_errors(password, field: str = "password", email: str | None = None) -> list[dict]:
    """Field errors (English and Polish) for a password that breaks the policy; [] when it is fine."""
    if not isinstance(password, str):
        return [_error(field, "Not a valid string.", "Wartość musi być tekstem.")]
    value = normalise(password)
    if len(value) < MIN_LENGTH:
        return [_error(field, f"The password needs at least {MIN_LENGTH} characters.",
                       f"Hasło musi mieć co najmniej {MIN_LENGTH} znaków.")]
    if len(value) > MAX_LENGTH:
        return [_error(field, f"The password may have at most {MAX_LENGTH} characters.",
                       f"Hasło może mieć najwyżej {MAX_LENGTH} znaków.")]
    if value.lower() in common_passwords():
        return [_error(field, "This password is one of the most common ones and easy to guess. Choose another.",
                       "To hasło jest jednym z najpopularniejszych i łatwo je odgadnąć. Wybierz inne.")]
    if email and value.strip().lower() == email.strip().lower():
        return [_error(field, "The password must not be your e-mail address.",
                       "Hasło nie może być Twoim adresem e-mail.")]
    return []


def _error(field: str, message: str, message_pl: str) -> dict:
    return {"field": field, "message": message, "message_pl": message_pl}
