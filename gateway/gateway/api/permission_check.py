"""The permission check for the product's other apps: may person X do Y in this company?

The hot path: answered from the gateway's membership copies (gateway.permissions), checked by hand, with no
schema machinery per request.
"""
from flask import current_app, request
from flask_smorest import Blueprint
from marshmallow import Schema, fields

from kadra_defaults.contracts import service_tokens
from kadra_defaults.errors import field_error

from gateway import permissions
from gateway.api.roles import known_permissions
from gateway.auth import bearer_token
from gateway.errors import Problem

blp = Blueprint("permission_check", __name__, url_prefix="/api/v1",
                description="Permission checks for the product's other apps")


class AllowedSchema(Schema):
    allowed = fields.Boolean(metadata={"example": True})



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
