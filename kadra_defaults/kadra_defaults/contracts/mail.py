"""Every e-mail event Kadra publishes, with the schema of its payload.

The wire format is a JSON envelope, validated elsewhere::

    {"id": "<32 hex uuid4>", "type": "<event type>",
     "occurred_at": "<ISO 8601 UTC>", "request_id": "<optional>",
     "payload": {...}}

This module validates ``payload`` per ``type``. Every payload has ``to``
(the recipient's e-mail address), ``locale`` (``"pl"`` or ``"en"``,
``"pl"`` when missing) and an optional ``full_name``; the type-specific
fields are declared by the schemas in ``mail_payloads``. Datetimes are ISO 8601 strings
(UTC; a value without an offset is read as UTC). Unknown fields are
ignored, so a publisher may add fields without breaking notify. Tokens
(``SECRET_FIELDS``) must never be logged: log ``redact(payload)``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from marshmallow import Schema, ValidationError

from kadra_defaults.contracts import mail_payloads as payloads
from kadra_defaults.contracts.mail_payloads import DEFAULT_LOCALE, LOCALES, MailPayloadSchema

__all__ = [
    "DEFAULT_LOCALE",
    "LOCALES",
    "MAIL_EVENTS",
    "SECRET_FIELDS",
    "MailEvent",
    "MailPayloadSchema",
    "UnknownMailEvent",
    "ValidationError",
    "load_payload",
    "redact",
]

SECRET_FIELDS = frozenset({"token", "undo_token"})
REDACTED = "***"


@dataclass(frozen=True)
class MailEvent:
    """An e-mail event: its type on the wire, its template, its payload schema."""

    type: str
    template: str
    schema: type[Schema]


MAIL_EVENTS: dict[str, MailEvent] = {
    event.type: event
    for event in (
        MailEvent("member_invited", "invitation", payloads.MemberInvitedSchema),
        MailEvent("password_reset_requested", "password_reset", payloads.PasswordResetRequestedSchema),
        MailEvent("password_changed", "password_changed", payloads.PasswordChangedSchema),
        MailEvent("second_factor_changed", "second_factor_changed", payloads.SecondFactorChangedSchema),
        MailEvent("second_factor_required", "second_factor_required", payloads.SecondFactorRequiredSchema),
        MailEvent("email_change_requested", "email_change_confirm", payloads.EmailChangeRequestedSchema),
        MailEvent("email_change_notice", "email_change_notice", payloads.EmailChangeNoticeSchema),
        MailEvent("device_paired", "device_paired", payloads.DevicePairedSchema),
        MailEvent("device_blocked", "device_blocked", payloads.DeviceBlockedSchema),
        MailEvent("device_removed", "device_removed", payloads.DeviceRemovedSchema),
        MailEvent("device_replaced", "device_replaced", payloads.DeviceReplacedSchema),
        MailEvent("login_locked_out", "login_lockout", payloads.LoginLockedOutSchema),
        MailEvent("role_changed", "role_changed", payloads.RoleChangedSchema),
        MailEvent("member_removed", "member_removed", payloads.MemberRemovedSchema),
        MailEvent(
            "ownership_transfer_requested", "ownership_transfer", payloads.OwnershipTransferRequestedSchema
        ),
        MailEvent("ownership_transferred", "ownership_transferred", payloads.OwnershipTransferredSchema),
        MailEvent("email_changed", "email_changed", payloads.EmailChangedSchema),
        MailEvent("email_change_reverted", "email_change_reverted", payloads.EmailChangeRevertedSchema),
        MailEvent("signup_confirmation_requested", "signup_confirm", payloads.SignupConfirmationRequestedSchema),
        MailEvent(
            "signup_for_existing_account_attempted",
            "signup_existing_account",
            payloads.SignupForExistingAccountAttemptedSchema,
        ),
    )
}


class UnknownMailEvent(ValueError):
    """The event type is not one of MAIL_EVENTS."""

    def __init__(self, event_type: object) -> None:
        super().__init__(event_type)
        self.event_type = event_type

    def __str__(self) -> str:
        return f"unknown mail event type: {self.event_type!r}"


def load_payload(event_type: str, payload: Any) -> dict:
    """Validate and deserialise the payload of a mail event of this type."""
    try:
        event = MAIL_EVENTS[event_type]
    except (KeyError, TypeError):
        raise UnknownMailEvent(event_type) from None
    return event.schema().load(payload)


def redact(payload: Any) -> Any:
    """A copy of the payload (or envelope) with every token replaced by "***"."""
    if isinstance(payload, dict):
        return {
            key: REDACTED if key in SECRET_FIELDS else redact(value)
            for key, value in payload.items()
        }
    if isinstance(payload, (list, tuple)):
        return [redact(item) for item in payload]
    return payload
