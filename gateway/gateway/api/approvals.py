"""The trusted phone approves web logins: its list of requests and its decision (`/devices/{id}/approvals`).

A web login with the right password, for a person who turned "approve on the phone" on, answers a pending
login with a two-digit number (gateway/api/auth.py); the phone lists the request here with its device token
(which client address and browser, when, which app) and approves it with the number the person reads on the
web screen and a fresh challenge of this device signed — over `kadra-approval.v1.<approval_id>.<number>.<challenge>`
— by the device key with the PIN, or by the biometric key; or denies it. devices checks the phone and its
proof (a blocked device can do none of it: 423), identity records the one decision that wins and checks the
number (a wrong one denies the login). The web then gets its tokens from `POST /auth/login/second-factor`
with `method: "phone"`.
"""
from flask_smorest import Blueprint
from marshmallow import EXCLUDE, Schema, fields, validate

from gateway.api.devices import _BAD_PIN, _own_device
from gateway.auth import authenticated
from kadra_defaults.errors import Bilingual

blp = Blueprint("approvals", __name__, url_prefix="/api/v1/devices",
                description="The trusted phone approves web logins")

_BAD_NUMBER = Bilingual("Type the two-digit number shown on the login screen.",
                        "Wpisz dwucyfrową liczbę z ekranu logowania.")


class ApprovalRequestSchema(Schema):
    approval_id = fields.String(required=True, metadata={"example": "9f2c4e1a0b7d4c3e8a6f5d2b1c0e9a8f"})
    purpose = fields.String(required=True, metadata={
        "example": "login", "description": "login (a web login), or phone_off (turning this method off)"})
    app = fields.String(required=True, metadata={"example": "web", "description": "the app that asks"})
    client_ip = fields.String(allow_none=True, metadata={"example": "203.0.113.7"})
    user_agent = fields.String(metadata={"example": "Mozilla/5.0 (X11; Linux x86_64) … Chrome/120.0"})
    requested_at = fields.String(required=True, metadata={"example": "2026-12-07T01:12:00+00:00"})
    expires_in = fields.Integer(required=True, metadata={"example": 104})


class ApprovalListSchema(Schema):
    approvals = fields.List(fields.Nested(ApprovalRequestSchema), required=True)


class ApproveSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    number = fields.String(required=True, validate=validate.Regexp(r"[0-9]{2}\Z", error=_BAD_NUMBER),
                           metadata={"example": "42", "description": "The number shown on the web's login screen"})
    challenge = fields.String(required=True, validate=validate.Length(min=1, max=200),
                              metadata={"example": "c1.6f1c…", "description": "A fresh challenge of this device "
                                                                             "(POST /devices/{device_id}/challenge)"})
    signature = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=200), metadata={
        "description": "base64 Ed25519 signature by the device key of "
                       "`kadra-approval.v1.<approval_id>.<number>.<challenge>` (with `pin`)"})
    pin = fields.String(load_default=None, allow_none=True, load_only=True,
                        validate=validate.Regexp(r"[0-9]{6,8}\Z", error=_BAD_PIN), metadata={"example": "482915"})
    biometric_signature = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=200),
                                        metadata={"description": "The same message signed by the biometric key "
                                                                 "(instead of signature and pin)"})


class DecisionSchema(Schema):
    decision = fields.String(required=True, metadata={"example": "approved"})


@blp.route("/<string:device_id>/approvals", methods=["GET"])
@authenticated(device=True)
@blp.response(200, ApprovalListSchema)
@blp.alt_response(404, description="No such device (or not this account's)")
@blp.alt_response(423, description="The device is blocked: it cannot approve")
def list_approvals(device_id):
    """The web logins waiting for this phone's approval (2 minutes each), oldest first; never the number.

    Needs this device's bearer token. Example answer: `{"approvals": [{"approval_id": "9f2c…", "purpose":
    "login", "app": "web", "client_ip": "203.0.113.7", "user_agent": "Mozilla/5.0 …", "requested_at":
    "2026-12-07T01:12:00+00:00", "expires_in": 104}]}`
    """
    caller = _own_device(device_id)
    caller.rpc.devices.approving_device(caller.account_id, device_id)
    return {"approvals": caller.rpc.identity.login_approvals(caller.account_id)}


@blp.route("/<string:device_id>/approvals/<string:approval_id>/approve", methods=["POST"])
@authenticated(device=True)
@blp.arguments(ApproveSchema, example={"number": "42", "challenge": "c1.6f1c…", "signature": "<base64>",
                                       "pin": "482915"})
@blp.response(200, DecisionSchema)
@blp.alt_response(401, description="Bad signature, reused/expired/foreign challenge, or wrong PIN "
                                   "(`attempts_left`); the challenge is spent")
@blp.alt_response(404, description="No such device or login request (`approval_id`)")
@blp.alt_response(409, description="The request was already approved or denied (one decision wins)")
@blp.alt_response(410, description="The 2 minutes to approve have run out")
@blp.alt_response(422, description="A field is missing or wrong; or `number` is not the one on the login screen: "
                                   "then the login is denied")
@blp.alt_response(423, description="The device is blocked: it cannot approve")
def approve(body, device_id, approval_id):
    """Approve a web login with the number read on the login screen and the device's proof.

    Needs this device's bearer token, and, like a PIN login: a fresh challenge signed — over
    `kadra-approval.v1.<approval_id>.<number>.<challenge>` — by the device key with the PIN (a wrong PIN
    counts toward the block), or by the biometric key alone. A wrong number denies the login (422 naming
    `number`). Example: `{"number": "42", "challenge": "c1.…", "signature": "<base64>", "pin": "482915"}` →
    `{"decision": "approved"}`.
    """
    caller = _own_device(device_id)
    caller.rpc.devices.check_approval(caller.account_id, device_id, approval_id, body["number"], body["challenge"],
                                      signature=body["signature"], pin=body["pin"],
                                      biometric_signature=body["biometric_signature"])
    return caller.rpc.identity.decide_login(caller.account_id, device_id, approval_id, "approve",
                                            number=body["number"])


@blp.route("/<string:device_id>/approvals/<string:approval_id>/deny", methods=["POST"])
@authenticated(device=True)
@blp.response(200, DecisionSchema)
@blp.alt_response(404, description="No such device or login request (`approval_id`)")
@blp.alt_response(409, description="The request was already approved or denied")
@blp.alt_response(410, description="The 2 minutes have run out")
@blp.alt_response(423, description="The device is blocked")
def deny(device_id, approval_id):
    """Deny a web login (the device token is enough: denying gives nobody access). It counts as a failed login
    for the account's address (5 in a row lock the password out for a while, with a notice e-mail).

    Example: `POST /api/v1/devices/5b0e…/approvals/9f2c…/deny` → `{"decision": "denied"}`.
    """
    caller = _own_device(device_id)
    caller.rpc.devices.approving_device(caller.account_id, device_id)
    return caller.rpc.identity.decide_login(caller.account_id, device_id, approval_id, "deny")
