"""Trusted mobile devices: activation, PIN, biometrics, challenge-response login."""
from flask import current_app
from flask_smorest import Blueprint
from marshmallow import Schema, fields

REMOTE_ERRORS = {"devices.exceptions.DeviceNotFound": "not_found"}

blp = Blueprint("devices", __name__, url_prefix="/api/v1/devices", description="The trusted mobile device")


class ChallengeSchema(Schema):
    challenge = fields.String(required=True, metadata={"example": "q3N0...Yw"})
    expires_in = fields.Integer(required=True, metadata={"example": 120})


@blp.route("/<string:device_id>/challenge", methods=["POST"])
@blp.response(200, ChallengeSchema)
@blp.alt_response(404, description="No such device")
def issue_challenge(device_id):
    """A single-use challenge (valid 2 minutes) for the device to sign.

    Example answer: `{"challenge": "q3N0...Yw", "expires_in": 120}`
    """
    return current_app.extensions["kadra_rpc"].devices.issue_challenge(device_id)
