"""Validators for Polish company identifiers (NIP, REGON) and phone numbers.

Pure functions plus marshmallow validators whose messages are given in Polish
and English ("Nieprawidłowy NIP (...) / Invalid NIP (...)"), the way the
product answers people in both languages. The check digits are python-stdnum's
(stdnum.pl.nip, stdnum.pl.regon); what we add is a stricter form (ASCII digits
with single spaces or dashes, no "PL" prefix), the all-zeros refusal and the
messages that say which of these is wrong.
"""

from __future__ import annotations

import re

from marshmallow import ValidationError
from stdnum.exceptions import InvalidLength
from stdnum.exceptions import ValidationError as NumberInvalid
from stdnum.pl import nip, regon

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


def _checked(value: object, number, length_problem: str) -> tuple[str | None, str | None]:
    """(digits, None) when stdnum's `number` module accepts value's digits, else (None, problem)."""
    digits, problem = _digits(value)
    if problem:
        return None, problem
    try:
        number.validate(digits)
    except InvalidLength:
        return None, length_problem
    except NumberInvalid:
        return None, "checksum"
    if set(digits) == {"0"}:  # its check digits add up, but no such number is issued
        return None, "zeros"
    return digits, None


def _nip_problem(value: object) -> tuple[str | None, str | None]:
    return _checked(value, nip, "nip_length")


def _regon_problem(value: object) -> tuple[str | None, str | None]:
    return _checked(value, regon, "regon_length")


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
