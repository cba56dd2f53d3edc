"""Sign-up by e-mailed link: ask (the same answer for every address), then confirm with the link's token."""
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from kadra_defaults.text import EmailAddress, HumanText

from gateway.api.auth import client_ip
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


class AccountSignUpAcceptedSchema(Schema):
    detail = fields.String(metadata={"example": "Check your e-mail: we have sent the next step to the address ..."})
    detail_pl = fields.String(metadata={"example": "Sprawdź pocztę: na podany adres wysłaliśmy wiadomość ..."})


class AccountConfirmSchema(Schema):
    token = fields.String(required=True, validate=validate.Length(min=1, max=512),
                          metadata={"example": "q3N0c1Lr...43 characters from the e-mail link"})


class AccountConfirmedSchema(Schema):
    account_id = fields.String(required=True, metadata={"example": "9f1c2b3a4d5e6f708192a3b4c5d6e7f8"})
    company_id = fields.String(required=True, metadata={"example": "0a1b2c3d4e5f60718293a4b5c6d7e8f9"})


SIGN_UP_ANSWER = {
    "detail": "Check your e-mail: we have sent the next step to the address you gave. To create the account, "
              "open the confirmation link in that message (valid 24 hours).",
    "detail_pl": "Sprawdź pocztę: na podany adres wysłaliśmy wiadomość z dalszymi krokami. Aby założyć konto, "
                 "otwórz link potwierdzający z tej wiadomości (ważny 24 godziny).",
}


@blp.route("", methods=["POST"])
@blp.arguments(AccountSignUpSchema, example={"email": "anna@example.pl", "password": "correct horse battery staple",
                                      "full_name": "Anna Kowalska", "company_name": "Kowalska Sp. z o.o.",
                                      "locale": "pl"})
@blp.response(202, AccountSignUpAcceptedSchema)
@blp.alt_response(422, description="A field is invalid; a weak password is refused with the reason")
@blp.alt_response(429, description="Too many sign-ups from this client address: wait `Retry-After` seconds")
def sign_up(body):
    """Sign up: a link to confirm the address goes to it; following it makes the account and its company.

    Always 202 with the same body, whether or not the address has an account, so the answer never
    tells who has one: a new address gets the confirmation link (`/app/confirm-account#token=…`,
    single use, valid 24 hours), an address with an account gets a notice to its owner (log in or
    reset the password) instead. Nothing can log in until the link is followed; several sign-ups
    for one address may wait, and the first confirmed makes the account. At most 3 such e-mails
    go to one address an hour; sign-ups from one client address are limited too (429).
    Example answer: `{"detail": "Check your e-mail: …", "detail_pl": "Sprawdź pocztę: …"}`
    """
    rpc_client().identity.sign_up(
        email=body["email"], password=body["password"], full_name=body["full_name"],
        company_name=body["company_name"], locale=body["locale"], client_ip=client_ip())
    return SIGN_UP_ANSWER


@blp.route("/confirm", methods=["POST"])
@blp.arguments(AccountConfirmSchema, example={"token": "q3N0c1Lr..."})
@blp.response(200, AccountConfirmedSchema)
@blp.alt_response(400, description="The token is invalid, used or expired, or the address has an account by now")
@blp.alt_response(503, description="Creating the company did not finish: the same request again finishes it")
def confirm(body):
    """Confirm a sign-up with the token from the e-mailed link: the account and its company now exist.

    The person is the company's owner and can log in. All or nothing: if the company can't be
    made yet (503), the same request again finishes the same account and company.
    Example answer: `{"account_id": "9f1c...", "company_id": "0a1b..."}`
    """
    return rpc_client().identity.confirm_sign_up(token=body["token"])
