"""The person who is logged in: profile, companies, and changing the e-mail (login).

GET /me answers from two small per-process copies while the gateway feed is live, so the usual
request makes no RPC at all:
- the profile (identity): identity publishes `{"kind": "account", "data": {"account_id"}}` whenever a
  profile or e-mail changes (before its RPC answers);
- the companies with the person's role (users): users publishes `{"kind": "membership", "data":
  {"company_id", "account_id"?}}` whenever a membership changes or a company is renamed (before its RPC
  answers); a message without an account drops every copy that lists the company.
The copies are gateway.copies.Profiles and Companies (what each message drops, and why nothing stale
survives, is said there). Without the feed (KADRA_FEED_DISABLED, or not live) both services are asked
each time.
"""
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from kadra_defaults.text import EmailAddress, HumanText

from gateway import state
from gateway.api.auth import client_ip
from gateway.auth import authenticated, unauthorized
from gateway.caller import current_caller, rpc_client

blp = Blueprint("me", __name__, url_prefix="/api/v1/me", description="The logged-in person")


class MeCompanySchema(Schema):
    company_id = fields.String(required=True, metadata={"example": "0a1b2c3d4e5f60718293a4b5c6d7e8f9"})
    name = fields.String(required=True, metadata={"example": "Kowalska Sp. z o.o."})
    role = fields.String(required=True, metadata={"example": "owner"})
    second_factor_required = fields.Boolean(metadata={
        "example": False, "description": "The company requires a second factor and you have none yet: set one up "
                                         "(/me/second-factor) before its routes answer (403 "
                                         "`second_factor_setup_required` until then)."})


class MeAccountSchema(Schema):
    account_id = fields.String(required=True, metadata={"example": "9f1c2b3a4d5e6f708192a3b4c5d6e7f8"})
    email = fields.String(required=True, metadata={"example": "anna@example.pl"})
    full_name = fields.String(required=True, metadata={"example": "Anna Kowalska"})
    locale = fields.String(required=True, metadata={"example": "pl"})
    companies = fields.List(fields.Nested(MeCompanySchema), required=True)


class MeProfileSchema(Schema):
    full_name = HumanText(max_length=200, metadata={"example": "Anna Nowak"})
    locale = fields.String(validate=validate.OneOf(("pl", "en")), metadata={"example": "en"})


class MeEmailChangeSchema(Schema):
    new_email = EmailAddress(required=True, metadata={"example": "anna@nowa.pl"})
    password = fields.String(required=True, validate=validate.Length(min=1, max=4096),
                             metadata={"example": "correct horse battery staple"})


class MeEmailTokenSchema(Schema):
    token = fields.String(required=True, validate=validate.Length(min=1, max=512),
                          metadata={"example": "q3N0c1Lr...43 characters from the e-mail link"})


class MeEmailAcceptedSchema(Schema):
    detail = fields.String(metadata={"example": "Check the new address for a confirmation link."})
    detail_pl = fields.String(metadata={"example": "Sprawdź nowy adres: wysłaliśmy link potwierdzający."})


def _copies_usable() -> bool:
    """The copies count only while this app's feed is live (never with KADRA_FEED_DISABLED)."""
    feed = state.current().feed
    if not feed.enabled:
        return False
    feed.ensure_started()
    return feed.live()


def _me(account_id: str) -> dict:
    """The account (identity) and its companies (users): this process's copies, or asked at once."""
    kadra = state.current()
    cached = _copies_usable()
    account = kadra.profiles.get(account_id) if cached else None
    companies = kadra.companies.get(account_id) if cached else None
    if account is not None and companies is not None:
        return {**account, "companies": companies}
    calls, generations = [], (kadra.profiles.generation(), kadra.companies.generation())
    if account is None:
        calls.append(("identity", "get_accounts", ([account_id],), {}))
    if companies is None:
        calls.append(("users", "companies_of", (account_id,), {}))
    results = kadra.rpc.call_many(calls)
    for result in results:
        if isinstance(result, Exception):
            raise result
    answers = dict(zip((call[0] for call in calls), results))
    if "identity" in answers:
        if not answers["identity"]:
            raise unauthorized(detail="This account no longer exists.", detail_pl="To konto już nie istnieje.")
        account = answers["identity"][0]
        if cached:
            kadra.profiles.put(account_id, account, generations[0])
    if "users" in answers:
        companies = answers["users"] or []
        if cached:
            kadra.companies.put(account_id, companies, generations[1])
    return {**account, "companies": companies}


@blp.route("", methods=["GET"])
@authenticated
@blp.response(200, MeAccountSchema)
def get_me():
    """Who I am, and my companies with my role in each.

    Example answer: `{"account_id": "9f1c...", "email": "anna@example.pl", "full_name": "Anna Kowalska",
    "locale": "pl", "companies": [{"company_id": "0a1b...", "name": "Kowalska Sp. z o.o.", "role": "owner"}]}`
    """
    return _me(current_caller().account_id)


@blp.route("", methods=["PATCH"])
@authenticated
@blp.arguments(MeProfileSchema, example={"full_name": "Anna Nowak", "locale": "en"})
@blp.response(200, MeAccountSchema)
def patch_me(body):
    """Change my name or language (of the app and of the e-mails); answers like GET /me."""
    caller = current_caller()
    caller.rpc.identity.update_profile(account_id=caller.account_id, **body)
    # This worker forgets its copy at once; the others hear it from the feed.
    state.current().profiles.on_change({"account_id": caller.account_id})
    return _me(caller.account_id)


@blp.route("/email", methods=["POST"])
@authenticated
@blp.arguments(MeEmailChangeSchema, example={"new_email": "anna@nowa.pl", "password": "correct horse battery staple"})
@blp.response(202, MeEmailAcceptedSchema)
@blp.alt_response(422, description="Wrong password, or a bad address")
@blp.alt_response(429, description="Too many wrong passwords, or too many e-mail changes today (Retry-After)")
def change_email(body):
    """Change my e-mail (= login): a confirmation link goes to the new address, a notice with a
    "this wasn't me" link to the old one. Nothing changes until the link is opened."""
    caller = current_caller()
    caller.rpc.identity.request_email_change(account_id=caller.account_id, new_email=body["new_email"],
                                             password=body["password"], client_ip=client_ip())
    return {"detail": "Check the new address for a confirmation link.",
            "detail_pl": "Sprawdź nową skrzynkę: wysłaliśmy link potwierdzający."}


@blp.route("/email/confirm", methods=["POST"])
@blp.arguments(MeEmailTokenSchema, example={"token": "q3N0c1Lr..."})
@blp.response(204)
@blp.alt_response(400, description="The token is invalid, used or expired")
def confirm_email(body):
    """Confirm the new e-mail address with the token from the link sent to it."""
    rpc_client().identity.confirm_email_change(token=body["token"])


@blp.route("/email/revert", methods=["POST"])
@blp.arguments(MeEmailTokenSchema, example={"token": "q3N0c1Lr..."})
@blp.response(204)
@blp.alt_response(400, description="The token is invalid, used or expired")
@blp.alt_response(503, description="The devices service did not answer: nothing changed, the link still works; retry")
def revert_email(body):
    """"This wasn't me": restore the old address, end every session of the account and remove its trusted
    device. A 503 changes nothing: retry."""
    rpc_client().identity.revert_email_change(token=body["token"])
