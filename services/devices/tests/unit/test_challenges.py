"""Signed challenges: bound to the device and expiry, unforgeable, 256-bit nonce."""
import base64
from datetime import timedelta

from devices import challenges
from kadra_defaults.contracts.events import utcnow

KEY = b"s" * 32
DEVICE = "d" * 32


def test_a_fresh_challenge_of_the_device_checks():
    now = utcnow()
    challenge = challenges.issue(KEY, DEVICE, now + timedelta(minutes=2))
    reason, expires_at = challenges.check(KEY, DEVICE, challenge, now)
    assert reason is None and expires_at > now
    nonce = challenge.split(".")[3]
    assert len(base64.urlsafe_b64decode(nonce + "==")) * 8 == 256
    assert challenges.issue(KEY, DEVICE, now) != challenges.issue(KEY, DEVICE, now)


def test_expired_foreign_forged_and_garbage_challenges_are_named():
    now = utcnow()
    challenge = challenges.issue(KEY, DEVICE, now + timedelta(minutes=2))
    assert challenges.check(KEY, DEVICE, challenge, now + timedelta(minutes=3))[0] == "challenge_expired"
    assert challenges.check(KEY, "e" * 32, challenge, now)[0] == "challenge_of_another_device"
    assert challenges.check(b"x" * 32, DEVICE, challenge, now)[0] == "challenge_forged"
    parts = challenge.split(".")
    later = ".".join([parts[0], parts[1], str(int(parts[2]) + 3600), parts[3], parts[4]])
    assert challenges.check(KEY, DEVICE, later, now)[0] == "challenge_forged"
    for garbage in ("", "x", "c1.a.b.c.d", None, "c2." + challenge[3:]):
        assert challenges.check(KEY, DEVICE, garbage, now)[0] == "challenge_unknown"


def test_only_the_issued_format_in_ascii_parses():
    now = utcnow()
    challenge = challenges.issue(KEY, DEVICE, now + timedelta(minutes=2))
    assert challenges.parse(challenge)[0] == DEVICE
    _, device, expires, nonce, mac = challenge.split(".")
    malformed = [
        f"c1.{device}.².n.m", f"c1.{device}.²³⁴.{nonce}.{mac}", f"c1.{device}.١٧٠٠٠٠٠٠٠٠.{nonce}.{mac}",
        f"c1.{device}.１７００.{nonce}.{mac}", f"c1.{device}.+{expires}.{nonce}.{mac}", f"c1.{device}.-1.{nonce}.{mac}",
        f"c1.{device}. {expires}.{nonce}.{mac}", f"c1.{device}.1_7.{nonce}.{mac}", f"c1.{device}.1e9.{nonce}.{mac}",
        f"c1.{device}.{'9' * 11}.{nonce}.{mac}", f"c1.{device}.{expires}.\ud800{nonce[1:]}.{mac}",
        f"c1.{device}.{expires}.{nonce}\x00.{mac}", f"c1.²{device[1:]}.{expires}.{nonce}.{mac}",
        f"c1.{device}.{expires}.ż{nonce[1:]}.{mac}", f"c1.{device}.{expires}.AAAA.{mac}", challenge + ".x",
        challenge + "\n", " " + challenge, f"c1.{device}.{expires}.{nonce}", f"c1.{'a' * 65}.{expires}.{nonce}.{mac}",
        ".....", "c1....", challenge.replace(".", ",", 1), 42, b"c1", challenge * 3,
    ]
    for text in malformed:
        assert challenges.parse(text) is None, text
        assert challenges.check(KEY, DEVICE, text, now) == ("challenge_unknown", None), text


def test_an_approval_signs_the_request_the_number_and_a_fresh_challenge():
    # the message binds one request, the number read on the web screen and a nonce (the challenge); the mobile
    # reference client builds the same string (clients/mobile/kadra_mobile/approvals.py)
    from devices import approvals
    message = approvals.message("ab12", "07", "c1.dev.123.nonce.mac")
    assert message == "kadra-approval.v1.ab12.07.c1.dev.123.nonce.mac"
    assert approvals.message("ab12", "08", "c1.dev.123.nonce.mac") != message
    assert approvals.message("ab13", "07", "c1.dev.123.nonce.mac") != message
