"""marshmallow schemas at the RPC edge: every input is checked here before it reaches storage."""
from __future__ import annotations

import re

from marshmallow import RAISE, Schema, ValidationError, fields, pre_load, validate

from kadra_defaults.errors import field_errors as kit_field_errors
from kadra_defaults.text import EmailAddress, HumanText

from users.exceptions import InvalidInput
from users.roles import ASSIGNABLE_ROLES, PERMISSIONS
from users.validators import normalize_nip, normalize_regon, validate_nip, validate_phone, validate_regon

NAME_MAX = 200
EMAIL_MAX = 254
_POSTAL_CODE = re.compile(r"^[0-9]{2}-[0-9]{3}$")

_PL = {
    "Missing data for required field.": "To pole jest wymagane.",
    "Not a valid email address.": "Nieprawidłowy adres e-mail.",
    "Not a valid string.": "Wartość musi być tekstem.",
    "Not a valid integer.": "Wartość musi być liczbą całkowitą.",
    "Field may not be null.": "To pole nie może być puste.",
    "Unknown field.": "Nieznane pole.",
    "Invalid input type.": "Nieprawidłowy typ danych.",
    "Must not be blank.": "Pole nie może być puste.",
}
_ROLE_MESSAGE = ("Unknown role; choose one of: " + ", ".join(ASSIGNABLE_ROLES) + ".",
                 "Nieznana rola; wybierz jedną z: " + ", ".join(ASSIGNABLE_ROLES) + ".")


def _polish(message: str) -> str:
    if message in _PL:
        return _PL[message]
    if " / Invalid " in message:  # the validators' "PL / EN" messages
        return message.split(" / ")[0]
    if message.startswith("Length must be between") or message.startswith("Shorter than") or message.startswith(
            "Longer than"):
        return "Nieprawidłowa długość: " + message
    if message.startswith("Must be greater") or message.startswith("Must be less"):
        return "Wartość poza zakresem: " + message
    return message


def _english(message: str) -> str:
    return message.split(" / ", 1)[1] if " / Invalid " in message else message


def field_errors(messages, prefix: str = "") -> list[dict]:
    """marshmallow's {field: [messages]} as [{field, message, message_pl}] (nested names joined by dots)."""
    out = []
    if isinstance(messages, dict):
        for key, value in messages.items():
            name = f"{prefix}.{key}" if prefix and key != "_schema" else (prefix or str(key))
            out.extend(field_errors(value, name))
    elif isinstance(messages, (list, tuple)):
        for item in messages:
            out.extend(field_errors(item, prefix))
    elif getattr(messages, "pl", None):  # the kit's Bilingual messages (kadra_defaults.text)
        out.extend(kit_field_errors(messages, prefix))
    else:
        text = str(messages)
        if prefix.endswith("role") and text.startswith("Must be one of"):
            out.append({"field": prefix, "message": _ROLE_MESSAGE[0], "message_pl": _ROLE_MESSAGE[1]})
        else:
            out.append({"field": prefix or "body", "message": _english(text), "message_pl": _polish(text)})
    return out


def load(schema: Schema, data) -> dict:
    """Validate `data`; InvalidInput naming every wrong field otherwise."""
    if not isinstance(data, dict):
        raise InvalidInput.field("body", "A JSON object is required.", "Wymagany jest obiekt JSON.")
    try:
        return schema.load(data)
    except ValidationError as error:
        errors = field_errors(error.messages)
        first = errors[0]
        raise InvalidInput({"detail": first["message"] if len(errors) == 1 else "Some fields are invalid.",
                            "detail_pl": first["message_pl"] if len(errors) == 1 else "Niektóre pola są niepoprawne.",
                            "errors": errors}) from None


class _Strict(Schema):
    class Meta:
        unknown = RAISE


def _name(required=True, **kwargs):
    return HumanText(required=required, max_length=NAME_MAX, **kwargs)


class CompanyCreateSchema(_Strict):
    name = _name()


class AddressSchema(_Strict):
    street = HumanText(required=True, max_length=200)
    postal_code = fields.String(required=True, validate=validate.Regexp(
        _POSTAL_CODE, error="Invalid postal code (NN-NNN) / Invalid postal code (NN-NNN)"))
    city = HumanText(required=True, max_length=100)
    country = HumanText(load_default="PL", min_length=2, max_length=2)


class CompanyPatchSchema(_Strict):
    """The guide's "Nazwa, dane rejestrowe i kontaktowe"; null clears an optional field."""

    name = _name(required=False)
    nip = fields.String(allow_none=True, validate=validate_nip)
    regon = fields.String(allow_none=True, validate=validate_regon)
    address = fields.Nested(AddressSchema, allow_none=True)
    contact_email = EmailAddress(allow_none=True)
    contact_phone = fields.String(allow_none=True, validate=validate_phone)

    @pre_load
    def _strip(self, data, **kwargs):
        if isinstance(data, dict):
            return {k: v.strip() if isinstance(v, str) else v for k, v in data.items()}
        return data


def normalize_company_changes(changes: dict) -> dict:
    """Digits only for NIP and REGON; a lower-case contact e-mail."""
    out = dict(changes)
    if out.get("nip"):
        out["nip"] = normalize_nip(out["nip"])
    if out.get("regon"):
        out["regon"] = normalize_regon(out["regon"])
    if out.get("contact_email"):
        out["contact_email"] = out["contact_email"].lower()
    if out.get("name"):
        out["name"] = out["name"].strip()
    return out


class InviteSchema(_Strict):
    email = EmailAddress(required=True)
    role = fields.String(required=True, validate=validate.OneOf(ASSIGNABLE_ROLES))
    locale = fields.String(load_default="pl", validate=validate.OneOf(("pl", "en")))

    @pre_load
    def _strip(self, data, **kwargs):
        if isinstance(data, dict) and isinstance(data.get("email"), str):
            return {**data, "email": data["email"].strip()}
        return data


class RoleChangeSchema(_Strict):
    role = fields.String(required=True, validate=validate.OneOf(ASSIGNABLE_ROLES))


class PermissionSchema(_Strict):
    permission = fields.String(required=True, validate=validate.OneOf(sorted(PERMISSIONS)))


class AuditPageSchema(_Strict):
    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=100000))
    per_page = fields.Integer(load_default=50, validate=validate.Range(min=1, max=200))


def normalize_email(email: str) -> str:
    """E-mail addresses are compared case-insensitively."""
    return email.strip().lower()
