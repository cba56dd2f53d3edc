"""A company's audit log: who changed what in its access, newest first, paged (owner and managers)."""
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from gateway.auth import authenticated
from gateway.caller import current_member

blp = Blueprint("audit", __name__, url_prefix="/api/v1", description="A company's audit log of access changes")


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
