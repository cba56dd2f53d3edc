"""Every e-mail event Kadra publishes, with the schema of its payload.

The wire format is a JSON envelope, validated elsewhere::

    {"id": "<32 hex uuid4>", "type": "<event type>",
     "occurred_at": "<ISO 8601 UTC>", "request_id": "<optional>",
     "payload": {...}}

This module validates ``payload`` per ``type``. Every payload has ``to``
(the recipient's e-mail address), ``locale`` (``"pl"`` or ``"en"``,
``"pl"`` when missing) and an optional ``full_name``; the type-specific
fields are declared by the schemas below. Datetimes are ISO 8601 strings
(UTC; a value without an offset is read as UTC). Unknown fields are
ignored, so a publisher may add fields without breaking notify. Tokens
(``SECRET_FIELDS``) must never be logged: log ``redact(payload)``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from marshmallow import EXCLUDE, Schema, ValidationError, fields, post_load, validate

__all__ = [
    "LOCALES",
    "MAIL_EVENTS",
    "SECRET_FIELDS",
    "MailEvent",
    "UnknownMailEvent",
    "ValidationError",
    "load_payload",
    "redact",
]

LOCALES = ("pl", "en")
DEFAULT_LOCALE = "pl"
SECRET_FIELDS = frozenset({"token", "undo_token"})
REDACTED = "***"

_NON_EMPTY = validate.Length(min=1)


def _text(**kwargs: Any) -> fields.String:
    """A required, non-empty string (a company name, a device name, a label)."""
    return fields.String(required=True, validate=_NON_EMPTY, **kwargs)


def _name() -> fields.String:
    """A person's name that must be sent but may be empty (no name on file)."""
    return fields.String(required=True, allow_none=True)


def _moment(required: bool = True) -> fields.AwareDateTime:
    """An ISO 8601 datetime; one without an offset is taken as UTC."""
    if required:
        return fields.AwareDateTime(required=True, default_timezone=dt.timezone.utc)
    return fields.AwareDateTime(
        load_default=None, allow_none=True, default_timezone=dt.timezone.utc
    )


class MailPayloadSchema(Schema):
    """Fields every mail payload carries: recipient, language, name."""

    class Meta:
        unknown = EXCLUDE

    to = fields.Email(required=True)
    locale = fields.String(
        load_default=DEFAULT_LOCALE, validate=validate.OneOf(LOCALES)
    )
    full_name = fields.String(load_default="", allow_none=True)

    @post_load
    def _blank_names(self, data: dict, **kwargs: Any) -> dict:
        # Templates test names for truthiness; None and "" both mean "no name".
        for key, value in data.items():
            if value is None and key.endswith("name"):
                data[key] = ""
        return data


class MemberInvitedSchema(MailPayloadSchema):
    company_name = _text()
    inviter_name = _name()
    role_label = _text()
    token = _text()
    expires_at = _moment()


class PasswordResetRequestedSchema(MailPayloadSchema):
    token = _text()
    expires_at = _moment()


class PasswordChangedSchema(MailPayloadSchema):
    changed_at = _moment()
    via = fields.String(required=True, validate=validate.OneOf(("reset", "change")))


class SecondFactorChangedSchema(MailPayloadSchema):
    """Sent when a second factor of web logins was turned on or off."""

    method = fields.String(required=True, validate=validate.OneOf(("totp", "phone")))  # phone: approval on the phone
    change = fields.String(required=True, validate=validate.OneOf(("enabled", "disabled")))
    other_on = fields.Boolean(load_default=False)  # another second factor stays on (the e-mail says so)
    changed_at = _moment()


class SecondFactorRequiredSchema(MailPayloadSchema):
    """Sent to each member without a second factor when the company's owner starts requiring one."""

    company_name = _text()
    required_by_name = _name()
    required_at = _moment()


class EmailChangeRequestedSchema(MailPayloadSchema):
    """Sent to the NEW address: confirm it."""

    new_email = fields.Email(required=True)
    token = _text()
    expires_at = _moment()


class EmailChangeNoticeSchema(MailPayloadSchema):
    """Sent to the OLD address: the undo link reverts the change."""

    new_email = fields.Email(required=True)
    undo_token = _text()


class DevicePairedSchema(MailPayloadSchema):
    device_name = _text()
    platform = fields.String(
        required=True, validate=validate.OneOf(("android", "ios"))
    )
    activated_at = _moment()


class DeviceBlockedSchema(MailPayloadSchema):
    device_name = _text()
    blocked_at = _moment()


class DeviceRemovedSchema(MailPayloadSchema):
    """The trusted device was removed: by the person (from the web or the app: ``removed``), or by a recovery
    (a completed password reset, or the undo of an e-mail change)."""

    device_name = _text()
    platform = fields.String(
        required=True, validate=validate.OneOf(("android", "ios"))
    )
    removed_at = _moment()
    cause = fields.String(
        required=True, validate=validate.OneOf(("removed", "password_reset", "email_revert"))
    )


class DeviceReplacedSchema(MailPayloadSchema):
    """A new phone was activated in place of the trusted device: the notice names both."""

    device_name = _text()
    platform = fields.String(
        required=True, validate=validate.OneOf(("android", "ios"))
    )
    old_device_name = _text()
    old_platform = fields.String(
        required=True, validate=validate.OneOf(("android", "ios"))
    )
    activated_at = _moment()


class LoginLockedOutSchema(MailPayloadSchema):
    locked_until = _moment()


class RoleChangedSchema(MailPayloadSchema):
    company_name = _text()
    old_role_label = _text()
    new_role_label = _text()
    changed_by_name = _name()


class MemberRemovedSchema(MailPayloadSchema):
    company_name = _text()
    removed_by_name = _name()


class OwnershipTransferRequestedSchema(MailPayloadSchema):
    company_name = _text()
    from_name = _name()
    token = _text()
    expires_at = _moment()


class OwnershipTransferredSchema(MailPayloadSchema):
    """Sent to both sides of a completed transfer: ``role_label`` is the recipient's role now."""

    company_name = _text()
    became_owner = fields.Boolean(required=True)
    role_label = _text()
    previous_owner_name = _name()
    new_owner_name = _name()
    transferred_at = _moment()


class EmailChangedSchema(MailPayloadSchema):
    """Sent to the old and to the new address once the change is confirmed (``sent_to`` says which)."""

    old_email = fields.Email(required=True)
    new_email = fields.Email(required=True)
    sent_to = fields.String(required=True, validate=validate.OneOf(("old", "new")))
    changed_at = _moment()


class EmailChangeRevertedSchema(MailPayloadSchema):
    """Sent when "this wasn't me" undid a change: to the restored address and, when the change had been
    confirmed, to the address it had become (``sent_to`` says which)."""

    restored_email = fields.Email(required=True)
    undone_email = fields.Email(required=True)
    sent_to = fields.String(required=True, validate=validate.OneOf(("restored", "undone")))
    reverted_at = _moment()


class SignupConfirmationRequestedSchema(MailPayloadSchema):
    """Sent to the address a person signed up with: the link makes the account and the company."""

    company_name = _text()
    token = _text()
    expires_at = _moment()


class SignupForExistingAccountAttemptedSchema(MailPayloadSchema):
    """Sent to an account's owner when somebody signs up with its address: log in or reset the password."""

    attempted_at = _moment()


@dataclass(frozen=True)
class MailEvent:
    """An e-mail event: its type on the wire, its template, its payload schema."""

    type: str
    template: str
    schema: type[Schema]


MAIL_EVENTS: dict[str, MailEvent] = {
    event.type: event
    for event in (
        MailEvent("member_invited", "invitation", MemberInvitedSchema),
        MailEvent("password_reset_requested", "password_reset", PasswordResetRequestedSchema),
        MailEvent("password_changed", "password_changed", PasswordChangedSchema),
        MailEvent("second_factor_changed", "second_factor_changed", SecondFactorChangedSchema),
        MailEvent("second_factor_required", "second_factor_required", SecondFactorRequiredSchema),
        MailEvent("email_change_requested", "email_change_confirm", EmailChangeRequestedSchema),
        MailEvent("email_change_notice", "email_change_notice", EmailChangeNoticeSchema),
        MailEvent("device_paired", "device_paired", DevicePairedSchema),
        MailEvent("device_blocked", "device_blocked", DeviceBlockedSchema),
        MailEvent("device_removed", "device_removed", DeviceRemovedSchema),
        MailEvent("device_replaced", "device_replaced", DeviceReplacedSchema),
        MailEvent("login_locked_out", "login_lockout", LoginLockedOutSchema),
        MailEvent("role_changed", "role_changed", RoleChangedSchema),
        MailEvent("member_removed", "member_removed", MemberRemovedSchema),
        MailEvent(
            "ownership_transfer_requested", "ownership_transfer", OwnershipTransferRequestedSchema
        ),
        MailEvent("ownership_transferred", "ownership_transferred", OwnershipTransferredSchema),
        MailEvent("email_changed", "email_changed", EmailChangedSchema),
        MailEvent("email_change_reverted", "email_change_reverted", EmailChangeRevertedSchema),
        MailEvent("signup_confirmation_requested", "signup_confirm", SignupConfirmationRequestedSchema),
        MailEvent(
            "signup_for_existing_account_attempted",
            "signup_existing_account",
            SignupForExistingAccountAttemptedSchema,
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
