"""marshmallow schemas at the RPC edge: every input is checked here before anything is stored.

`load(schema, data)` returns the clean data or raises InvalidInput whose
`errors` name each wrong field in English and Polish.
"""
from marshmallow import EXCLUDE, Schema, ValidationError, fields, validate, validates_schema

from kadra_defaults.text import HumanText

from devices import keys, pins
from devices.exceptions import InvalidInput

PLATFORMS = ("android", "ios")
DEVICE_NAME_MAX = 80

# English message -> Polish, for marshmallow's own messages and ours.
_PL = {
    "Missing data for required field.": "To pole jest wymagane.",
    "Not a valid string.": "Wartość musi być tekstem.",
    "Not a valid boolean.": "Wartość musi być logiczna (true/false).",
    "Not a valid mapping type.": "Wartość musi być obiektem.",
    "Field may not be null.": "To pole nie może być puste.",
    "Unknown field.": "Nieznane pole.",
    "Invalid input type.": "Nieprawidłowy typ danych.",
}


def _error(message: str, message_pl: str) -> ValidationError:
    _PL[message] = message_pl
    return ValidationError(message)


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
    if not (0 < len(value) <= 64) or not value.isalnum():
        raise _error("Not a valid id.", "Nieprawidłowy identyfikator.")


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
    current_pin = fields.String(load_default=None, allow_none=True)
    challenge = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=200))
    signature = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=200))


class BiometricKeySchema(OwnedDeviceSchema):
    public_key = fields.String(required=True, validate=_public_key)


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
            missing["signature"] = [_error("Sign the challenge with the device key (or send biometric_signature).",
                                           "Podpisz wyzwanie kluczem urządzenia (albo wyślij biometric_signature)."
                                           ).messages[0]]
        if not data.get("pin"):
            missing["pin"] = ["Missing data for required field."]
        elif not data["pin"].isdigit():
            missing["pin"] = [_error("The PIN must consist of digits only.",
                                     "PIN może składać się wyłącznie z cyfr.").messages[0]]
        if missing:
            raise ValidationError(missing)


class UnblockSchema(OwnedDeviceSchema):
    password = fields.String(required=True, validate=validate.Length(min=1, max=1024))


def field_errors(messages, prefix: str = "") -> list[dict]:
    """marshmallow's {field: [messages]} as [{field, message, message_pl}]."""
    out = []
    if isinstance(messages, dict):
        for key, value in messages.items():
            name = "body" if key == "_schema" and not prefix else (prefix if key == "_schema" else
                                                                   (f"{prefix}.{key}" if prefix else str(key)))
            out.extend(field_errors(value, name))
    elif isinstance(messages, (list, tuple)):
        for item in messages:
            out.extend(field_errors(item, prefix))
    else:
        text = str(messages)
        pl = getattr(messages, "pl", None) or _PL.get(text, text)  # the kit's Bilingual carries its Polish
        out.append({"field": prefix or "body", "message": text, "message_pl": pl})
    return out


def invalid(field: str, message: str, message_pl: str) -> InvalidInput:
    """An InvalidInput naming one field."""
    return InvalidInput({"errors": [{"field": field, "message": message, "message_pl": message_pl}],
                         "detail": message, "detail_pl": message_pl})


def load(schema: type[Schema], data: dict) -> dict:
    """Validated data, or InvalidInput naming every wrong field."""
    try:
        return schema().load(data)
    except ValidationError as error:
        errors = field_errors(error.messages)
        raise InvalidInput({"errors": errors, "detail": errors[0]["message"],
                            "detail_pl": errors[0]["message_pl"]}) from None
