"""The event envelope: every event carries `id`, `type`, `occurred_at` and a payload."""
import uuid
from datetime import datetime

from marshmallow import EXCLUDE, Schema, fields

from kadra_defaults import clock
from kadra_defaults.tracing import current_request_id


class EnvelopeSchema(Schema):
    """What every event on the wire looks like."""

    class Meta:
        unknown = EXCLUDE

    id = fields.String(required=True)
    type = fields.String(required=True)
    occurred_at = fields.AwareDateTime(required=True)
    request_id = fields.String(load_default=None, allow_none=True)
    payload = fields.Dict(required=True)


def utcnow() -> datetime:
    """Now, in UTC, timezone-aware (the services' clock, see kadra_defaults.clock)."""
    return clock.now()


def envelope(event_type: str, payload: dict, *, event_id: str | None = None,
             occurred_at: datetime | None = None, request_id: str | None = None) -> dict:
    """Wrap a payload in the envelope, ready to serialise as JSON."""
    return {
        "id": event_id or uuid.uuid4().hex,
        "type": event_type,
        "occurred_at": (occurred_at or utcnow()).isoformat(),
        "request_id": request_id or current_request_id(),
        "payload": payload,
    }
