"""marshmallow schemas at the RPC edge: every input is checked here before anything is stored.

`load(schema, data)` returns the clean data or raises InvalidInput whose `errors` name each wrong
field in English and Polish (kadra_defaults.errors).
"""
import re

from marshmallow import EXCLUDE, Schema, ValidationError, fields, validate, validates_schema

from kadra_defaults.errors import Bilingual, field_errors
from kadra_defaults.text import HumanText

from devices import keys, pins
from devices.exceptions import InvalidInput

PLATFORMS = ("android", "ios")
DEVICE_NAME_MAX = 80
CAUSES = ("password_reset", "email_revert")  # what recovery removes the trusted device for
# ASCII only: str.isalnum and str.isdigit accept "²", "٣" and other letters and digits.
_ID = re.compile(r"[A-Za-z0-9]{1,64}")
_PIN_DIGITS = re.compile(r"[0-9]{%d,%d}" % (pins.MIN_LENGTH, pins.MAX_LENGTH))
_BAD_ENTERED_PIN = (f"The PIN is {pins.MIN_LENGTH} to {pins.MAX_LENGTH} digits (0-9).",
                    f"PIN to od {pins.MIN_LENGTH} do {pins.MAX_LENGTH} cyfr (0-9).")


def _error(message: str, message_pl: str) -> ValidationError:
    return ValidationError(Bilingual(message, message_pl))


def _public_key(value) -> None:
    try:
        keys.decode_public_key(value)
    except keys.BadKey as bad:
        raise _error(*bad.args) from None


def _pin(value) -> None:
    problem = pins.pin_problem(value)
    if problem:
        raise _error(*problem)


def _platform(value) -> None:
    if value not in PLATFORMS:
        raise _error("The platform must be android or ios.", "Platforma musi być android lub ios.")


def _id(value) -> None:
    if not _ID.fullmatch(value):
        raise _error("Not a valid id.", "Nieprawidłowy identyfikator.")


def _entered_pin(value) -> None:
    """A PIN typed to prove it (login, the PIN change, the biometric step): 6-8 ASCII digits; checked, not judged."""
    if not _PIN_DIGITS.fullmatch(value):
        raise _error(*_BAD_ENTERED_PIN)


class _Strict(Schema):
    class Meta:
        unknown = EXCLUDE


class AccountSchema(_Strict):
    """The account identity vouched for (from identity.verify_credentials)."""

    account_id = fields.String(required=True, validate=_id)
    email = fields.String(required=True)
    full_name = fields.String(load_default="", allow_none=True)
    locale = fields.String(load_default="pl", allow_none=True)


class ActivationSchema(_Strict):
    account = fields.Nested(AccountSchema, required=True)
    device_name = HumanText(required=True, max_length=DEVICE_NAME_MAX)
    platform = fields.String(required=True, validate=_platform)
    public_key = fields.String(required=True, validate=_public_key)
    replace = fields.Boolean(load_default=False)


class DeviceRefSchema(_Strict):
    device_id = fields.String(required=True, validate=_id)


class OwnedDeviceSchema(DeviceRefSchema):
    account_id = fields.String(required=True, validate=_id)


class SetPinSchema(OwnedDeviceSchema):
    pin = fields.String(required=True, validate=_pin)
    current_pin = fields.String(load_default=None, allow_none=True, validate=_entered_pin)
    challenge = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=200))
    signature = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=200))


class BiometricKeySchema(OwnedDeviceSchema):
    """The biometric key, with its proof: a fresh challenge signed by the device key, and the PIN."""

    public_key = fields.String(required=True, validate=_public_key)
    pin = fields.String(required=True, validate=_entered_pin)
    challenge = fields.String(required=True, validate=validate.Length(min=1, max=200))
    signature = fields.String(required=True, validate=validate.Length(min=1, max=200))


class LoginSchema(DeviceRefSchema):
    challenge = fields.String(required=True, validate=validate.Length(min=1, max=200))
    signature = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=200))
    pin = fields.String(load_default=None, allow_none=True)
    biometric_signature = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=200))

    @validates_schema
    def _one_way_in(self, data, **kwargs):
        """Either the device-key signature with the PIN, or the biometric signature alone."""
        if data.get("biometric_signature"):
            if data.get("signature") or data.get("pin"):
                raise _error("Send either signature and pin, or biometric_signature alone.",
                             "Wyślij albo signature i pin, albo samo biometric_signature.")
            return
        missing = {}
        if not data.get("signature"):
            missing["signature"] = [Bilingual("Sign the challenge with the device key (or send biometric_signature).",
                                              "Podpisz wyzwanie kluczem urządzenia (albo wyślij biometric_signature).")]
        if not data.get("pin"):
            missing["pin"] = ["Missing data for required field."]
        elif not _PIN_DIGITS.fullmatch(data["pin"]):
            missing["pin"] = [Bilingual(*_BAD_ENTERED_PIN)]
        if missing:
            raise ValidationError(missing)


class ApprovalSchema(OwnedDeviceSchema, LoginSchema):
    """The phone's approval of a web login: the approval, the number read on the web screen, and the proof
    (a fresh challenge signed — over the message binding all three — by the device key with the PIN, or by the
    biometric key)."""

    approval_id = fields.String(required=True, validate=_id)
    number = fields.String(required=True, validate=validate.Regexp(r"[0-9]{2}\Z", error=Bilingual(
        "Type the two-digit number shown on the login screen.", "Wpisz dwucyfrową liczbę z ekranu logowania.")))


class UnblockSchema(OwnedDeviceSchema):
    password = fields.String(required=True, validate=validate.Length(min=1, max=1024))


class RecipientSchema(_Strict):
    """Whom identity wants the notice sent to (the account's address, after the recovery)."""

    to = fields.Email(required=True)
    locale = fields.String(load_default="pl", validate=validate.OneOf(("pl", "en")))
    full_name = fields.String(load_default="", allow_none=True)


class RecoverySchema(_Strict):
    """identity's word that a recovery completed (or is completing) for the account."""

    account_id = fields.String(required=True, validate=_id)
    cause = fields.String(required=True, validate=validate.OneOf(CAUSES))
    recipient = fields.Nested(RecipientSchema, required=True)
    stale_after = fields.Float(required=True, allow_nan=False)


def load(schema: type[Schema], data: dict) -> dict:
    """Validated data, or InvalidInput naming every wrong field (its detail: the first one's words)."""
    try:
        return schema().load(data)
    except ValidationError as error:
        found = field_errors(error.messages)
        raise InvalidInput(found[0]["message"], found[0]["message_pl"], errors=found) from None
