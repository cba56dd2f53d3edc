"""Human-entered text: control and format characters refused anywhere, spaces trimmed, lengths bounded."""
import pytest
from marshmallow import Schema

from kadra_defaults.errors import InvalidInput, field_errors, load
from kadra_defaults.text import EmailAddress, HumanText, refused_character


class Person(Schema):
    full_name = HumanText(required=True, max_length=20)
    email = EmailAddress(required=True)


GOOD_EMAIL = "ala@example.pl"


@pytest.mark.parametrize("name", [
    "Eve\nX-A: 1", "Eve\r\nBcc: x@y.pl", "tab\there", "nul\x00byte", "bell\x07", "del\x7f",
    "line\u2028sep", "para\u2029sep", "zero\u200bwidth", "rtl\u202eoverride", "bom\ufeff", "soft\u00adhyphen",
    "trailing newline\n",
])
def test_a_name_with_a_control_or_format_character_is_refused_naming_the_field(name):
    with pytest.raises(InvalidInput) as raised:
        load(Person, {"full_name": name, "email": GOOD_EMAIL})
    [error] = raised.value.errors
    assert error["field"] == "full_name"
    assert "control" in error["message"] and "sterujące" in error["message_pl"]
    assert refused_character(name) in error["message"]


def test_spaces_are_trimmed_and_polish_letters_and_inner_spaces_kept():
    data = load(Person, {"full_name": "  Zażółć Gęślą\u00a0Jaźń ", "email": " Ala@Example.pl "})
    assert data == {"full_name": "Zażółć Gęślą\u00a0Jaźń", "email": "Ala@Example.pl"}


def test_blank_and_too_long_names_are_refused_in_both_languages():
    errors = field_errors(_messages({"full_name": "   ", "email": GOOD_EMAIL}))
    assert errors == [{"field": "full_name", "message": "This field may not be blank.",
                       "message_pl": "To pole nie może być puste."}]
    errors = field_errors(_messages({"full_name": "x" * 21, "email": GOOD_EMAIL}))
    assert errors[0]["message"] == "At most 20 characters." and errors[0]["message_pl"] == "Najwyżej 20 znaków."
    assert load(Person, {"full_name": "x" * 20, "email": GOOD_EMAIL})["full_name"] == "x" * 20


@pytest.mark.parametrize("email", ['"a\x01b"@example.pl', "ala@example.pl\n", "a" * 250 + "@x.pl"])
def test_an_email_with_controls_or_over_254_characters_is_refused(email):
    errors = field_errors(_messages({"full_name": "Ala", "email": email}))
    assert [e["field"] for e in errors] == ["email"]


def test_a_megabyte_name_is_refused_without_echoing_it():
    errors = field_errors(_messages({"full_name": "x" * 1_000_000, "email": GOOD_EMAIL}))
    assert len(errors[0]["message"]) < 100


def test_a_non_string_is_refused_as_text():
    errors = field_errors(_messages({"full_name": ["a"], "email": GOOD_EMAIL}))
    assert errors == [{"field": "full_name", "message": "Not a valid string.", "message_pl": "Wartość musi być tekstem."}]


def _messages(data):
    from marshmallow import ValidationError

    with pytest.raises(ValidationError) as raised:
        Person().load(data)
    return raised.value.messages
