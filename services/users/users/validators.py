"""Validators for Polish company identifiers (NIP, REGON) and phone numbers.

Pure functions plus marshmallow validators whose messages are given in Polish
and English ("Nieprawidłowy NIP (...) / Invalid NIP (...)"), the way the
product answers people in both languages.
"""

from __future__ import annotations

import re

from marshmallow import ValidationError

__all__ = [
    "is_valid_nip",
    "is_valid_phone",
    "is_valid_regon",
    "normalize_nip",
    "normalize_regon",
    "validate_nip",
    "validate_phone",
    "validate_regon",
]

_NIP_WEIGHTS = (6, 5, 7, 2, 3, 4, 5, 6, 7)
_REGON9_WEIGHTS = (8, 9, 2, 3, 4, 5, 6, 7)
_REGON14_WEIGHTS = (2, 4, 8, 5, 0, 9, 7, 3, 6, 1, 2, 4, 8)

# ASCII digits only (str.isdigit would accept "²" or Arabic-Indic digits), with
# single spaces or dashes between them: "123-456-32-18", "123 456 32 18".
_DIGITS_WITH_SEPARATORS = re.compile(r"[0-9](?:[ -]?[0-9])*")
_PHONE = re.compile(r"\+?[0-9](?:[ -]?[0-9])*")

_PROBLEMS = {
    "type": ("wymagany tekst", "text required"),
    "characters": ("dozwolone są tylko cyfry, spacje i myślniki", "only digits, spaces and dashes are allowed"),
    "nip_length": ("wymagane 10 cyfr", "10 digits required"),
    "regon_length": ("wymagane 9 lub 14 cyfr", "9 or 14 digits required"),
    "zeros": ("same zera", "all zeros"),
    "checksum": ("błędna suma kontrolna", "checksum mismatch"),
    "phone": (
        "opcjonalny +, potem 9–15 cyfr, dozwolone spacje i myślniki",
        "an optional +, then 9–15 digits; spaces and dashes allowed",
    ),
}


def _message(what_pl: str, what_en: str, problem: str) -> str:
    pl, en = _PROBLEMS[problem]
    return f"Nieprawidłowy {what_pl} ({pl}) / Invalid {what_en} ({en})"


def _digits(value: object) -> tuple[str | None, str | None]:
    """Return (digits, None) for well-formed input, else (None, problem)."""
    if not isinstance(value, str):
        return None, "type"
    text = value.strip()
    if not _DIGITS_WITH_SEPARATORS.fullmatch(text):
        return None, "characters"
    return re.sub(r"[ -]", "", text), None


def _checksum(digits: str, weights: tuple[int, ...]) -> int:
    return sum(int(d) * w for d, w in zip(digits, weights)) % 11


def _nip_problem(value: object) -> tuple[str | None, str | None]:
    digits, problem = _digits(value)
    if problem:
        return None, problem
    if len(digits) != 10:
        return None, "nip_length"
    if set(digits) == {"0"}:
        return None, "zeros"
    # A remainder of 10 cannot be a check digit: such a number is never issued.
    if _checksum(digits, _NIP_WEIGHTS) != int(digits[9]):
        return None, "checksum"
    return digits, None


def _regon9_ok(digits: str) -> bool:
    return _checksum(digits, _REGON9_WEIGHTS) % 10 == int(digits[8])


def _regon_problem(value: object) -> tuple[str | None, str | None]:
    digits, problem = _digits(value)
    if problem:
        return None, problem
    if len(digits) not in (9, 14):
        return None, "regon_length"
    if set(digits) == {"0"}:
        return None, "zeros"
    if not _regon9_ok(digits[:9]):
        return None, "checksum"
    if len(digits) == 14 and _checksum(digits, _REGON14_WEIGHTS) % 10 != int(digits[13]):
        return None, "checksum"
    return digits, None


def is_valid_nip(value: str) -> bool:
    """Whether value is a Polish NIP: 10 digits (spaces or dashes allowed) with a valid check digit."""
    return _nip_problem(value)[1] is None


def normalize_nip(value: str) -> str:
    """The NIP as 10 digits; ValueError when it is not a valid NIP."""
    digits, problem = _nip_problem(value)
    if problem:
        raise ValueError(_message("NIP", "NIP", problem))
    return digits


def is_valid_regon(value: str) -> bool:
    """Whether value is a REGON of 9 or 14 digits with valid check digits."""
    return _regon_problem(value)[1] is None


def normalize_regon(value: str) -> str:
    """The REGON as 9 or 14 digits; ValueError when it is not a valid REGON."""
    digits, problem = _regon_problem(value)
    if problem:
        raise ValueError(_message("REGON", "REGON", problem))
    return digits


def is_valid_phone(value: str) -> bool:
    """Whether value looks like a phone number: optional +, 9–15 digits, spaces or dashes between."""
    if not isinstance(value, str):
        return False
    text = value.strip()
    return bool(_PHONE.fullmatch(text)) and 9 <= sum(c.isdigit() for c in text) <= 15


def validate_nip(value: str) -> None:
    """marshmallow validator: raise ValidationError unless value is a valid NIP."""
    problem = _nip_problem(value)[1]
    if problem:
        raise ValidationError(_message("NIP", "NIP", problem))


def validate_regon(value: str) -> None:
    """marshmallow validator: raise ValidationError unless value is a valid REGON."""
    problem = _regon_problem(value)[1]
    if problem:
        raise ValidationError(_message("REGON", "REGON", problem))


def validate_phone(value: str) -> None:
    """marshmallow validator: raise ValidationError unless value is a plausible phone number."""
    if not is_valid_phone(value):
        problem = "type" if not isinstance(value, str) else "phone"
        raise ValidationError(_message("numer telefonu", "phone number", problem))
