"""A company's Users section: the members' table, inviting, changing a role, removing (or leaving).

Every route checks, here and again in the users service, that the caller is a member of the company whose
role has the permission; a non-member gets 404 whatever the company. A change takes effect on the member's
very next request: the gateway forgets its copy of their permissions at once (gateway.permissions).
"""
from flask import request
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from kadra_defaults.text import EmailAddress

from gateway import permissions
from gateway.auth import authenticated, current_principal
from gateway.caller import current_member

ASSIGNABLE_ROLES = ("employee", "manager", "warehouse")

blp = Blueprint("members", __name__, url_prefix="/api/v1",
                description="A company's members and their roles (the Users section)")


def locale() -> str:
    return "en" if request.accept_languages.best_match(["pl", "en"]) == "en" else "pl"


# schemas


class MemberRowSchema(Schema):
    no = fields.Integer(metadata={"example": 1})
    account_id = fields.String(allow_none=True)
    full_name = fields.String(allow_none=True, metadata={"example": "Jan Kowalski"})
    email = fields.String(allow_none=True, metadata={"example": "jan.kowalski@majafirma.pl"})
    role = fields.String(metadata={"example": "owner"})
    role_label_pl = fields.String(metadata={"example": "właściciel / prezes"})
    role_label_en = fields.String(metadata={"example": "owner / president"})
    status = fields.String(metadata={"example": "active"})
    invitation_id = fields.String(allow_none=True)
    second_factor = fields.Boolean(allow_none=True, metadata={
        "example": True, "description": "The member has a second factor on (null for an invitation)"})


class InviteSchema(Schema):
    email = EmailAddress(required=True,
                         metadata={"example": "magazyn@majafirma.pl"})
    role = fields.String(required=True, validate=validate.OneOf(ASSIGNABLE_ROLES), metadata={"example": "warehouse"})
    locale = fields.String(validate=validate.OneOf(("pl", "en")),
                           metadata={"description": "language of the invitation e-mail (default: Accept-Language)"})


class InvitationCreatedSchema(Schema):
    invitation_id = fields.String()
    expires_at = fields.String()


class RoleChangeSchema(Schema):
    role = fields.String(required=True, validate=validate.OneOf(ASSIGNABLE_ROLES), metadata={"example": "employee"})


class MemberRoleSchema(Schema):
    account_id = fields.String()
    role = fields.String(metadata={"example": "employee"})


# routes


@blp.route("/companies/<string:company_id>/users", methods=["GET"])
@authenticated
@blp.response(200, MemberRowSchema(many=True))
@blp.alt_response(403, description="The role lacks users.read")
@blp.alt_response(404, description="No such company, or not a member")
def list_users(company_id):
    """The guide's table: No., full name, e-mail, role, status (`active` or `invited`), owner first.

    Example answer: `[{"no": 1, "account_id": "a1...", "full_name": "Jan Kowalski",
    "email": "jan.kowalski@majafirma.pl", "role": "owner", "role_label_pl": "właściciel / prezes",
    "role_label_en": "owner / president", "status": "active", "invitation_id": null}]`
    """
    caller = current_member(company_id, "users.read")
    return caller.rpc.users.list_members(company_id, caller.account_id)


@blp.route("/companies/<string:company_id>/users", methods=["POST"])
@authenticated
@blp.arguments(InviteSchema)
@blp.response(201, InvitationCreatedSchema)
@blp.alt_response(403, description="The role lacks users.manage or may not give this role")
@blp.alt_response(404, description="No such company, or not a member")
@blp.alt_response(409, description="Already a member, or an invitation is already pending")
@blp.alt_response(429, description="Too many invitations today from this person or this company (Retry-After)")
@blp.alt_response(422, description="A field is wrong (named in `errors`)")
def add_user(body, company_id):
    """Add a user by e-mail with one role: sends the invitation e-mail (link valid 7 days).

    Example: `{"email": "magazyn@majafirma.pl", "role": "warehouse"}` → 201
    `{"invitation_id": "9b2e...", "expires_at": "2025-03-08T10:00:00+00:00"}`
    """
    caller = current_member(company_id, "users.manage")
    answer = caller.rpc.users.invite(company_id, caller.account_id, body["email"], body["role"],
                                     body.get("locale") or locale())
    return {"invitation_id": answer["invitation_id"], "expires_at": answer["expires_at"]}


@blp.route("/companies/<string:company_id>/users/<string:account_id>", methods=["PATCH"])
@authenticated
@blp.arguments(RoleChangeSchema)
@blp.response(200, MemberRoleSchema)
@blp.alt_response(403, description="The role lacks users.manage, or may not manage this member or role")
@blp.alt_response(404, description="No such company or member")
@blp.alt_response(409, description="The owner's role changes only by an ownership transfer")
@blp.alt_response(422, description="Unknown role (the field is named)")
def change_role(body, company_id, account_id):
    """Change a member's role; takes effect on the member's very next request.

    Example: `{"role": "employee"}` → 200 `{"account_id": "b2...", "role": "employee"}`
    """
    caller = current_member(company_id, "users.manage")
    try:
        return caller.rpc.users.change_role(company_id, caller.account_id, account_id, body["role"])
    finally:
        permissions.forget(company_id, account_id)


@blp.route("/companies/<string:company_id>/users/<string:account_id>", methods=["DELETE"])
@authenticated
@blp.response(204)
@blp.alt_response(403, description="The role lacks users.manage over this member")
@blp.alt_response(404, description="No such company or member")
@blp.alt_response(409, description="The owner cannot be removed (nor leave without transferring)")
def remove_user(company_id, account_id):
    """Remove a member (or leave the company yourself); takes effect on their very next request.

    Example: `DELETE /api/v1/companies/6f1c.../users/b2...` → 204
    """
    leaving = account_id == current_principal().account_id  # leaving needs no permission
    caller = current_member(company_id, None if leaving else "users.manage")
    try:
        caller.rpc.users.remove_member(company_id, caller.account_id, account_id)
    finally:
        permissions.forget(company_id, account_id)
    return None
