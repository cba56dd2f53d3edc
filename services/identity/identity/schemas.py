"""What identity's RPCs accept: marshmallow schemas; a bad field raises InvalidInput naming it."""
from marshmallow import EXCLUDE, Schema, ValidationError, fields, pre_load, validate

from identity.exceptions import InvalidInput

LOCALES = ("pl", "en")
MAX_EMAIL = 254

_PL = {
    "Missing data for required field.": "To pole jest wymagane.",
    "Not a valid email address.": "Nieprawidłowy adres e-mail.",
    "Not a valid string.": "Wartość musi być tekstem.",
    "Field may not be null.": "To pole nie może być puste.",
    "Must be one of: pl, en.": "Dozwolone wartości: pl, en.",
}


def _length(low, high, what_en, what_pl):
    return validate.Length(min=low, max=high, error=f"{what_en} must have {low} to {high} characters.")


class _Base(Schema):
    class Meta:
        unknown = EXCLUDE

    @pre_load
    def _strip(self, data, **kwargs):
        if isinstance(data, dict):
            data = dict(data)
            for key in ("email", "new_email", "full_name", "company_name"):
                if isinstance(data.get(key), str):
                    data[key] = data[key].strip()
        return data


def Email():  # noqa: N802 - a field factory
    return fields.Email(required=True, validate=validate.Length(max=MAX_EMAIL))


def Name(required=True):  # noqa: N802
    return fields.String(required=required, validate=_length(1, 200, "The name", "Nazwa"))


def Locale():  # noqa: N802
    return fields.String(load_default="pl", validate=validate.OneOf(LOCALES))


class SignUpSchema(_Base):
    email = Email()
    password = fields.String(required=True)
    full_name = Name()
    company_name = Name()
    locale = Locale()


class InvitedAccountSchema(_Base):
    email = Email()
    password = fields.String(required=True)
    full_name = Name()
    locale = Locale()


class ProfileSchema(_Base):
    full_name = Name(required=False)
    locale = fields.String(validate=validate.OneOf(LOCALES))


class EmailSchema(_Base):
    email = Email()


class NewEmailSchema(_Base):
    new_email = Email()


def load(schema: Schema, data: dict) -> dict:
    try:
        return schema.load(data)
    except ValidationError as exc:
        raise InvalidInput({"errors": field_errors(exc.messages)}) from None


def field_errors(messages, prefix="") -> list[dict]:
    out = []
    if isinstance(messages, dict):
        for key, value in messages.items():
            out.extend(field_errors(value, f"{prefix}.{key}" if prefix else str(key)))
    elif isinstance(messages, (list, tuple)):
        for item in messages:
            out.extend(field_errors(item, prefix) if isinstance(item, (dict, list)) else
                       [{"field": prefix or "body", "message": str(item), "message_pl": _polish(str(item))}])
    else:
        out.append({"field": prefix or "body", "message": str(messages), "message_pl": _polish(str(messages))})
    return out


def _polish(message: str) -> str:
    if message in _PL:
        return _PL[message]
    if message.startswith("The name must have"):
        return message.replace("The name must have", "Nazwa musi mieć").replace(" to ", " do ").replace(
            "characters", "znaków")
    return message
