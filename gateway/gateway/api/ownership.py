"""Ownership transfer: the owner offers the company to a member, who accepts by the e-mailed link."""
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from gateway import permissions
from gateway.auth import authenticated
from gateway.caller import current_caller, current_member

blp = Blueprint("ownership", __name__, url_prefix="/api/v1", description="Moving a company's ownership")


class TransferSchema(Schema):
    account_id = fields.String(required=True, validate=validate.Length(min=1, max=64),
                               metadata={"example": "b2c3..."})


class TransferRequestedSchema(Schema):
    transfer_id = fields.String()
    expires_at = fields.String()


class OwnershipAcceptSchema(Schema):
    token = fields.String(required=True, validate=validate.Length(min=1, max=200))


class OwnershipAcceptedSchema(Schema):
    company_id = fields.String()
    role = fields.String(metadata={"example": "owner"})


@blp.route("/companies/<string:company_id>/ownership/transfer", methods=["POST"])
@authenticated
@blp.arguments(TransferSchema)
@blp.response(202, TransferRequestedSchema)
@blp.alt_response(403, description="Only the owner transfers ownership")
@blp.alt_response(404, description="No such company, or not a member")
@blp.alt_response(422, description="account_id is not another member of the company")
def request_transfer(body, company_id):
    """Offer the company to another member; they get an e-mail with a link (valid 7 days).

    Nothing changes until they accept; a newer offer replaces an older one.
    Example: `{"account_id": "b2c3..."}` → 202 `{"transfer_id": "...", "expires_at": "..."}`
    """
    caller = current_member(company_id, "ownership.transfer")
    answer = caller.rpc.users.request_ownership_transfer(company_id, caller.account_id, body["account_id"])
    return {"transfer_id": answer["transfer_id"], "expires_at": answer["expires_at"]}


@blp.route("/ownership/accept", methods=["POST"])
@authenticated
@blp.arguments(OwnershipAcceptSchema)
@blp.response(200, OwnershipAcceptedSchema)
@blp.alt_response(400, description="The link is unknown, used, expired, replaced or for someone else")
@blp.alt_response(409, description="Ownership changed meanwhile, or you are no longer a member")
def accept_transfer(body):
    """Become the owner (logged in as the member the offer was for); the old owner becomes `manager`.

    Example: `{"token": "Zx8..."}` → 200 `{"company_id": "6f1c...", "role": "owner"}`
    """
    caller = current_caller()
    answer = caller.rpc.users.accept_ownership(body["token"], caller.account_id)
    permissions.forget(answer["company_id"])
    return answer
