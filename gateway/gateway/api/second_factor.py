"""The person's second factors of web logins: TOTP with recovery codes, approval on the trusted phone
(`/me/second-factor`).

Enrolment is two calls: `POST …/totp` answers a new secret once (as text for manual entry, as an otpauth://
URI and as a QR code rendered here as SVG by segno — no outside service sees the secret), `POST …/totp/confirm`
with a current code turns it on and answers ten recovery codes, once. The login's second step is
`POST /auth/login/second-factor` (gateway/api/auth.py).
"""
import io

import segno
from flask_smorest import Blueprint
from marshmallow import EXCLUDE, Schema, fields, validate

from gateway.api.auth import client_ip, one_code, user_agent
from gateway.auth import authenticated
from gateway.caller import current_caller
from gateway.errors import Problem
from kadra_defaults.errors import field_error

blp = Blueprint("second_factor", __name__, url_prefix="/api/v1/me/second-factor",
                description="The person's second factor of web logins (TOTP, recovery codes)")

CODE = {"example": "492039"}
RECOVERY_CODE = {"example": "k7m2q-x9p4r"}


class SecondFactorStatusSchema(Schema):
    totp = fields.Boolean(required=True, metadata={"example": True})
    enabled_at = fields.String(allow_none=True, metadata={"example": "2026-12-06T21:30:00+00:00"})
    recovery_codes_left = fields.Integer(required=True, metadata={"example": 10})
    phone = fields.Boolean(required=True, metadata={"example": False,
                                                    "description": "Approving web logins on the trusted phone is on"})
    phone_enabled_at = fields.String(allow_none=True, metadata={"example": None})


class TotpEnrolmentSchema(Schema):
    secret = fields.String(required=True, metadata={"example": "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"})
    otpauth_uri = fields.String(required=True, metadata={
        "example": "otpauth://totp/Kadra:anna%40example.pl?secret=JBSW...&issuer=Kadra"})
    qr_svg = fields.String(required=True, metadata={"example": "<svg xmlns=\"http://www.w3.org/2000/svg\" ...</svg>"})
    expires_in = fields.Integer(required=True, metadata={"example": 900})


class TotpConfirmSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    code = fields.String(required=True, validate=validate.Length(min=1, max=20), metadata=CODE)


class RecoveryCodesSchema(Schema):
    recovery_codes = fields.List(fields.String(), required=True, metadata={
        "example": ["k7m2q-x9p4r", "a3b4c-d5e6f", "…eight more"]})


class TotpDisableSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    password = fields.String(required=True, load_only=True, validate=validate.Length(min=1, max=4096),
                             metadata={"example": "correct horse battery staple"})
    code = fields.String(validate=validate.Length(min=1, max=20), metadata=CODE)
    recovery_code = fields.String(validate=validate.Length(min=1, max=64), metadata=RECOVERY_CODE)


class PhoneOnSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    password = fields.String(required=True, load_only=True, validate=validate.Length(min=1, max=4096),
                             metadata={"example": "correct horse battery staple"})
    code = fields.String(validate=validate.Length(min=1, max=20),
                         metadata={**CODE, "description": "With TOTP on: its current code"})
    recovery_code = fields.String(validate=validate.Length(min=1, max=64), metadata=RECOVERY_CODE)


class PhoneOffSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    password = fields.String(load_only=True, validate=validate.Length(min=1, max=4096),
                             metadata={"example": "correct horse battery staple",
                                       "description": "Required unless `pending_token` is sent"})
    code = fields.String(validate=validate.Length(min=1, max=20),
                         metadata={**CODE, "description": "With TOTP on: its current code (then no phone step)"})
    recovery_code = fields.String(validate=validate.Length(min=1, max=64), metadata=RECOVERY_CODE)
    pending_token = fields.String(validate=validate.Length(min=1, max=512), metadata={
        "description": "The second call: the token of the first answer, asked until the phone decides"})


class PhoneOffAnswerSchema(Schema):
    status = fields.String(required=True, metadata={"example": "waiting", "description": "done, or waiting"})
    pending_token = fields.String(metadata={"example": "pW3r9Lx...43 characters"})
    number = fields.String(metadata={"example": "42"})
    expires_in = fields.Integer(metadata={"example": 120})


def qr_svg(uri: str) -> str:
    """The otpauth URI as an SVG QR code (segno, in this process)."""
    out = io.BytesIO()
    segno.make(uri, error="m").save(out, kind="svg", scale=4, border=2, xmldecl=False, svgns=True,
                                    title="QR", dark="#000", light="#fff")
    return out.getvalue().decode("utf-8")


@blp.route("", methods=["GET"])
@authenticated
@blp.response(200, SecondFactorStatusSchema)
def status():
    """Whether TOTP is on, since when, and how many recovery codes are left (never the secret); whether approving
    web logins on the trusted phone is on.

    Example answer: `{"totp": true, "enabled_at": "2026-12-06T21:30:00+00:00", "recovery_codes_left": 9,
    "phone": false, "phone_enabled_at": null}`
    """
    caller = current_caller()
    return caller.rpc.identity.second_factor_status(caller.account_id)


@blp.route("/totp", methods=["POST"])
@authenticated
@blp.response(200, TotpEnrolmentSchema)
@blp.alt_response(422, description="TOTP is already on (`errors` names `totp`)")
def begin_totp():
    """Begin setting up TOTP: a new secret, answered this once (text, otpauth URI, QR code as SVG).

    Nothing changes until `POST /me/second-factor/totp/confirm` with a current code (within 15 minutes).
    Example answer: `{"secret": "JBSWY3DP…", "otpauth_uri": "otpauth://totp/Kadra:anna%40example.pl?…",
    "qr_svg": "<svg …>", "expires_in": 900}`
    """
    caller = current_caller()
    answer = caller.rpc.identity.begin_totp(caller.account_id)
    return {**answer, "qr_svg": qr_svg(answer["otpauth_uri"])}


@blp.route("/totp/confirm", methods=["POST"])
@authenticated
@blp.arguments(TotpConfirmSchema, example={"code": "492039"})
@blp.response(200, RecoveryCodesSchema)
@blp.alt_response(422, description="The code is wrong or expired, or no set-up is waiting (`errors` names `code`)")
def confirm_totp(body):
    """Turn TOTP on with the current code from the app; answers ten single-use recovery codes, once.

    A notice e-mail goes to the person and the change lands in the audit log of each of their companies.
    Example answer: `{"recovery_codes": ["k7m2q-x9p4r", …]}`
    """
    caller = current_caller()
    return caller.rpc.identity.confirm_totp(caller.account_id, body["code"])


@blp.route("/totp/disable", methods=["POST"])
@authenticated
@blp.arguments(TotpDisableSchema, example={"password": "correct horse battery staple", "code": "492039"})
@blp.response(204)
@blp.alt_response(422, description="Wrong password (`password`), wrong or used code (`code` / `recovery_code`), "
                                   "or TOTP is not on (`totp`)")
@blp.alt_response(429, description="Too many wrong passwords or codes: wait (Retry-After)")
def disable_totp(body):
    """Turn TOTP off: needs the password and a current code (or a recovery code).

    Wrong passwords and codes count toward the login lockout. A notice e-mail goes to the person and the
    change lands in the audit log. Example: `{"password": "…", "code": "492039"}` → 204.
    """
    one_code(body)
    caller = current_caller()
    caller.rpc.identity.disable_totp(caller.account_id, body["password"], code=body.get("code"),
                                     recovery_code=body.get("recovery_code"), client_ip=client_ip())


@blp.route("/phone", methods=["POST"])
@authenticated
@blp.arguments(PhoneOnSchema, example={"password": "correct horse battery staple"})
@blp.response(204)
@blp.alt_response(422, description="Wrong password (`password`), with TOTP on a missing or wrong code (`code`), "
                                   "no trusted phone or already on (`phone`)")
@blp.alt_response(429, description="Too many wrong passwords or codes: wait (Retry-After)")
def enable_phone(body):
    """Turn on approving web logins on the trusted phone: needs a trusted phone (the mobile app activated), the
    password, and with TOTP on its current code (or a recovery code).

    From then on a web login with the right password waits for the phone's approval (the number on the screen
    typed on the phone). A notice e-mail goes to the person and the change lands in the audit log
    (`second_factor_changed`, method phone). Example: `{"password": "…"}` → 204.
    """
    caller = current_caller()
    caller.rpc.identity.enable_phone(caller.account_id, body["password"], code=body.get("code"),
                                     recovery_code=body.get("recovery_code"), client_ip=client_ip())


@blp.route("/phone/disable", methods=["POST"])
@authenticated
@blp.arguments(PhoneOffSchema, example={"password": "correct horse battery staple"})
@blp.response(200, PhoneOffAnswerSchema)
@blp.alt_response(202, schema=PhoneOffAnswerSchema, description="Waiting for the phone's approval (`pending_token`, "
                                                                "`number`): ask again with the `pending_token`")
@blp.alt_response(400, description="The `pending_token` is unknown, used or expired")
@blp.alt_response(403, description="The phone denied it (`login_denied`)")
@blp.alt_response(410, description="The 2 minutes to approve ran out (`approval_expired`)")
@blp.alt_response(422, description="Wrong password (`password`), wrong code (`code`), or not on (`phone`)")
@blp.alt_response(429, description="Too many wrong passwords or codes: wait (Retry-After)")
def disable_phone(body):
    """Turn approving on the phone off: the password and a current factor — with TOTP on its code (or a recovery
    code), answered 200 `{"status": "done"}` at once; else the phone's own approval: 202 `{"status": "waiting",
    "pending_token": "…", "number": "42", "expires_in": 120}`, then the same route with `{"pending_token": "…"}`
    until 200 done (403 denied, 410 expired). With no trusted phone left the password alone does.
    """
    caller = current_caller()
    if body.get("pending_token"):
        answer = caller.rpc.identity.disable_phone(caller.account_id, pending_token=body["pending_token"])
    else:
        if not body.get("password"):
            raise Problem("validation_failed", errors=[field_error("password", "Enter your password.",
                                                                   "Wpisz swoje hasło.")])
        answer = caller.rpc.identity.disable_phone(caller.account_id, body["password"], code=body.get("code"),
                                                   recovery_code=body.get("recovery_code"), client_ip=client_ip(),
                                                   user_agent=user_agent())
    return (answer, 202) if answer.get("status") == "waiting" else answer
