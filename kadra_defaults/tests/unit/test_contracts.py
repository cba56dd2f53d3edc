"""The contracts both sides of a message share: service tokens, the event table, the feed's messages."""
import base64
import hashlib
import hmac
import json

import jwt
import pytest
from marshmallow import ValidationError

from kadra_defaults.contracts import events, feed, service_tokens

SECRET = b"s3cret-of-the-gateway"


def test_a_service_token_names_its_app_until_it_expires():
    token = service_tokens.issue("invoicing", SECRET, days=1, now=1000)
    assert service_tokens.is_service_token(token)
    assert service_tokens.verify(token, SECRET, now=1001) == "invoicing"
    assert service_tokens.verify(token, SECRET, now=1000 + 86400) is None
    header = jwt.get_unverified_header(token)
    assert header["alg"] == "HS256" and header["kid"] == service_tokens.key_id(SECRET)
    claims = jwt.decode(token, options={"verify_signature": False})
    assert (claims["aud"], claims["iss"], claims["sub"]) == ("kadra-service", "kadra", "invoicing")


@pytest.mark.parametrize("forge", [
    lambda t: service_tokens.issue("invoicing", b"another secret"),
    lambda t: t[:-2] + ("A" if t[-2] != "A" else "B") + t[-1],
    lambda t: jwt.encode({**jwt.decode(t, options={"verify_signature": False}), "aud": "kadra"}, SECRET,
                         algorithm="HS256", headers={"kid": service_tokens.key_id(SECRET)}),
    lambda t: jwt.encode({**jwt.decode(t, options={"verify_signature": False})}, None, algorithm="none"),
    lambda t: "not.a.token",
    lambda t: "x" * 5000,
])
def test_a_forged_or_foreign_token_is_refused(forge):
    token = service_tokens.issue("invoicing", SECRET)
    assert service_tokens.verify(forge(token), SECRET) is None


def test_tokens_issued_before_the_jwts_keep_working_until_they_expire():
    payload = base64.urlsafe_b64encode(json.dumps({"name": "warehouse", "iat": 1000, "exp": 5000},
                                                  separators=(",", ":")).encode()).rstrip(b"=").decode()
    signed = "kst1." + payload
    mac = base64.urlsafe_b64encode(hmac.new(SECRET, signed.encode(), hashlib.sha256).digest()).rstrip(b"=").decode()
    legacy = f"{signed}.{mac}"
    assert service_tokens.is_service_token(legacy)
    assert service_tokens.verify(legacy, SECRET, now=4999) == "warehouse"
    assert service_tokens.verify(legacy, SECRET, now=5000) is None
    assert service_tokens.verify(legacy, b"other", now=4999) is None


def test_an_access_token_is_not_a_service_token():
    access = jwt.encode({"sub": "a", "aud": "kadra"}, "k" * 32, algorithm="HS384")
    assert not service_tokens.is_service_token(access)


def test_every_event_is_validated_and_enveloped():
    envelope = events.wrap("device_paired", {"account_id": "a1", "device_id": "d1", "device_name": "Pixel",
                                             "platform": "android"})
    assert envelope["type"] == "device_paired" and len(envelope["id"]) == 32 and envelope["occurred_at"]
    assert events.payload_of(envelope)["device_id"] == "d1"
    assert events.payload_of({"account_id": "a1"}) is None  # a bare payload is not an event
    with pytest.raises(ValidationError):
        events.wrap("device_paired", {"account_id": "a1"})
    with pytest.raises(events.UnknownEvent):
        events.wrap("pizza_delivered", {"account_id": "a1"})


def test_feed_messages_have_known_kinds():
    assert feed.membership_changed("c1") == {"kind": "membership", "data": {"company_id": "c1"}}
    assert feed.membership_changed("c1", "a1")["data"] == {"company_id": "c1", "account_id": "a1"}
    assert feed.revocation([{"sid": "s", "until": 1}])["kind"] == "revocation"
    with pytest.raises(ValueError):
        feed.message("gossip", {})


def test_service_tokens_verify_only_with_the_same_secret_and_until_expiry():
    """Moved from gateway/tests/unit/test_permissions.py with the module it tests."""
    token = service_tokens.issue("invoicing", b"s3cret", days=1, now=1000)
    assert service_tokens.verify(token, b"s3cret", now=1001) == "invoicing"
    assert service_tokens.verify(token, b"other", now=1001) is None
    assert service_tokens.verify(token, b"s3cret", now=1000 + 86400) is None
    assert service_tokens.verify(token[:-2] + "AA", b"s3cret", now=1001) is None
    assert service_tokens.verify(token, None, now=1001) is None


def test_a_pika_connection_tries_each_broker_address_in_order():
    from kadra_defaults.contracts import mailbus
    params = mailbus.connection_parameters("amqp://u:p@127.0.0.1:5681/v;amqp://u:p@127.0.0.1:5682/v", heartbeat=7)
    assert [(p.host, p.port, p.virtual_host, p.heartbeat, p.connection_attempts) for p in params] == [
        ("127.0.0.1", 5681, "v", 7, 1), ("127.0.0.1", 5682, "v", 7, 1)]
    assert [p.port for p in mailbus.connection_parameters("amqp://u:p@127.0.0.1:5672/")] == [5672]
