"""Device keys and PIN rules, without network."""
import base64

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from devices import keys, pins


def _pair():
    private = Ed25519PrivateKey.generate()
    raw = private.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return private, base64.b64encode(raw).decode()


def test_a_real_public_key_decodes_to_32_bytes():
    _, public = _pair()
    assert len(keys.decode_public_key(public)) == 32


@pytest.mark.parametrize("text", [
    base64.b64encode(b"\x01" * 31).decode(),          # too short
    base64.b64encode(b"\x01" * 33).decode(),          # too long
    "not base64 at all!",
    base64.urlsafe_b64encode(b"\xfb" * 32).decode(),  # URL-safe alphabet
    base64.b64encode(b"\x01" * 32).decode().rstrip("="),  # unpadded
    "",
    None,
    123,
])
def test_bad_public_keys_are_refused_with_english_and_polish(text):
    with pytest.raises(keys.BadKey) as bad:
        keys.decode_public_key(text)
    english, polish = bad.value.args
    assert english and polish and english != polish


def test_signature_over_the_exact_challenge_string():
    private, public = _pair()
    challenge = "q3N0-abc_DEF"
    signature = base64.b64encode(private.sign(challenge.encode())).decode()
    assert keys.signature_matches(public, challenge, signature)
    assert not keys.signature_matches(public, challenge + "x", signature)
    other, _ = _pair()
    assert not keys.signature_matches(public, challenge, base64.b64encode(other.sign(challenge.encode())).decode())
    assert not keys.signature_matches(public, challenge, "garbage")
    assert not keys.signature_matches(public, challenge, None)


@pytest.mark.parametrize("pin", ["000000", "111111", "123456", "234567", "654321", "987654", "890123",
                                 "12345678", "87654321", "121212", "123123", "112233", "12341234", "147258"])
def test_trivial_pins_are_refused(pin):
    assert pins.is_trivial(pin)
    assert pins.pin_problem(pin) is not None


@pytest.mark.parametrize("pin", ["482915", "730164", "5918273", "40917263"])
def test_ordinary_pins_are_accepted(pin):
    assert pins.pin_problem(pin) is None


@pytest.mark.parametrize("pin", ["48291a", "12345", "123456789", " 482915", "４８２９１５", "", None, 482915])
def test_malformed_pins_are_refused(pin):
    assert pins.pin_problem(pin) is not None


def test_pin_hash_is_argon2id_and_verifies():
    digest = pins.hash_pin("482915")
    assert digest.startswith("$argon2id$")
    assert "m=65536,t=3,p=1" in digest
    assert pins.pin_matches(digest, "482915")
    assert not pins.pin_matches(digest, "482916")
    assert not pins.pin_matches("not a hash", "482915")


@pytest.mark.parametrize("pin", ["482915\n", "\n482915", "48291\n", "４８２９１５", "٤٨٢٩١٥", "482915²", " 482915"])
def test_a_pin_with_anything_but_ascii_digits_is_refused_not_an_error(pin):
    assert pins.pin_problem(pin) is not None
