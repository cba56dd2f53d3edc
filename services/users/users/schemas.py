"""marshmallow schemas at the RPC edge: every input is checked here before it reaches storage."""
from __future__ import annotations

import re

from marshmallow import RAISE, Schema, ValidationError, fields, pre_load, validate

from kadra_defaults import errors
from kadra_defaults.errors import Bilingual
from kadra_defaults.text import EmailAddress, HumanText, JsonBoolean

from users.exceptions import InvalidInput
from users.roles import ASSIGNABLE_ROLES
from users.validators import normalize_nip, normalize_regon, validate_nip, validate_phone, validate_regon

NAME_MAX = 200
_POSTAL_CODE = re.compile(r"^[0-9]{2}-[0-9]{3}$")


def load(schema: Schema, data) -> dict:
    """Validate `data`; this service's InvalidInput naming every wrong field otherwise."""
    try:
        return errors.load(schema, data)
    except errors.InvalidInput as error:  # the same details, raised as users.exceptions.InvalidInput
        raise InvalidInput(error.details["detail"], error.details["detail_pl"], errors=error.errors) from None


def _bilingual(check):
    """`check`'s "Polish / English" message (validators.py) as a Bilingual one, so the field error has both."""
    def validate_(value):
        try:
            check(value)
        except ValidationError as error:
            pl, en = str(error.messages[0]).split(" / ", 1)
            raise ValidationError(Bilingual(en, pl)) from None
    return validate_


class _Strict(Schema):
    class Meta:
        unknown = RAISE


def _name(required=True, **kwargs):
    return HumanText(required=required, max_length=NAME_MAX, **kwargs)


class CompanyCreateSchema(_Strict):
    name = _name()


class AddressSchema(_Strict):
    street = HumanText(required=True, max_length=200)
    postal_code = fields.String(required=True, validate=validate.Regexp(_POSTAL_CODE, error="Invalid postal code (NN-NNN)"))
    city = HumanText(required=True, max_length=100)
    country = HumanText(load_default="PL", min_length=2, max_length=2)


class CompanyPatchSchema(_Strict):
    """The guide's "Nazwa, dane rejestrowe i kontaktowe"; null clears an optional field."""

    name = _name(required=False)
    nip = fields.String(allow_none=True, validate=_bilingual(validate_nip))
    regon = fields.String(allow_none=True, validate=_bilingual(validate_regon))
    address = fields.Nested(AddressSchema, allow_none=True)
    contact_email = EmailAddress(allow_none=True)
    contact_phone = fields.String(allow_none=True, validate=_bilingual(validate_phone))

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


class AuditPageSchema(_Strict):
    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=100000))
    per_page = fields.Integer(load_default=50, validate=validate.Range(min=1, max=200))


def normalize_email(email: str) -> str:
    """E-mail addresses are compared case-insensitively."""
    return email.strip().lower()


def iso(value):
    """A stored datetime as the RPC answers carry it (ISO 8601), or None."""
    return value.isoformat() if value is not None else None


class SecondFactorPolicySchema(_Strict):
    """The company policy: every member needs a second factor (true) or not (false); JSON booleans only."""

    required = JsonBoolean(required=True)
