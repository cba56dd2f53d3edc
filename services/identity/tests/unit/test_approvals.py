"""Approving a web login on the trusted phone, without a database: the number shown on the web, how the phone's
number is compared, what the phone is told about the asking client, and what a request looks like to it."""
from datetime import timedelta

import pytest

from kadra_defaults import clock

from identity import approvals


def test_numbers_are_two_digits_and_cover_the_range():
    seen = {approvals.new_number() for _ in range(3000)}
    assert all(len(n) == 2 and n.isdigit() for n in seen)
    assert "00" in seen and "99" in seen and len(seen) == 100


@pytest.mark.parametrize("given, ok", [("07", True), (" 07 ", True), ("7", False), ("70", False), (7, False),
                                       (None, False), ("007", False), ("", False)])
def test_the_number_typed_on_the_phone_must_be_the_one_shown(given, ok):
    assert approvals.number_matches("07", given) is ok


def test_the_client_shown_to_the_phone_is_bounded_and_printable():
    client = approvals.client_of("203.0.113.7", "Firefox\n\x1b[31m" + "x" * 500)
    assert client["client_ip"] == "203.0.113.7"
    assert "\n" not in client["user_agent"] and "\x1b" not in client["user_agent"]
    assert client["user_agent"].startswith("Firefox[31m") and len(client["user_agent"]) == approvals.USER_AGENT_MAX
    assert approvals.client_of(None, None) == {"client_ip": None, "user_agent": ""}
    assert approvals.client_of(["x"], 5) == {"client_ip": None, "user_agent": ""}


def test_the_phone_sees_where_and_when_but_never_the_number():
    now = clock.now()
    doc = {"_id": "ab12", "account_id": "acc", "pending": "d" * 64, "purpose": "login", "number": "42",
           "client_ip": "203.0.113.7", "user_agent": "Firefox", "created_at": now,
           "expires_at": now + timedelta(seconds=approvals.APPROVAL_TTL)}
    seen = approvals.view(doc)
    assert seen["approval_id"] == "ab12" and seen["app"] == "web" and seen["purpose"] == "login"
    assert seen["client_ip"] == "203.0.113.7" and seen["user_agent"] == "Firefox"
    assert seen["requested_at"] == now.isoformat() and 118 <= seen["expires_in"] <= 120
    assert "42" not in str(seen) and "pending" not in seen and "account_id" not in seen
    assert approvals.view({**doc, "expires_at": now - timedelta(seconds=5)})["expires_in"] == 0


def test_an_unknown_decision_names_the_field():
    with pytest.raises(approvals.InvalidInput) as raised:
        approvals.decide(None, "acc", "dev", "ab12", "maybe")
    assert raised.value.args[0]["errors"][0]["field"] == "decision"
