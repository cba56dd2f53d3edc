"""Trusted mobile devices: activation, PIN, biometrics, challenge–response login.

The device key (Ed25519, generated on the phone) is the credential of the
challenge and login routes; PIN and biometrics routes need the device's own
bearer token (`@authenticated(device=True)`, the token's device = the path's).
Setting or replacing the biometric key needs more than the token: a fresh
challenge signed by the device key, and the PIN (counted like a PIN login's).
"""
import base64
import binascii

from flask import request
from flask_smorest import Blueprint
from marshmallow import EXCLUDE, Schema, ValidationError, fields, validate

from kadra_defaults.errors import Bilingual
from kadra_defaults.text import HumanText

from gateway.auth import authenticated
from gateway.caller import Caller, current_caller, rpc_client
from gateway.errors import Problem

blp = Blueprint("devices", __name__, url_prefix="/api/v1/devices", description="The trusted mobile device")


def _public_key(value: str) -> None:
    """Base64 (standard, padded) of 32 raw bytes; the service checks it again."""
    try:
        raw = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise ValidationError(_BAD_BASE64) from None
    if base64.b64encode(raw).decode() != value:
        raise ValidationError(_BAD_BASE64)
    if len(raw) != 32:
        raise ValidationError(_BAD_LENGTH)


_BAD_BASE64 = Bilingual("The public key is not valid base64 (standard alphabet, padded).",
                        "Klucz publiczny nie jest poprawnym base64 (standardowy alfabet, z dopełnieniem).")
_BAD_LENGTH = Bilingual("An Ed25519 public key is base64 of exactly 32 bytes.",
                        "Klucz publiczny Ed25519 to base64 dokładnie 32 bajtów.")
_BAD_PIN = Bilingual("The PIN must consist of 6 to 8 digits.", "PIN musi składać się z 6–8 cyfr.")


class _Body(Schema):
    class Meta:
        unknown = EXCLUDE


class ActivationSchema(_Body):
    email = fields.String(required=True, validate=validate.Length(min=1, max=320),
                          metadata={"example": "anna@firma.pl"})
    password = fields.String(required=True, validate=validate.Length(min=1, max=1024),
                             load_only=True, metadata={"example": "correct horse battery staple"})
    device_name = HumanText(required=True, max_length=80, metadata={"example": "Anna's Pixel 8"})
    platform = fields.String(required=True, validate=validate.OneOf(("android", "ios")),
                             metadata={"example": "android"})
    public_key = fields.String(required=True, validate=_public_key,
                               metadata={"example": "11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo="})
    replace = fields.Boolean(load_default=False, metadata={"example": False})
    code = fields.String(validate=validate.Length(min=1, max=20), metadata={
        "example": "492039", "description": "With two-step login (TOTP) on: the current code from the app"})
    recovery_code = fields.String(validate=validate.Length(min=1, max=64), metadata={
        "description": "With two-step login on: a recovery code instead of `code`"})


class TokenPairSchema(Schema):
    access_token = fields.String(required=True)
    refresh_token = fields.String(required=True)
    token_type = fields.String(dump_default="Bearer", metadata={"example": "Bearer"})
    expires_in = fields.Integer(metadata={"example": 900})


class ActivatedSchema(TokenPairSchema):
    device_id = fields.String(required=True, metadata={"example": "6f1c0c3e9b2d4f7a8e5d1c2b3a4f5e6d"})
    replaced_device_ids = fields.List(fields.String(), metadata={
        "description": "The devices this activation replaced (removed and logged out); empty for a first device"})


class PinSchema(_Body):
    pin = fields.String(required=True, validate=validate.Regexp(r"[0-9]{6,8}\Z",
                                                                error=_BAD_PIN),
                        load_only=True, metadata={"example": "482915"})
    current_pin = fields.String(load_default=None, allow_none=True, load_only=True,
                                metadata={"description": "Only to change a PIN: the current PIN"})
    challenge = fields.String(load_default=None, allow_none=True,
                              metadata={"description": "Only to change a PIN: a challenge of this device"})
    signature = fields.String(load_default=None, allow_none=True,
                              metadata={"description": "Only to change a PIN: the device key's signature of it"})


class BiometricKeySchema(_Body):
    public_key = fields.String(required=True, validate=_public_key,
                               metadata={"example": "Fb1UxVZ6mJ0yF7qgSUm8xK9o0n2v5wq4dJxvZ1c3nBk=",
                                         "description": "The biometric key: base64 of its 32 raw Ed25519 bytes"})
    pin = fields.String(required=True, validate=validate.Regexp(r"[0-9]{6,8}\Z", error=_BAD_PIN), load_only=True,
                        metadata={"example": "482915", "description": "The device's PIN (a wrong one counts "
                                                                      "toward the block, like a PIN login's)"})
    challenge = fields.String(required=True, validate=validate.Length(min=1, max=200),
                              metadata={"example": "c1.6f1c…", "description": "A fresh challenge of this device "
                                                                             "(POST /devices/{device_id}/challenge)"})
    signature = fields.String(required=True, validate=validate.Length(min=1, max=200),
                              metadata={"example": "<base64>",
                                        "description": "The device key's Ed25519 signature of the challenge, base64"})


class ChallengeSchema(Schema):
    challenge = fields.String(required=True, metadata={"example": "q3N0b8X...Yw"})
    expires_in = fields.Integer(required=True, metadata={"example": 120})


class LoginSchema(_Body):
    challenge = fields.String(required=True, validate=validate.Length(min=1, max=200))
    signature = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=200),
                              metadata={"description": "base64 Ed25519 signature of the challenge by the device key"})
    pin = fields.String(load_default=None, allow_none=True, load_only=True, metadata={"example": "482915"})
    biometric_signature = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=200),
                                        metadata={"description": "base64 signature by the biometric key"})


def _own_device(device_id: str) -> Caller:
    """The caller's device token must be for this very device."""
    caller = current_caller()
    if caller.principal.device_id != device_id:
        raise Problem("forbidden", detail="This token belongs to another device.",
                      detail_pl="Ten token należy do innego urządzenia.")
    return caller


@blp.route("/activate", methods=["POST"])
@blp.arguments(ActivationSchema)
@blp.response(201, ActivatedSchema)
@blp.alt_response(401, description="Wrong e-mail or password; or, with two-step login on, a missing or wrong `code`")
@blp.alt_response(409, description="The account already has a trusted device (see current_device)")
@blp.alt_response(422, description="A field is missing or wrong (named in errors)")
@blp.alt_response(429, description="Too many attempts")
def activate(body):
    """Activate this phone as the account's trusted device (e-mail + password + the device's public key).

    Example request: `{"email": "anna@firma.pl", "password": "…", "device_name": "Pixel 8",
    "platform": "android", "public_key": "<base64 of 32 bytes>"}`;
    answer 201 `{"device_id": "6f1c…", "access_token": "…", "refresh_token": "…", "token_type": "Bearer",
    "expires_in": 900}`. A second device answers 409 with `current_device: {name, platform, activated_at}`
    unless `"replace": true`, which removes the old device and ends its sessions at once.
    For an account with two-step login (TOTP) on, the right password without a right `code` (or
    `recovery_code`) answers 401 naming `code`: activation answers tokens, so it needs the second factor too.
    """
    rpc = rpc_client()
    codes = {name: body[name] for name in ("code", "recovery_code") if body.get(name)}
    account = rpc.identity.verify_credentials(body["email"], body["password"], client_ip=request.remote_addr,
                                              codes=codes)
    result = rpc.devices.activate(account, body["device_name"], body["platform"], body["public_key"],
                                  replace=body["replace"])
    result.setdefault("token_type", "Bearer")
    return result


@blp.route("/<string:device_id>/pin", methods=["PUT"])
@authenticated(device=True)
@blp.arguments(PinSchema)
@blp.response(204)
@blp.alt_response(401, description="Bad signature or challenge, or wrong current PIN")
@blp.alt_response(422, description="A trivial PIN, letters, or a missing field")
@blp.alt_response(404, description="No such device")
@blp.alt_response(423, description="The device is blocked")
def set_pin(body, device_id):
    """Set the PIN (6–8 digits, not trivial) with the device token; changing it needs the current PIN and a signature.

    Example request: `{"pin": "482915"}`; to change: `{"pin": "730164", "current_pin": "482915",
    "challenge": "<from /challenge>", "signature": "<base64>"}`. Answer 204.
    """
    caller = _own_device(device_id)
    caller.rpc.devices.set_pin(caller.account_id, device_id, body["pin"], current_pin=body["current_pin"],
                               challenge=body["challenge"], signature=body["signature"])
    return None


@blp.route("/<string:device_id>/biometrics", methods=["PUT"])
@authenticated(device=True)
@blp.arguments(BiometricKeySchema)
@blp.response(204)
@blp.alt_response(401, description="Bad signature, reused/expired/foreign challenge, or wrong PIN "
                                   "(`attempts_left` says how many before the block)")
@blp.alt_response(404, description="No such device")
@blp.alt_response(409, description="The device has no PIN yet: set one first")
@blp.alt_response(422, description="A field is missing or wrong: the key (base64 of 32 bytes), the PIN, "
                                   "the challenge or the signature")
@blp.alt_response(423, description="The device is blocked (5 wrong PINs)")
def set_biometrics(body, device_id):
    """Register or replace the biometric key: a second Ed25519 key the phone unlocks only with biometrics.

    The device token alone is not enough (a stolen token must not become a login without the PIN): send a
    fresh challenge of this device (`POST /devices/{device_id}/challenge`) signed by the device key, and the
    PIN. The PIN is counted like a PIN login's: a wrong one counts toward the block, a blocked device answers
    423, the right one starts the count again. The challenge is spent by the attempt, right or wrong.

    Example request: `{"public_key": "<base64 of 32 bytes>", "pin": "482915", "challenge": "c1.6f1c…",
    "signature": "<base64 Ed25519 signature of the challenge by the device key>"}`; answer 204.
    """
    caller = _own_device(device_id)
    caller.rpc.devices.set_biometric_key(caller.account_id, device_id, body["public_key"], pin=body["pin"],
                                         challenge=body["challenge"], signature=body["signature"])
    return None


@blp.route("/<string:device_id>/biometrics", methods=["DELETE"])
@authenticated(device=True)
@blp.response(204)
@blp.alt_response(404, description="No such device")
def remove_biometrics(device_id):
    """Turn biometric login off (the biometric key is forgotten).

    Example: `DELETE /api/v1/devices/5b0e.../biometrics` with this device's bearer token → 204, no body.
    """
    caller = _own_device(device_id)
    caller.rpc.devices.remove_biometric_key(caller.account_id, device_id)
    return None


@blp.route("/<string:device_id>/challenge", methods=["POST"])
@blp.response(200, ChallengeSchema)
@blp.alt_response(404, description="No such device")
@blp.alt_response(423, description="The device is blocked")
def issue_challenge(device_id):
    """A single-use challenge (256 bits, valid 2 minutes) for the device to sign.

    Example answer: `{"challenge": "q3N0...Yw", "expires_in": 120}`
    """
    return rpc_client().devices.issue_challenge(device_id)


@blp.route("/<string:device_id>/login", methods=["POST"])
@blp.arguments(LoginSchema)
@blp.response(200, TokenPairSchema)
@blp.alt_response(401, description="Bad signature, reused/expired/foreign challenge, or wrong PIN")
@blp.alt_response(404, description="No such device")
@blp.alt_response(423, description="The device is blocked (5 wrong PINs)")
def login(body, device_id):
    """Log in with a signed challenge: the device key's signature plus the PIN, or the biometric signature alone.

    Example request: `{"challenge": "q3N0...Yw", "signature": "<base64>", "pin": "482915"}` or
    `{"challenge": "q3N0...Yw", "biometric_signature": "<base64>"}`; answer 200 a token pair
    `{"access_token": "…", "refresh_token": "…", "token_type": "Bearer", "expires_in": 900}`.
    """
    tokens = rpc_client().devices.login(device_id, body["challenge"], signature=body["signature"], pin=body["pin"],
                                        biometric_signature=body["biometric_signature"])
    tokens.setdefault("token_type", "Bearer")
    return tokens
