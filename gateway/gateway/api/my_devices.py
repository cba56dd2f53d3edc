"""The person's trusted device from the web: list it, remove it, unblock it (`/me/devices`)."""
from flask_smorest import Blueprint
from marshmallow import EXCLUDE, Schema, fields, validate

from gateway.auth import authenticated
from gateway.caller import current_caller

blp = Blueprint("my_devices", __name__, url_prefix="/api/v1/me/devices",
                description="The person's trusted device, seen from the web")


class DeviceSchema(Schema):
    device_id = fields.String(required=True, metadata={"example": "6f1c0c3e9b2d4f7a8e5d1c2b3a4f5e6d"})
    name = fields.String(required=True, metadata={"example": "Pixel 8"})
    platform = fields.String(required=True, metadata={"example": "android"})
    activated_at = fields.String(required=True, metadata={"example": "2025-03-01T09:30:00+00:00"})
    last_used_at = fields.String(allow_none=True, metadata={"example": "2025-03-02T07:45:10+00:00"})
    biometrics = fields.Boolean(required=True, metadata={"example": True})
    pin_set = fields.Boolean(metadata={"example": True})
    blocked = fields.Boolean(required=True, metadata={"example": False})
    blocked_at = fields.String(allow_none=True)


class UnblockSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    password = fields.String(required=True, load_only=True, validate=validate.Length(min=1, max=1024))


@blp.route("", methods=["GET"])
@authenticated
@blp.response(200, DeviceSchema(many=True))
def list_devices():
    """The account's trusted device (at most one).

    Example answer: `[{"device_id": "6f1c…", "name": "Pixel 8", "platform": "android",
    "activated_at": "2025-03-01T09:30:00+00:00", "last_used_at": null, "biometrics": true,
    "pin_set": true, "blocked": false, "blocked_at": null}]`
    """
    caller = current_caller()
    return caller.rpc.devices.list_devices(caller.account_id)


@blp.route("/<string:device_id>", methods=["DELETE"])
@authenticated
@blp.response(204)
@blp.alt_response(404, description="No such device of yours")
def remove_device(device_id):
    """Remove the trusted device: its sessions end at once; the removal lands in the audit log.

    Example: `DELETE /api/v1/me/devices/5b0e...` with the person's bearer token → 204, no body.
    """
    caller = current_caller()
    caller.rpc.devices.remove_device(caller.account_id, device_id)
    return None


@blp.route("/<string:device_id>/unblock", methods=["POST"])
@authenticated
@blp.arguments(UnblockSchema)
@blp.response(200, DeviceSchema)
@blp.alt_response(403, description="Wrong password")
@blp.alt_response(404, description="No such device of yours")
def unblock_device(body, device_id):
    """Unblock a device blocked by wrong PINs, confirming with the account password.

    Example request: `{"password": "…"}`; answer 200 the device (`"blocked": false`).
    """
    caller = current_caller()
    return caller.rpc.devices.unblock(caller.account_id, device_id, body["password"])
