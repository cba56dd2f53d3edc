"""The OpenAPI document's error side, made from the same table the gateway answers with.

flask-smorest builds the document from the marshmallow schemas of every
route. This module makes its errors true to what the gateway sends: every
error is `application/problem+json` with the Problem schema below (not
flask-smorest's own JSON error), and every route that needs a token
documents its 401.
"""
import copy
import http

from flask_smorest import Api
from marshmallow import INCLUDE, Schema, fields

PROBLEM_JSON = "application/problem+json"


class FieldErrorSchema(Schema):
    field = fields.String(required=True, metadata={"example": "email"})
    message = fields.String(required=True, metadata={"example": "Not a valid email address."})
    message_pl = fields.String(required=True, metadata={"example": "Nieprawidłowy adres e-mail."})


class ProblemSchema(Schema):
    """RFC 9457 problem details, in English and Polish; routes add extension members (RFC 9457 §3.2)."""

    class Meta:
        unknown = INCLUDE  # documented as additionalProperties: true

    type = fields.String(required=True, metadata={"example": "urn:kadra:problem:validation_failed"})
    title = fields.String(required=True, metadata={"example": "Some fields are invalid."})
    title_pl = fields.String(required=True, metadata={"example": "Niektóre pola są niepoprawne."})
    status = fields.Integer(required=True, metadata={"example": 422})
    code = fields.String(required=True, metadata={"example": "validation_failed"})
    detail = fields.String(required=True, metadata={"example": "Some fields are invalid."})
    detail_pl = fields.String(required=True, metadata={"example": "Niektóre pola są niepoprawne."})
    request_id = fields.String(metadata={"example": "3f2c9a0e5b7d4c1a9e8f7a6b5c4d3e2f"})
    errors = fields.List(fields.Nested(FieldErrorSchema))


class KadraApi(Api):
    """flask-smorest's Api with errors documented as problem+json."""

    ERROR_SCHEMA = ProblemSchema

    def _register_responses(self):
        for status in http.HTTPStatus:
            response = {"description": status.phrase}
            if status >= 400:
                response["content"] = {PROBLEM_JSON: {"schema": "Problem"}}
            self.spec.components.response(status.name, response, lazy=True)
        self.spec.components.response(
            "DEFAULT_ERROR", {"description": "Any other error", "content": {PROBLEM_JSON: {"schema": "Problem"}}},
            lazy=True)

    def _register_error_schema(self):
        if "Problem" not in self.spec.components.schemas:
            self.spec.components.schema("Problem", schema=ProblemSchema)

    def init_app(self, app, *, spec_kwargs=None):
        super().init_app(app, spec_kwargs=spec_kwargs)
        self._register_error_schema()
        original = self.spec.to_dict

        def to_dict():
            return finish(original())

        self.spec.to_dict = to_dict


_PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}
# Every route of a company answers this to a member its second-factor policy holds back (gateway.permissions).
COMPANY_PATH = "/api/v1/companies/{company_id}"
SETUP_REQUIRED = ("`second_factor_setup_required`: the company requires a second factor and the caller has none "
                  "yet (the body names it: `company_id`, `company_name`); set one up under /me/second-factor")


def finish(spec: dict) -> dict:
    """Every error response carries the Problem body; secured routes document 401 (and 403); a company's
    routes document the 403 of its second-factor policy."""
    spec = copy.deepcopy(spec)
    for path, operations in spec.get("paths", {}).items():
        for method, operation in operations.items():
            if method not in ("get", "post", "put", "patch", "delete"):
                continue
            responses = operation.setdefault("responses", {})
            if path.startswith(COMPANY_PATH) and operation.get("security"):
                forbidden = responses.setdefault("403", {"description": "Forbidden"})
                forbidden["description"] = f"{forbidden.get('description') or 'Forbidden'}; or {SETUP_REQUIRED}"
            for status, response in list(responses.items()):
                if status != "default" and int(status) < 400 or "$ref" in response:
                    continue
                response.setdefault("content", {}).pop("application/json", None)
                response["content"].setdefault(PROBLEM_JSON, {"schema": _PROBLEM_REF})
            if operation.get("security"):
                responses.setdefault("401", {"description": "No valid access token (WWW-Authenticate: Bearer)",
                                             "content": {PROBLEM_JSON: {"schema": _PROBLEM_REF}}})
    return spec
