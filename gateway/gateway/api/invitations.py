"""Invitations: the pending list with delivery status, resend, revoke, and accepting a link."""
from flask import request
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from kadra_defaults.errors import field_error
from kadra_defaults.text import HumanText

from gateway import permissions, rpc as rpc_errors
from gateway.auth import authenticate, authenticated, bearer_token
from gateway.caller import current_member, rpc_client
from gateway.errors import Problem, error_code

blp = Blueprint("invitations", __name__, url_prefix="/api/v1", description="Invitations to a company")


class DeliverySchema(Schema):
    status = fields.String(metadata={"example": "sent"})
    attempts = fields.Integer(allow_none=True)
    last_error = fields.String(allow_none=True)
    sent_at = fields.String(allow_none=True)


class InvitationSchema(Schema):
    invitation_id = fields.String()
    email = fields.String(metadata={"example": "magazyn@majafirma.pl"})
    role = fields.String(metadata={"example": "warehouse"})
    invited_by = fields.String()
    created_at = fields.String()
    sent_at = fields.String()
    expires_at = fields.String()
    expired = fields.Boolean()
    delivery = fields.Nested(DeliverySchema)


class ResentSchema(Schema):
    invitation_id = fields.String()
    expires_at = fields.String()


class AcceptSchema(Schema):
    token = fields.String(required=True, validate=validate.Length(min=1, max=200))
    password = fields.String(validate=validate.Length(min=1, max=1024), load_only=True)
    full_name = HumanText(max_length=200)
    locale = fields.String(validate=validate.OneOf(("pl", "en")))


class AcceptedSchema(Schema):
    company_id = fields.String()
    role = fields.String(metadata={"example": "warehouse"})
    account_id = fields.String()


@blp.route("/companies/<string:company_id>/invitations", methods=["GET"])
@authenticated
@blp.response(200, InvitationSchema(many=True))
@blp.alt_response(403, description="The role lacks users.read")
@blp.alt_response(404, description="No such company, or not a member")
def list_invitations(company_id):
    """Pending invitations with the delivery status of their e-mail (`queued`, `sent`, `retrying`, `failed`).

    Example answer: `[{"invitation_id": "9b2e...", "email": "magazyn@majafirma.pl", "role": "warehouse",
    "expires_at": "2025-03-08T10:00:00+00:00", "expired": false,
    "delivery": {"status": "sent", "attempts": 1, "last_error": null, "sent_at": "2025-03-01T10:00:01+00:00"}}]`
    """
    caller = current_member(company_id, "users.read")
    return caller.rpc.users.list_invitations(company_id, caller.account_id)


@blp.route("/companies/<string:company_id>/invitations/<string:invitation_id>/resend", methods=["POST"])
@authenticated
@blp.response(202, ResentSchema)
@blp.alt_response(403, description="The role lacks users.manage")
@blp.alt_response(404, description="No such company or pending invitation")
@blp.alt_response(429, description="Too many invitations today from this person or this company (Retry-After)")
def resend_invitation(company_id, invitation_id):
    """Send the invitation again with a new link (valid 7 days); the old link stops working.

    Example: `POST .../invitations/9b2e.../resend` → 202 `{"invitation_id": "9b2e...", "expires_at": "..."}`
    """
    caller = current_member(company_id, "users.manage")
    answer = caller.rpc.users.resend_invitation(company_id, caller.account_id, invitation_id)
    return {"invitation_id": answer["invitation_id"], "expires_at": answer["expires_at"]}


@blp.route("/companies/<string:company_id>/invitations/<string:invitation_id>", methods=["DELETE"])
@authenticated
@blp.response(204)
@blp.alt_response(403, description="The role lacks users.manage")
@blp.alt_response(404, description="No such company or pending invitation")
def revoke_invitation(company_id, invitation_id):
    """Withdraw a pending invitation; its link stops working.

    Example: `DELETE .../invitations/9b2e...` → 204
    """
    caller = current_member(company_id, "users.manage")
    caller.rpc.users.revoke_invitation(company_id, caller.account_id, invitation_id)
    return None


@blp.route("/invitations/accept", methods=["POST"])
@blp.arguments(AcceptSchema)
@blp.response(200, AcceptedSchema)
@blp.alt_response(400, description="The link is unknown, used, expired, revoked or replaced (`reason`)")
@blp.alt_response(401, description="Wrong password for the existing account")
@blp.alt_response(422, description="Password or full name missing or not acceptable (field named)")
def accept_invitation(body):
    """Accept an invitation with the token from the link's fragment (`#token=...`).

    - logged in (bearer) as the invited address: just joins;
    - the address already has an account: give its `password` (= log in);
    - a new person: give `password` and `full_name` (the account is created with identity's password rules).

    Example: `{"token": "Zx8...", "password": "dobre-haslo-2025", "full_name": "Anna Nowak"}` → 200
    `{"company_id": "6f1c...", "role": "warehouse", "account_id": "b2..."}`
    """
    users = rpc_client().users
    invitation = users.invitation_for_token(body["token"])
    account_id = _accepting_account(invitation, body)
    answer = users.accept_invitation(body["token"], account_id)
    permissions.forget(answer["company_id"], account_id)
    return {"company_id": answer["company_id"], "role": answer["role"], "account_id": account_id}


def _accepting_account(invitation: dict, body: dict) -> str:
    """Who accepts: the logged-in person, the invited address's account (password), or a new account."""
    if bearer_token():
        return authenticate().account_id
    identity = rpc_client().identity
    email = invitation["email"]
    if not body.get("password"):
        raise Problem("validation_failed", detail="Log in, or give your password, to accept the invitation.",
                      detail_pl="Zaloguj się lub podaj hasło, aby przyjąć zaproszenie.",
                      errors=[field_error("password", "A password is required.", "Hasło jest wymagane.")])
    client_ip = request.remote_addr or ""
    if identity.find_account(email):
        return identity.verify_credentials(email, body["password"], client_ip)["account_id"]
    if not body.get("full_name"):
        raise Problem("validation_failed", errors=[field_error("full_name", "Your full name is required.",
                                                               "Imię i nazwisko są wymagane.")])
    try:
        created = identity.create_invited_account(email, body["password"], body["full_name"],
                                                  body.get("locale") or "pl")
    except rpc_errors.RemoteError as error:
        if error_code(error) != "email_taken":
            raise
        # Created a moment ago by another request: this is now an existing account.
        return identity.verify_credentials(email, body["password"], client_ip)["account_id"]
    return created["account_id"]
