"""Companies: creating one, its data (name, registration, contact) and its second-factor policy.

The Users section lives beside it: members and roles (gateway.api.members), permission checks for the
product's other apps (gateway.api.permission_check), the audit log (gateway.api.audit).

Every route checks, here and again in the users service, that the caller is a member of the
company whose role has the permission; a non-member gets 404 whatever the company.
"""
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from kadra_defaults.errors import field_error
from kadra_defaults.text import EmailAddress, HumanText, JsonBoolean

from gateway import permissions
from gateway.auth import authenticated
from gateway.caller import current_caller, current_member
from gateway.errors import Problem

NAME_MAX = 200

blp = Blueprint("companies", __name__, url_prefix="/api/v1",
                description="Companies: their data and their second-factor policy")


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


class SecondFactorPolicySchema(Schema):
    required = JsonBoolean(required=True, metadata={"example": True})


class SecondFactorPolicyAnswerSchema(Schema):
    required = fields.Boolean(metadata={"example": True})
    changed_at = fields.String(metadata={"example": "2025-03-01T10:00:00+00:00"})


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
