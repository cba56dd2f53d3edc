"""Sign-up: an account and its first company, whose owner it is."""
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from kadra_defaults.text import EmailAddress, HumanText

from gateway.caller import rpc_client

NAME_MAX = 200

blp = Blueprint("accounts", __name__, url_prefix="/api/v1/accounts", description="Sign-up")


class AccountSignUpSchema(Schema):
    email = EmailAddress(required=True, metadata={"example": "anna@example.pl"})
    password = fields.String(required=True, validate=validate.Length(min=1, max=4096),
                             metadata={"example": "correct horse battery staple"})
    full_name = HumanText(required=True, max_length=NAME_MAX, metadata={"example": "Anna Kowalska"})
    company_name = HumanText(required=True, max_length=NAME_MAX, metadata={"example": "Kowalska Sp. z o.o."})
    locale = fields.String(load_default="pl", validate=validate.OneOf(("pl", "en")), metadata={"example": "pl"})


class AccountSignedUpSchema(Schema):
    account_id = fields.String(required=True, metadata={"example": "9f1c2b3a4d5e6f708192a3b4c5d6e7f8"})
    company_id = fields.String(required=True, metadata={"example": "0a1b2c3d4e5f60718293a4b5c6d7e8f9"})


@blp.route("", methods=["POST"])
@blp.arguments(AccountSignUpSchema, example={"email": "anna@example.pl", "password": "correct horse battery staple",
                                      "full_name": "Anna Kowalska", "company_name": "Kowalska Sp. z o.o.",
                                      "locale": "pl"})
@blp.response(201, AccountSignedUpSchema)
@blp.alt_response(422, description="A field is invalid; a weak password is refused with the reason")
def sign_up(body):
    """Sign up: the person becomes the owner of a new company.

    All or nothing: if the company can't be made, no account is left behind, and the same
    request again succeeds. The answer never says whether the address already had an account.
    Example answer: `{"account_id": "9f1c...", "company_id": "0a1b..."}`
    """
    return rpc_client().identity.sign_up(
        email=body["email"], password=body["password"], full_name=body["full_name"],
        company_name=body["company_name"], locale=body["locale"])
