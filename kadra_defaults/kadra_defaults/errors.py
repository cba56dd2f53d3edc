"""One way for every service to say what went wrong, in English and Polish, naming the field.

A service raises a ``DomainError`` subclass from its ``exceptions.py``. The class says *what*
happened with a ``code`` in the product's words (``invalid_input``, ``device_blocked``); it never
says an HTTP status: the gateway keeps the one table from code to status (gateway/errors.py).
On the wire (nameko serialises ``exc.args``) the error is one dict::

    {"code": "invalid_input", "detail": "...", "detail_pl": "...",
     "errors": [{"field": "full_name", "message": "...", "message_pl": "..."}],   # optional
     "headers": {"Retry-After": "30"}, "extra": {"retry_after": 30}}              # optional

``load(schema, data)`` validates with marshmallow and raises ``InvalidInput`` naming every wrong
field; ``field_errors`` turns marshmallow's nested messages into that list (the gateway uses it
for its own request schemas too). Polish comes from ``Bilingual`` messages (our validators) or
from ``MARSHMALLOW_PL`` (marshmallow's own messages).
"""
from __future__ import annotations

import re

from marshmallow import Schema, ValidationError


class Bilingual(str):
    """An English message that carries its Polish translation as ``.pl``."""

    pl: str

    def __new__(cls, en: str, pl: str) -> "Bilingual":
        message = super().__new__(cls, en)
        message.pl = pl
        return message

    def __reduce__(self):  # keeps the Polish through copy and pickle
        return (Bilingual, (str(self), self.pl))


# Polish for marshmallow's (and webargs') own messages.
MARSHMALLOW_PL = {
    "Missing data for required field.": "To pole jest wymagane.",
    "Not a valid email address.": "Nieprawidłowy adres e-mail.",
    "Not a valid string.": "Wartość musi być tekstem.",
    "Not a valid integer.": "Wartość musi być liczbą całkowitą.",
    "Not a valid boolean.": "Wartość musi być logiczna (true/false).",
    "Not a valid mapping type.": "Wartość musi być obiektem.",
    "Not a valid UUID.": "Nieprawidłowy identyfikator.",
    "Not a valid list.": "Wartość musi być listą.",
    "Field may not be null.": "To pole nie może być puste.",
    "Unknown field.": "Nieznane pole.",
    "Invalid input type.": "Nieprawidłowy typ danych.",
    "Invalid JSON body.": "Treść żądania nie jest poprawnym JSON-em.",
    "Shorter than minimum length 1.": "To pole nie może być puste.",
}


def polish(message: str) -> str:
    """The Polish of one field message (the English itself when we have none)."""
    pl = getattr(message, "pl", None)
    if pl:
        return pl
    text = str(message)
    if text in MARSHMALLOW_PL:
        return MARSHMALLOW_PL[text]
    if text.startswith("Must be one of: "):
        return "Dozwolone wartości: " + text[len("Must be one of: "):]
    if text.startswith(("Length must be between", "Shorter than", "Longer than")):
        return "Nieprawidłowa długość: " + text
    if text.startswith(("Must be greater", "Must be less")):
        return "Wartość poza zakresem: " + text
    return text


def field_error(field: str, message: str, message_pl: str | None = None) -> dict:
    """One entry of an error's `errors` list."""
    return {"field": field, "message": str(message), "message_pl": message_pl or polish(message)}


def field_errors(messages, prefix: str = "") -> list[dict]:
    """marshmallow's nested ``{field: [messages]}`` as ``[{field, message, message_pl}]``.

    Nested names are joined by dots (``address.city``); marshmallow's ``_schema`` (the object
    itself) is named by its parent, or ``body`` at the top.
    """
    out: list[dict] = []
    if isinstance(messages, dict):
        for key, value in messages.items():
            if key == "_schema":
                name = prefix or "body"
            else:
                name = f"{prefix}.{key}" if prefix else str(key)
            out.extend(field_errors(value, name))
    elif isinstance(messages, (list, tuple)):
        for item in messages:
            out.extend(field_errors(item, prefix))
    else:
        out.append(field_error(prefix or "body", messages))
    return out


def snake_case(name: str) -> str:
    """``DeviceNotFound`` -> ``device_not_found``."""
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


class DomainError(Exception):
    """Base of every service's named errors: a code, a message in English and Polish, the fields.

    A subclass's ``code`` is its name in snake case (``DeviceBlocked`` -> ``device_blocked``) unless
    it sets one; ``message = (english, polish)`` is its default message.
    """

    code = "error"
    message = ("Something went wrong.", "Coś poszło nie tak.")
    field: str | None = None        # the field a subclass's errors name when the caller names none
    field_message: tuple[str, str] | None = None  # that field error's words (default: `message`)
    headers: dict | None = None     # headers a subclass's errors carry by default (e.g. Retry-After)

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if "code" not in cls.__dict__:
            cls.code = snake_case(cls.__name__)

    def __init__(self, message: str | None = None, message_pl: str | None = None, *, field: str | None = None,
                 errors: list[dict] | None = None, headers: dict | None = None, extra: dict | None = None):
        en = message or self.message[0]
        pl = message_pl or getattr(message, "pl", None) or (self.message[1] if message is None else en)
        headers = headers if headers is not None else type(self).headers
        details: dict = {"code": self.code, "detail": str(en), "detail_pl": pl}
        if field:
            listed = [field_error(field, en, pl)] + list(errors or [])
        elif errors is None and type(self).field:
            listed = [field_error(type(self).field, *(type(self).field_message or (en, pl)))]
        else:
            listed = list(errors or [])
        if listed:
            details["errors"] = listed
        if headers:
            details["headers"] = {key: str(value) for key, value in headers.items()}
        if extra:
            details["extra"] = extra
        super().__init__(details)

    @property
    def details(self) -> dict:
        return self.args[0]

    def __reduce__(self):  # rebuilt from its details, not by calling __init__ with them
        return (_restore, (type(self), self.details))

    @property
    def errors(self) -> list[dict]:
        return self.details.get("errors", [])


def _restore(cls: type, details: dict) -> DomainError:
    error = cls.__new__(cls)
    Exception.__init__(error, details)
    return error


class InvalidInput(DomainError):
    """Some fields are missing or wrong; ``errors`` names each of them."""

    code = "invalid_input"
    message = ("Some fields are invalid.", "Niektóre pola są niepoprawne.")

    @classmethod
    def from_messages(cls, messages) -> "InvalidInput":
        """From marshmallow's messages: one field's own words, or the general ones for several."""
        errors = field_errors(messages)
        if len(errors) == 1:
            return cls(errors[0]["message"], errors[0]["message_pl"], errors=errors)
        return cls(errors=errors)


def load(schema: Schema | type[Schema], data, error: type[InvalidInput] = InvalidInput) -> dict:
    """`data` validated by `schema`, or `error` (a service's own InvalidInput) naming every wrong field."""
    if isinstance(schema, type):
        schema = schema()
    if not isinstance(data, dict):
        raise error("A JSON object is required.", "Wymagany jest obiekt JSON.", field="body")
    try:
        return schema.load(data)
    except ValidationError as exc:
        raise error.from_messages(exc.messages) from None
