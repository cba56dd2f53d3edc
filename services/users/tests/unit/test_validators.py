"""NIP, REGON and phone validators: pure functions and marshmallow validators, nothing faked."""

import pytest
from marshmallow import Schema, ValidationError, fields

from users.validators import (
    is_valid_nip,
    is_valid_phone,
    is_valid_regon,
    normalize_nip,
    normalize_regon,
    validate_nip,
    validate_phone,
    validate_regon,
)


def with_nip_check_digit(first_nine: str) -> str:
    """Append the NIP check digit, computed independently of the module under test."""
    total = sum(int(d) * w for d, w in zip(first_nine, [6, 5, 7, 2, 3, 4, 5, 6, 7]))
    assert total % 11 != 10, "no valid NIP starts with these nine digits"
    return first_nine + str(total % 11)


def with_regon9_check_digit(first_eight: str) -> str:
    total = sum(int(d) * w for d, w in zip(first_eight, [8, 9, 2, 3, 4, 5, 6, 7]))
    return first_eight + str(total % 11 % 10)


def with_regon14_check_digit(first_thirteen: str) -> str:
    total = sum(int(d) * w for d, w in zip(first_thirteen, [2, 4, 8, 5, 0, 9, 7, 3, 6, 1, 2, 4, 8]))
    return first_thirteen + str(total % 11 % 10)


COMPUTED_NIPS = [with_nip_check_digit(p) for p in ("123456321", "951000111", "111111111", "987654321")]


@pytest.mark.parametrize(
    "nip",
    [
        "5260250995",  # publicly known valid NIP
        "7740001454",  # publicly known valid NIP
        "1234563218",
        "123-456-32-18",
        "123-45-63-218",
        "123 456 32 18",
        " 1234563218 ",
        *COMPUTED_NIPS,
    ],
)
def test_valid_nip_is_accepted(nip):
    assert is_valid_nip(nip)
    validate_nip(nip)  # does not raise
    assert normalize_nip(nip) == "".join(c for c in nip if c.isdigit())


@pytest.mark.parametrize(
    "nip, reason_pl, reason_en",
    [
        ("1234563217", "błędna suma kontrolna", "checksum mismatch"),
        ("5260250994", "błędna suma kontrolna", "checksum mismatch"),
        ("7740001455", "błędna suma kontrolna", "checksum mismatch"),
        ("123456321", "wymagane 10 cyfr", "10 digits required"),
        ("12345632188", "wymagane 10 cyfr", "10 digits required"),
        ("", "dozwolone są tylko cyfry", "only digits"),
        ("   ", "dozwolone są tylko cyfry", "only digits"),
        ("12345632l8", "dozwolone są tylko cyfry", "only digits"),
        ("PL1234563218", "dozwolone są tylko cyfry", "only digits"),
        ("123.456.32.18", "dozwolone są tylko cyfry", "only digits"),
        ("123--4563218", "dozwolone są tylko cyfry", "only digits"),
        ("-1234563218", "dozwolone są tylko cyfry", "only digits"),
        ("1234563218-", "dozwolone są tylko cyfry", "only digits"),
        ("１２３４５６３２１８", "dozwolone są tylko cyfry", "only digits"),  # full-width digits
        ("0000000000", "same zera", "all zeros"),
    ],
)
def test_invalid_nip_is_refused_with_a_bilingual_reason(nip, reason_pl, reason_en):
    assert not is_valid_nip(nip)
    with pytest.raises(ValidationError) as caught:
        validate_nip(nip)
    message = caught.value.messages[0]
    assert message.startswith("Nieprawidłowy NIP (")
    assert " / Invalid NIP (" in message
    assert reason_pl in message and reason_en in message
    with pytest.raises(ValueError):
        normalize_nip(nip)


def test_nip_whose_remainder_is_ten_is_never_valid():
    # Find nine digits whose weighted sum leaves 10: no last digit can make them a NIP.
    first_nine = next(
        f"{n:09d}"
        for n in range(10_000)
        if sum(int(d) * w for d, w in zip(f"{n:09d}", [6, 5, 7, 2, 3, 4, 5, 6, 7])) % 11 == 10
    )
    assert not any(is_valid_nip(first_nine + str(d)) for d in range(10))


@pytest.mark.parametrize("value", [None, 1234563218, b"1234563218", ["1234563218"]])
def test_non_text_nip_is_refused(value):
    assert not is_valid_nip(value)
    with pytest.raises(ValidationError, match="Invalid NIP"):
        validate_nip(value)
    with pytest.raises(ValueError):
        normalize_nip(value)


@pytest.mark.parametrize(
    "regon",
    [
        "123456785",
        "123-456-785",
        "123 456 785",
        "12345678512347",
        with_regon9_check_digit("19283746"),
        with_regon9_check_digit("73000000"),
        with_regon14_check_digit(with_regon9_check_digit("12345678") + "1234"),
        with_regon14_check_digit(with_regon9_check_digit("55501234") + "0001"),
    ],
)
def test_valid_regon_is_accepted(regon):
    assert is_valid_regon(regon)
    validate_regon(regon)
    assert normalize_regon(regon) == "".join(c for c in regon if c.isdigit())
    assert len(normalize_regon(regon)) in (9, 14)


def test_regon9_check_digit_ten_becomes_zero():
    # Find an 8-digit prefix whose remainder is 10; its only valid check digit is 0.
    prefix = next(
        f"{n:08d}"
        for n in range(10_000)
        if sum(int(d) * w for d, w in zip(f"{n:08d}", [8, 9, 2, 3, 4, 5, 6, 7])) % 11 == 10
    )
    assert is_valid_regon(prefix + "0")
    assert not any(is_valid_regon(prefix + str(d)) for d in range(1, 10))


@pytest.mark.parametrize(
    "regon, reason_en",
    [
        ("123456784", "checksum mismatch"),
        ("12345678512346", "checksum mismatch"),
        # Valid 14-digit check digit, but the first nine digits are not a valid REGON-9.
        (with_regon14_check_digit("123456784" + "1234"), "checksum mismatch"),
        ("12345678", "9 or 14 digits required"),
        ("1234567851", "9 or 14 digits required"),
        ("1234567851234", "9 or 14 digits required"),
        ("123456785123470", "9 or 14 digits required"),
        ("12345678a", "only digits"),
        ("", "only digits"),
        ("000000000", "all zeros"),
        ("00000000000000", "all zeros"),
    ],
)
def test_invalid_regon_is_refused(regon, reason_en):
    assert not is_valid_regon(regon)
    with pytest.raises(ValidationError) as caught:
        validate_regon(regon)
    message = caught.value.messages[0]
    assert message.startswith("Nieprawidłowy REGON (")
    assert reason_en in message
    with pytest.raises(ValueError):
        normalize_regon(regon)


@pytest.mark.parametrize(
    "phone",
    [
        "323562223",
        "32 356 22 23",
        "+48 32 356 22 23",
        "+48-600-700-800",
        "600700800",
        "+441632960961",
        "004832356222312",  # 15 digits
    ],
)
def test_valid_phone_is_accepted(phone):
    assert is_valid_phone(phone)
    validate_phone(phone)


@pytest.mark.parametrize(
    "phone",
    [
        "",
        "12345678",  # 8 digits
        "1234567890123456",  # 16 digits
        "++48600700800",
        "48+600700800",
        "(22) 123 45 67",
        "600.700.800",
        "600 700 80O",
        "600  700 800",
        "tel. 600700800",
        None,
        600700800,
    ],
)
def test_invalid_phone_is_refused(phone):
    assert not is_valid_phone(phone)
    with pytest.raises(ValidationError) as caught:
        validate_phone(phone)
    message = caught.value.messages[0]
    assert message.startswith("Nieprawidłowy numer telefonu (")
    assert "/ Invalid phone number (" in message


class CompanySchema(Schema):
    nip = fields.String(validate=validate_nip)
    regon = fields.String(validate=validate_regon)
    contact_phone = fields.String(validate=validate_phone)


def test_validators_plug_into_a_marshmallow_schema():
    data = {"nip": "526-025-09-95", "regon": "123456785", "contact_phone": "+48 32 356 22 23"}
    assert CompanySchema().load(data) == data
    with pytest.raises(ValidationError) as caught:
        CompanySchema().load({"nip": "5260250994", "regon": "12345678", "contact_phone": "12"})
    assert set(caught.value.messages) == {"nip", "regon", "contact_phone"}
    assert "Invalid NIP (checksum mismatch)" in caught.value.messages["nip"][0]
