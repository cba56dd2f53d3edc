"""The error kit: one shape for every service's errors, fields named in English and Polish."""
import pickle

import pytest
from marshmallow import Schema, fields

from kadra_defaults.errors import Bilingual, DomainError, InvalidInput, field_errors, load


class DeviceBlocked(DomainError):
    message = ("The device is blocked.", "Urządzenie jest zablokowane.")


class Address(Schema):
    city = fields.String(required=True)


class Company(Schema):
    name = fields.String(required=True)
    address = fields.Nested(Address, required=True)


def test_the_code_is_the_class_name_in_snake_case_and_travels_in_the_details():
    error = DeviceBlocked(headers={"Retry-After": 60}, extra={"device_id": "d1"})
    assert error.details == {"code": "device_blocked", "detail": "The device is blocked.",
                             "detail_pl": "Urządzenie jest zablokowane.", "headers": {"Retry-After": "60"},
                             "extra": {"device_id": "d1"}}
    assert InvalidInput.code == "invalid_input"
    assert pickle.loads(pickle.dumps(error)).details == error.details  # what nameko serialises is plain data


def test_one_field_names_itself_in_both_languages():
    error = InvalidInput("The PIN is wrong.", "PIN jest nieprawidłowy.", field="pin")
    assert error.errors == [{"field": "pin", "message": "The PIN is wrong.", "message_pl": "PIN jest nieprawidłowy."}]


def test_load_names_every_wrong_field_with_nested_names():
    with pytest.raises(InvalidInput) as raised:
        load(Company, {"address": {}})
    assert {e["field"] for e in raised.value.errors} == {"name", "address.city"}
    assert all(e["message_pl"] == "To pole jest wymagane." for e in raised.value.errors)
    with pytest.raises(InvalidInput) as raised:
        load(Company, [1, 2])
    assert raised.value.errors[0]["field"] == "body"


def test_bilingual_messages_keep_their_polish_through_field_errors_and_pickling():
    message = pickle.loads(pickle.dumps(Bilingual("Too long.", "Za długie.")))
    assert field_errors({"name": [message]}) == [{"field": "name", "message": "Too long.", "message_pl": "Za długie."}]
    assert field_errors({"_schema": ["Invalid input type."]})[0] == {
        "field": "body", "message": "Invalid input type.", "message_pl": "Nieprawidłowy typ danych."}


class Locked(DomainError):
    message = ("Wait a minute.", "Poczekaj minutę.")
    field = "pin"
    headers = {"Retry-After": "60"}


def test_a_subclass_can_name_its_field_and_headers_by_default():
    error = Locked()
    assert error.errors == [{"field": "pin", "message": "Wait a minute.", "message_pl": "Poczekaj minutę."}]
    assert error.details["headers"] == {"Retry-After": "60"}
    assert Locked(headers={"Retry-After": "5"}).details["headers"] == {"Retry-After": "5"}
