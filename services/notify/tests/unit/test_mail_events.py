"""The mail-event contract: every event type, its payload schema, redaction.

Pure unit tests: no broker, no SMTP, no network.
"""

import dataclasses
import datetime as dt

import pytest
from marshmallow import Schema, ValidationError

from kadra_defaults.contracts import mail as mail_events
from kadra_defaults.contracts.mail import (
    MAIL_EVENTS,
    SECRET_FIELDS,
    MailEvent,
    UnknownMailEvent,
    load_payload,
    redact,
)

UTC = dt.timezone.utc


def invitation(**overrides):
    payload = {
        "to": "anna.nowak@example.pl",
        "locale": "pl",
        "full_name": "Anna Nowak",
        "company_name": "Majama Michał Zając",
        "inviter_name": "Jan Kowalski",
        "role_label": "magazynier",
        "token": "tok_abc-123",
        "expires_at": "2026-11-30T13:05:00+00:00",
    }
    payload.update(overrides)
    return {k: v for k, v in payload.items() if v is not ...}


EXPECTED_EVENTS = {
    "member_invited": "invitation",
    "password_reset_requested": "password_reset",
    "password_changed": "password_changed",
    "second_factor_changed": "second_factor_changed",
    "second_factor_required": "second_factor_required",
    "email_change_requested": "email_change_confirm",
    "email_change_notice": "email_change_notice",
    "device_paired": "device_paired",
    "device_blocked": "device_blocked",
    "device_removed": "device_removed",
    "device_replaced": "device_replaced",
    "ownership_transferred": "ownership_transferred",
    "email_changed": "email_changed",
    "email_change_reverted": "email_change_reverted",
    "login_locked_out": "login_lockout",
    "role_changed": "role_changed",
    "member_removed": "member_removed",
    "ownership_transfer_requested": "ownership_transfer",
    "signup_confirmation_requested": "signup_confirm",
    "signup_for_existing_account_attempted": "signup_existing_account",
}


def test_the_catalogue_lists_every_contract_event_with_its_template():
    assert {t: e.template for t, e in MAIL_EVENTS.items()} == EXPECTED_EVENTS


@pytest.mark.parametrize("event_type", sorted(MAIL_EVENTS))
def test_each_event_is_keyed_by_its_own_type_and_has_the_common_fields(event_type):
    event = MAIL_EVENTS[event_type]
    assert isinstance(event, MailEvent)
    assert event.type == event_type
    assert issubclass(event.schema, Schema)
    assert {"to", "locale", "full_name"} <= set(event.schema().fields)


def test_mail_event_is_frozen():
    with pytest.raises(dataclasses.FrozenInstanceError):
        MAIL_EVENTS["member_invited"].template = "other"


def test_a_valid_invitation_loads_with_aware_datetimes():
    data = load_payload("member_invited", invitation())
    assert data["company_name"] == "Majama Michał Zając"
    assert data["expires_at"] == dt.datetime(2026, 11, 30, 13, 5, tzinfo=UTC)


def test_locale_defaults_to_polish_and_full_name_to_empty():
    data = load_payload("member_invited", invitation(locale=..., full_name=...))
    assert data["locale"] == "pl"
    assert data["full_name"] == ""


def test_a_null_name_is_read_as_no_name():
    data = load_payload("member_invited", invitation(full_name=None, inviter_name=None))
    assert data["full_name"] == "" and data["inviter_name"] == ""


def test_a_datetime_without_offset_is_read_as_utc():
    data = load_payload("member_invited", invitation(expires_at="2026-11-30T13:05:00"))
    assert data["expires_at"] == dt.datetime(2026, 11, 30, 13, 5, tzinfo=UTC)


def test_zulu_datetimes_are_accepted():
    data = load_payload("login_locked_out", {"to": "a@example.pl", "locked_until": "2026-01-02T03:04:05Z"})
    assert data["locked_until"] == dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


def test_fields_a_publisher_adds_are_ignored():
    data = load_payload("member_invited", invitation(company_id="c-1", something_new=1))
    assert "company_id" not in data and "something_new" not in data


@pytest.mark.parametrize(
    "event_type, payload, field",
    [
        ("member_invited", invitation(to=...), "to"),
        ("member_invited", invitation(to="not-an-address"), "to"),
        ("member_invited", invitation(locale="de"), "locale"),
        ("member_invited", invitation(token=...), "token"),
        ("member_invited", invitation(token=""), "token"),
        ("member_invited", invitation(company_name=""), "company_name"),
        ("member_invited", invitation(role_label=...), "role_label"),
        ("member_invited", invitation(inviter_name=...), "inviter_name"),
        ("member_invited", invitation(expires_at="tomorrow"), "expires_at"),
        ("password_changed", {"to": "a@example.pl", "changed_at": "2026-11-30T13:05:00Z", "via": "sms"}, "via"),
        ("device_paired", {"to": "a@example.pl", "device_name": "Pixel", "platform": "windows",
                           "activated_at": "2026-11-30T13:05:00Z"}, "platform"),
        ("email_change_requested", {"to": "a@example.pl", "new_email": "nope", "token": "t",
                                    "expires_at": "2026-11-30T13:05:00Z"}, "new_email"),
        ("email_change_notice", {"to": "a@example.pl", "new_email": "b@example.pl"}, "undo_token"),
    ],
)
def test_a_bad_payload_is_refused_naming_the_field(event_type, payload, field):
    with pytest.raises(ValidationError) as caught:
        load_payload(event_type, payload)
    assert field in caught.value.messages


def test_a_payload_that_is_not_an_object_is_refused():
    with pytest.raises(ValidationError):
        load_payload("member_invited", ["not", "a", "dict"])


def test_an_unknown_event_type_is_refused():
    with pytest.raises(UnknownMailEvent) as caught:
        load_payload("member_teleported", invitation())
    assert isinstance(caught.value, ValueError)
    assert caught.value.event_type == "member_teleported"
    assert "member_teleported" in str(caught.value)


def test_secret_fields_are_the_tokens():
    assert SECRET_FIELDS == frozenset({"token", "undo_token"})


def test_redact_hides_every_token_and_keeps_the_rest():
    payload = {"to": "a@example.pl", "token": "s3cret", "undo_token": "und0", "new_email": "b@example.pl"}
    redacted = redact(payload)
    assert redacted == {"to": "a@example.pl", "token": "***", "undo_token": "***", "new_email": "b@example.pl"}
    assert "s3cret" not in repr(redacted) and "und0" not in repr(redacted)
    assert payload["token"] == "s3cret", "redact must not change the payload it logs"


def test_redact_reaches_into_an_envelope():
    envelope = {"id": "0" * 32, "type": "member_invited", "payload": invitation()}
    redacted = redact(envelope)
    assert redacted["payload"]["token"] == "***"
    assert "tok_abc-123" not in repr(redacted)


def test_the_module_explains_the_contract():
    doc = mail_events.__doc__
    for word in ("envelope", "occurred_at", "payload", "locale"):
        assert word in doc
