"""Companies and their Users section: company data, members, roles, permission checks, the audit log.

Every route checks, here and again in the users service, that the caller is a member of the
company whose role has the permission; a non-member gets 404 whatever the company.
"""
from flask import current_app, request
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from kadra_defaults.contracts import service_tokens
from kadra_defaults.errors import field_error
from kadra_defaults.text import EmailAddress, HumanText, JsonBoolean

from gateway import permissions
from gateway.api.roles import known_permissions
from gateway.auth import authenticated, bearer_token, current_principal
from gateway.caller import current_caller, current_member
from gateway.errors import Problem

ASSIGNABLE_ROLES = ("employee", "manager", "warehouse")
NAME_MAX = 200

blp = Blueprint("companies", __name__, url_prefix="/api/v1",
                description="Companies, their members and roles, permission checks and the audit log")


def locale() -> str:
    return "en" if request.accept_languages.best_match(["pl", "en"]) == "en" else "pl"


# schemas


class CompanyCreateSchema(Schema):
    name = HumanText(required=True, max_length=NAME_MAX, metadata={"example": "Majama Michał Zając"})


class CompanyIdSchema(Schema):
    company_id = fields.String(metadata={"example": "6f1c0e8a9b0d4a52b6f1e0c3d2a1b4c5"})


class AddressSchema(Schema):
    street = HumanText(required=True, max_length=200, metadata={"example": "ul. Polna 1"})
    postal_code = fields.String(required=True, validate=validate.Regexp(r"^[0-9]{2}-[0-9]{3}$"),
                                metadata={"example": "00-001"})
    city = HumanText(required=True, max_length=100, metadata={"example": "Warszawa"})
    country = HumanText(min_length=2, max_length=2, metadata={"example": "PL"})


class CompanySchema(Schema):
    company_id = fields.String()
    name = fields.String(metadata={"example": "Majama Michał Zając"})
    nip = fields.String(allow_none=True, metadata={"example": "1234563218"})
    regon = fields.String(allow_none=True, metadata={"example": "123456785"})
    address = fields.Nested(AddressSchema, allow_none=True)
    contact_email = fields.String(allow_none=True, metadata={"example": "biuro@majafirma.pl"})
    contact_phone = fields.String(allow_none=True, metadata={"example": "+48 600 100 200"})
    second_factor_required = fields.Boolean(metadata={
        "example": False, "description": "Every member needs a second factor (the owner sets it: "
                                         "PUT …/second-factor-policy)"})


class CompanyPatchSchema(Schema):
    """Any of the fields; null clears an optional one. NIP and REGON are checked by their checksums."""

    name = HumanText(max_length=NAME_MAX)
    nip = fields.String(allow_none=True, validate=validate.Length(max=20))
    regon = fields.String(allow_none=True, validate=validate.Length(max=20))
    address = fields.Nested(AddressSchema, allow_none=True)
    contact_email = EmailAddress(allow_none=True)
    contact_phone = fields.String(allow_none=True, validate=validate.Length(max=30))


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


class SecondFactorPolicySchema(Schema):
    required = JsonBoolean(required=True, metadata={"example": True})


class SecondFactorPolicyAnswerSchema(Schema):
    required = fields.Boolean(metadata={"example": True})
    changed_at = fields.String(metadata={"example": "2025-03-01T10:00:00+00:00"})


class AllowedSchema(Schema):
    allowed = fields.Boolean(metadata={"example": True})


class AuditQuerySchema(Schema):
    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=100000))
    per_page = fields.Integer(load_default=50, validate=validate.Range(min=1, max=200))


class AuditEntrySchema(Schema):
    entry_id = fields.String()
    action = fields.String(metadata={"example": "role_changed", "description": (
        "What happened: in the company (company_created, company_updated, member_invited, invitation_resent, "
        "invitation_revoked, member_joined, role_changed, member_removed, ownership_transfer_requested, "
        "ownership_transferred, second_factor_policy_changed) or to a member's access, logged in each of their "
        "companies (device_paired, device_removed, device_blocked, device_unblocked, email_changed, "
        "email_change_reverted, password_changed, second_factor_changed, login_locked_out).")})
    at = fields.String(metadata={"example": "2025-03-01T10:00:00+00:00"})
    actor_account_id = fields.String(allow_none=True)
    actor_name = fields.String(allow_none=True, metadata={"example": "Jan Kowalski"})
    subject_account_id = fields.String(allow_none=True)
    subject_name = fields.String(allow_none=True)
    subject_email = fields.String(allow_none=True)
    details = fields.Dict(metadata={"example": {"from": "warehouse", "to": "employee"}})


class AuditPageSchema(Schema):
    items = fields.List(fields.Nested(AuditEntrySchema))
    page = fields.Integer()
    per_page = fields.Integer()
    total = fields.Integer()


# routes


@blp.route("/companies", methods=["POST"])
@authenticated
@blp.arguments(CompanyCreateSchema)
@blp.response(201, CompanyIdSchema)
@blp.alt_response(401, description="No valid access token")
@blp.alt_response(422, description="A field is wrong (named in `errors`)")
@blp.alt_response(429, description="Too many companies created by this account today (Retry-After)")
def create_company(body):
    """Create a company; the caller is its owner.

    Example: `{"name": "Majama Michał Zając"}` → 201 `{"company_id": "6f1c0e8a..."}`
    """
    caller = current_caller()
    answer = caller.rpc.users.create_company(caller.account_id, body["name"])
    permissions.forget(answer["company_id"], caller.account_id)
    return {"company_id": answer["company_id"]}


@blp.route("/companies/<string:company_id>", methods=["GET"])
@authenticated
@blp.response(200, CompanySchema)
@blp.alt_response(404, description="No such company, or not a member")
def get_company(company_id):
    """The company's name, registration and contact data ("Nazwa, dane rejestrowe i kontaktowe").

    Example answer: `{"company_id": "6f1c...", "name": "Majama Michał Zając", "nip": "1234563218",
    "regon": null, "address": {"street": "ul. Polna 1", "postal_code": "00-001", "city": "Warszawa",
    "country": "PL"}, "contact_email": "biuro@majafirma.pl", "contact_phone": "+48 600 100 200"}`
    """
    caller = current_member(company_id, "company.read")
    return caller.rpc.users.get_company(company_id, caller.account_id)


@blp.route("/companies/<string:company_id>", methods=["PATCH"])
@authenticated
@blp.arguments(CompanyPatchSchema)
@blp.response(200, CompanySchema)
@blp.alt_response(403, description="The role lacks company.settings")
@blp.alt_response(404, description="No such company, or not a member")
@blp.alt_response(422, description="A field is wrong (named in `errors`), e.g. a NIP with a bad checksum")
def update_company(body, company_id):
    """Change the company's data (needs `company.settings`); every change lands in the audit log.

    Example: `{"nip": "123-456-32-18", "contact_phone": "+48 600 100 200"}` → 200 the company
    """
    caller = current_member(company_id, "company.settings")
    if not body:
        raise Problem("validation_failed", errors=[field_error("body", "Give at least one field to change.",
                                                               "Podaj co najmniej jedno pole do zmiany.")])
    return caller.rpc.users.update_company(company_id, caller.account_id, body)


@blp.route("/companies/<string:company_id>/second-factor-policy", methods=["PUT"])
@authenticated
@blp.arguments(SecondFactorPolicySchema)
@blp.response(200, SecondFactorPolicyAnswerSchema)
@blp.alt_response(403, description="Only the owner sets it (`forbidden`)")
@blp.alt_response(404, description="No such company, or not a member")
@blp.alt_response(409, description="The owner has no second factor on yet (`errors` names `second_factor`)")
@blp.alt_response(422, description="`required` is not a JSON boolean (the field is named)")
def set_second_factor_policy(body, company_id):
    """Require a second factor of every member (the owner only, who must have one on).

    While it is on, a member without a second factor gets 403 `second_factor_setup_required` (naming the company
    in `company_name`) on every route of this company, on every gateway within about a second, until they set
    one up (`/me`, `/me/second-factor/*`, logout and the list of companies keep working); turning it on e-mails
    each of them. Each change is an audit entry (`second_factor_policy_changed`).

    Example: `{"required": true}` → 200 `{"required": true, "changed_at": "2025-03-01T10:00:00+00:00"}`
    """
    caller = current_member(company_id)
    try:
        return caller.rpc.users.set_second_factor_policy(company_id, caller.account_id, body["required"])
    finally:
        permissions.forget(company_id)


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


@blp.route("/companies/<string:company_id>/permissions/check", methods=["GET"])
@blp.doc(parameters=[
    {"in": "query", "name": "account_id", "required": True, "schema": {"type": "string", "maxLength": 64}},
    {"in": "query", "name": "permission", "required": True, "schema": {"type": "string"},
     "example": "invoices.write"}],
    security=[{"bearerAuth": []}])
@blp.response(200, AllowedSchema)
@blp.alt_response(401, description="No valid access token or service token")
@blp.alt_response(404, description="No such company, or the caller is not a member")
@blp.alt_response(422, description="Unknown permission or missing account_id (the field is named)")
def check_permission(company_id):
    """May person `account_id` do `permission` in this company? For the product's other apps.

    The caller is a member of the company (any role) with an access token, or an app with a
    service token (`Authorization: Bearer <JWT>`, issued by `kadra-service-token --name <app>`).
    Answered from the gateway's membership cache (kept current by the users service's feed).

    Example: `GET /api/v1/companies/6f1c.../permissions/check?account_id=b2...&permission=invoices.write`
    → 200 `{"allowed": true}`
    """
    # The hot path of the product's other apps: checked by hand, no schema machinery per request.
    token = bearer_token()
    if token and service_tokens.is_service_token(token):
        if permissions.service_caller(token) is None:
            raise Problem("unauthorized", detail="The service token is not valid.",
                          detail_pl="Token usługi jest nieprawidłowy.", headers={"WWW-Authenticate": "Bearer"})
        if not permissions.COMPANY_ID.match(company_id):
            raise permissions.not_found()
    else:
        principal = permissions.fast_principal()
        permissions.require(company_id, principal.account_id)
    account_id, permission = _check_query()
    allowed = permissions.allowed(company_id, account_id, permission)
    # A Response passes flask-smorest untouched: no schema dump on the hot path.
    return current_app.response_class(_ALLOWED[allowed], mimetype="application/json")


_ALLOWED = {True: b'{"allowed": true}', False: b'{"allowed": false}'}


def _check_query() -> tuple[str, str]:
    """account_id and permission from the query string, each named when wrong."""
    problems = []
    account_id = request.args.get("account_id")
    permission = request.args.get("permission")
    if not account_id:
        problems.append(field_error("account_id", "Missing data for required field."))
    elif len(account_id) > 64:
        problems.append(field_error("account_id", "Longer than maximum length 64.", "Za długie (najwyżej 64)."))
    if not permission:
        problems.append(field_error("permission", "Missing data for required field."))
    elif permission not in known_permissions():
        problems.append(field_error("permission", "Unknown permission.", "Nieznane uprawnienie."))
    if problems:
        raise Problem("validation_failed", errors=problems)
    return account_id, permission


@blp.route("/companies/<string:company_id>/audit", methods=["GET"])
@authenticated
@blp.arguments(AuditQuerySchema, location="query")
@blp.response(200, AuditPageSchema)
@blp.alt_response(403, description="Only the owner and managers read the audit log")
@blp.alt_response(404, description="No such company, or not a member")
def audit_log(query, company_id):
    """The company's log of access changes, newest first, paged (`?page=1&per_page=50`).

    Example answer: `{"items": [{"entry_id": "...", "action": "role_changed", "at": "2025-03-01T10:00:00+00:00",
    "actor_account_id": "a1...", "actor_name": "Jan Kowalski", "subject_account_id": "b2...",
    "subject_name": "Anna Nowak", "subject_email": "anna@majafirma.pl",
    "details": {"from": "warehouse", "to": "employee"}}], "page": 1, "per_page": 50, "total": 7}`
    """
    caller = current_member(company_id, "audit.read")
    return caller.rpc.users.audit_log(company_id, caller.account_id, query["page"], query["per_page"])
