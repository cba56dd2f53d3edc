"""The PIN: who may choose which, and its argon2id hash (computed off the event loop).

A PIN has only 10^6–10^8 values, so its hash is deliberately expensive
(RFC 9106's second recommended option: 64 MiB, t=3, p=1); a login also
needs the device key's signature, so the PIN alone is worth nothing. argon2
runs in eventlet's thread pool, one per core at a time (kadra_defaults.hashing;
argon2-cffi releases the GIL), so one PIN check never stalls the other green
threads of the service.
"""
import re

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError

from kadra_defaults.hashing import offload

PIN_PARAMETERS = {"time_cost": 3, "memory_cost": 64 * 1024, "parallelism": 1}
MIN_LENGTH = 6
MAX_LENGTH = 8

_hasher = PasswordHasher(type=Type.ID, hash_len=32, salt_len=16, **PIN_PARAMETERS)

# The most chosen PINs that the rules below don't already catch (keypad shapes, years, famous numbers).
BLOCKLIST = frozenset({
    "112233", "123321", "111222", "159753", "147258", "258369", "147852", "159357", "102030", "123654",
    "246810", "135790", "741852", "963852", "753951", "789456", "456123", "321654", "142536", "131313",
    "696969", "420420", "007007", "199019", "198019", "200020", "100100", "010203", "314159", "271828",
    "11223344", "12344321", "19841984", "20002000", "01020304", "13579246", "14725836",
})

_DIGITS = re.compile(r"[0-9]+")  # ASCII digits, matched in full ("$" would let a trailing newline through)


def pin_problem(pin) -> tuple[str, str] | None:
    """Why this PIN is refused (English, Polish), or None when it is acceptable."""
    if not isinstance(pin, str) or not _DIGITS.fullmatch(pin):
        return ("The PIN must consist of digits only.", "PIN może składać się wyłącznie z cyfr.")
    if not MIN_LENGTH <= len(pin) <= MAX_LENGTH:
        return (f"The PIN must have {MIN_LENGTH} to {MAX_LENGTH} digits.",
                f"PIN musi mieć od {MIN_LENGTH} do {MAX_LENGTH} cyfr.")
    if is_trivial(pin):
        return ("This PIN is too easy to guess (one digit repeated, a run such as 123456, a repeated group, "
                "or a very common PIN). Choose another.",
                "Ten PIN jest zbyt łatwy do odgadnięcia (jedna powtórzona cyfra, ciąg typu 123456, "
                "powtórzona grupa cyfr lub bardzo popularny PIN). Wybierz inny.")
    return None


def is_trivial(pin: str) -> bool:
    """All one digit, an ascending or descending run (wrapping 9→0), a repeated group, or blocklisted."""
    digits = [int(c) for c in pin]
    steps = {(b - a) % 10 for a, b in zip(digits, digits[1:])}
    if steps in ({0}, {1}, {9}):
        return True
    for size in range(1, len(pin) // 2 + 1):
        if len(pin) % size == 0 and pin[:size] * (len(pin) // size) == pin:
            return True
    return pin in BLOCKLIST


def hash_pin(pin: str) -> str:
    """The argon2id hash of the PIN, computed in a real thread."""
    return offload(_hasher.hash, pin)


def _verify(pin_hash: str, pin: str) -> bool:
    try:
        return _hasher.verify(pin_hash, pin)
    except (VerificationError, InvalidHashError):
        return False


def pin_matches(pin_hash: str, pin: str) -> bool:
    """True when `pin` is the PIN of `pin_hash`, checked in a real thread."""
    return offload(_verify, pin_hash, pin)
