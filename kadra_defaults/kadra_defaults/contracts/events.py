"""Events between services: the envelope every one travels in, and the table of every event.

An event is past tense (``device_paired``) and travels as a nameko event from its service, always in
the envelope::

    {"id": "<32 hex>", "type": "device_paired", "occurred_at": "<ISO 8601 UTC>",
     "request_id": "<the request that caused it, if any>", "payload": {...}}

``EVENTS`` lists every event a service dispatches, with its payload's schema (the audit events: users
writes each into the log of every company of the person). Dispatch through
``contracts.publishing.Events``, which validates the payload here and wraps it; a handler reads it
back with ``payload_of``. E-mail events are the outbox's, listed in ``contracts.mail``.
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from marshmallow import EXCLUDE, Schema, ValidationError, fields

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


class _Payload(Schema):
    class Meta:
        unknown = EXCLUDE

    account_id = fields.String(required=True)


class DevicePayload(_Payload):
    device_id = fields.String(required=True)
    device_name = fields.String(required=True)
    platform = fields.String(required=True)
    reason = fields.String(load_default=None, allow_none=True)


class EmailChangedPayload(_Payload):
    new_email = fields.String(required=True)
    reverted = fields.Boolean(load_default=False)


class PasswordChangedPayload(_Payload):
    via = fields.String(required=True)  # "change" (the person, knowing it) or "reset" (a reset link)


class SecondFactorChangedPayload(_Payload):
    method = fields.String(required=True)  # "totp" or "phone" (approving web logins on the trusted phone)
    change = fields.String(required=True)  # "enabled" or "disabled"


class LockedOutPayload(_Payload):
    locked_until = fields.String(required=True)


@dataclass(frozen=True)
class Event:
    source: str      # the nameko service that dispatches it
    type: str
    schema: type[Schema]
    what: str


EVENTS = {event.type: event for event in (
    Event("devices", "device_paired", DevicePayload, "a trusted device was activated"),
    Event("devices", "device_removed", DevicePayload,
          "the trusted device was removed (from the web, by the app, replaced, or by a recovery)"),
    Event("devices", "device_blocked", DevicePayload, "too many wrong PINs blocked the device"),
    Event("devices", "device_unblocked", DevicePayload, "the person unblocked the device with their password"),
    Event("identity", "email_changed", EmailChangedPayload,
          "the login address changed, or (`reverted`) \"this wasn't me\" undid a change"),
    Event("identity", "password_changed", PasswordChangedPayload, "the password changed (`via` change or reset)"),
    Event("identity", "second_factor_changed", SecondFactorChangedPayload,
          "a second factor of web logins (`method` totp or phone) was turned on or off (`change`)"),
    Event("identity", "login_locked_out", LockedOutPayload, "too many wrong passwords: logins wait"),
)}


class UnknownEvent(ValueError):
    """An event type that is not in EVENTS."""


def wrap(event_type: str, payload: dict) -> dict:
    """Validate `payload` against the table and wrap it in a fresh envelope (raises on a bad one)."""
    event = EVENTS.get(event_type)
    if event is None:
        raise UnknownEvent(f"no such event: {event_type!r}")
    errors = event.schema().validate(payload)
    if errors:
        raise ValidationError(errors)
    return envelope(event_type, payload)


def payload_of(message) -> dict | None:
    """The payload of a received envelope, or None for anything that is not one."""
    if not isinstance(message, dict) or not isinstance(message.get("payload"), dict) or not message.get("id"):
        return None
    return message["payload"]
