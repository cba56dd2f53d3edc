"""What each e-mail event carries: the schema of its payload (contracts/mail.py names the event types, their
templates and these schemas). Every payload has ``to``, ``locale`` and an optional ``full_name``
(MailPayloadSchema); the fields of each type are declared here. Datetimes are ISO 8601 (UTC when without an
offset); unknown fields are ignored, so a publisher may add fields without breaking notify."""

from __future__ import annotations

import datetime as dt
from typing import Any

from marshmallow import EXCLUDE, Schema, fields, post_load, validate

__all__ = [
    "DEFAULT_LOCALE",
    "LOCALES",
    "DeviceBlockedSchema",
    "DevicePairedSchema",
    "DeviceRemovedSchema",
    "DeviceReplacedSchema",
    "EmailChangeNoticeSchema",
    "EmailChangeRequestedSchema",
    "EmailChangeRevertedSchema",
    "EmailChangedSchema",
    "LoginLockedOutSchema",
    "MailPayloadSchema",
    "MemberInvitedSchema",
    "MemberRemovedSchema",
    "OwnershipTransferRequestedSchema",
    "OwnershipTransferredSchema",
    "PasswordChangedSchema",
    "PasswordResetRequestedSchema",
    "RoleChangedSchema",
    "SecondFactorChangedSchema",
    "SecondFactorRequiredSchema",
    "SignupConfirmationRequestedSchema",
    "SignupForExistingAccountAttemptedSchema",
]

LOCALES = ("pl", "en")
DEFAULT_LOCALE = "pl"

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
