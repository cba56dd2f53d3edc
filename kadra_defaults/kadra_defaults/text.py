"""What a person may type into a name: one rule for every human-entered text field.

Names (a person's, a company's, a device's) and address lines end up in e-mail headers,
subjects, audit entries and other people's screens. A newline there splits an e-mail header,
a NUL or a bidirectional override hides what is really written. So every such field refuses
the Unicode categories Cc (controls: newline, CR, tab, NUL), Cf (format: zero-width and
bidirectional marks), Zl and Zp (the line and paragraph separators U+2028 and U+2029),
anywhere in the text; spaces around it are trimmed; it has a maximum length.

``HumanText`` is the marshmallow field every schema uses for such fields. Its messages are
``Bilingual``: English text that carries its Polish (``.pl``), which
``kadra_defaults.errors.field_errors`` puts beside it, so a 422 names the field in both.
``JsonBoolean`` is the field for a switch a person sets (true or false, nothing that merely looks like one).
"""
from __future__ import annotations

import unicodedata

from marshmallow import ValidationError, fields

from kadra_defaults.errors import Bilingual

REFUSED_CATEGORIES = frozenset({"Cc", "Cf", "Zl", "Zp"})
DESCRIPTION = ("Text as a person types it: no line breaks, tabs or other control or format characters "
               "(Unicode Cc, Cf, Zl, Zp); spaces around it are trimmed.")


def refused_character(value: str) -> str | None:
    """The first character of `value` no name may hold (as ``U+000A``), or None."""
    for char in value:
        if unicodedata.category(char) in REFUSED_CATEGORIES:
            return f"U+{ord(char):04X}"
    return None


def check(value: str, *, max_length: int, min_length: int = 1) -> str:
    """`value` trimmed, or ValidationError (Bilingual) saying what is wrong with it."""
    if not isinstance(value, str):
        raise ValidationError(Bilingual("Not a valid string.", "Wartość musi być tekstem."))
    found = refused_character(value)
    if found is not None:
        raise ValidationError(Bilingual(
            f"Line breaks, tabs and other control or invisible characters are not allowed (found {found}).",
            f"Znaki końca wiersza, tabulatory ani inne znaki sterujące lub niewidoczne nie są dozwolone "
            f"(znaleziono {found})."))
    text = value.strip()
    if len(text) < min_length:
        raise ValidationError(Bilingual("This field may not be blank.", "To pole nie może być puste."))
    if len(text) > max_length:
        raise ValidationError(Bilingual(f"At most {max_length} characters.", f"Najwyżej {max_length} znaków."))
    return text


class HumanText(fields.String):
    """A string a person typed: no control or format characters, trimmed, bounded in length."""

    def __init__(self, *, max_length: int, min_length: int = 1, **kwargs):
        super().__init__(**kwargs)
        self.max_length = max_length
        self.min_length = min_length
        # The OpenAPI document shows the limits (apispec reads these from the metadata).
        self.metadata = {"minLength": min_length, "maxLength": max_length, "description": DESCRIPTION,
                         **self.metadata}

    def _deserialize(self, value, attr, data, **kwargs):
        text = super()._deserialize(value, attr, data, **kwargs)
        return check(text, max_length=self.max_length, min_length=self.min_length)


EMAIL_MAX = 254


class EmailAddress(fields.Email):
    """An e-mail address a person typed: trimmed, no control characters, at most 254 characters."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.metadata = {"maxLength": EMAIL_MAX, **self.metadata}

    def _deserialize(self, value, attr, data, **kwargs):
        text = super()._deserialize(value, attr, data, **kwargs)
        # marshmallow's check accepts a quoted local part with controls ("a\x01b"@x.pl): refuse them first.
        return check(text, max_length=EMAIL_MAX)


class JsonBoolean(fields.Boolean):
    """A switch a person sets: JSON true or false only. marshmallow's Boolean also takes "true", "yes" and 1 (and
    1 == True in its sets), which would let a typo through as a decision."""

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, bool):
            raise self.make_error("invalid", input=value)
        return value
