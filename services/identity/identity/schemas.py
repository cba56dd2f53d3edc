"""What identity's RPCs accept: marshmallow schemas; a bad field raises InvalidInput naming it."""
from marshmallow import EXCLUDE, Schema, fields, validate

from kadra_defaults import errors
from kadra_defaults.text import EmailAddress, HumanText

from identity.exceptions import InvalidInput

LOCALES = ("pl", "en")
NAME_MAX = 200


class _Base(Schema):
    class Meta:
        unknown = EXCLUDE


def Email():  # noqa: N802 - a field factory
    return EmailAddress(required=True)


def Name(required=True):  # noqa: N802
    return HumanText(required=required, max_length=NAME_MAX)


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
    """The kit's `load`, raising identity's own InvalidInput (the gateway maps errors by their module)."""
    return errors.load(schema, data, InvalidInput)
