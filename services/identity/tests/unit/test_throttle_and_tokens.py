"""The lockout schedule and the access tokens identity signs (as the gateway checks them)."""
import time

import jwt
import pytest

from kadra_defaults.contracts.ed25519_keys import thumbprint
from identity import tokens
from identity.keys import ensure_keys, load_public
from identity.storage.throttle import wait_for


def test_lockout_schedule_5_free_then_doubling_to_15_minutes():
    assert [wait_for(n) for n in range(1, 5)] == [0, 0, 0, 0]
    assert [wait_for(n) for n in range(5, 12)] == [60, 120, 240, 480, 900, 900, 900]


@pytest.fixture
def keys(tmp_path, monkeypatch):
    private, public = str(tmp_path / "k.pem"), str(tmp_path / "k.pub.pem")
    ensure_keys(private, public)
    monkeypatch.setenv("KADRA_JWT_PRIVATE_KEY_FILE", private)
    return load_public(public)


def test_access_token_claims_and_algorithm(keys, monkeypatch):
    monkeypatch.setenv("KADRA_PUBLIC_URL", "https://kadra.example.com")
    token = tokens.access_token("acc", "sess", "dev")
    header = jwt.get_unverified_header(token)
    assert header["alg"] == "EdDSA" and header["typ"] == "at+jwt" and header["kid"] == thumbprint(keys)
    claims = jwt.decode(token, keys, algorithms=["EdDSA"], audience="kadra", issuer="https://kadra.example.com")
    assert claims["sub"] == "acc" and claims["sid"] == "sess" and claims["did"] == "dev"
    assert claims["typ"] == "access" and claims["exp"] - claims["iat"] == 900
    assert abs(claims["iat"] - time.time()) < 5
    assert "did" not in jwt.decode(tokens.access_token("a", "s"), keys, algorithms=["EdDSA"], audience="kadra")


def test_secrets_are_256_bits_and_stored_as_hashes():
    secret = tokens.new_secret()
    assert len(secret) >= 43 and secret != tokens.new_secret()
    assert tokens.digest(secret) == tokens.digest(secret) and secret not in tokens.digest(secret)


def test_refresh_tokens_name_their_chain_and_opaque_ones_do_not():
    token = tokens.refresh_secret("a" * 32, 7)
    session_id, generation, secret = token.split(".")
    assert (session_id, generation) == ("a" * 32, "7") and len(secret) >= 43
    assert tokens.refresh_chain(token) == ("a" * 32, 7)
    assert tokens.refresh_chain(tokens.refresh_secret("s1")) == ("s1", 0)
    for opaque in (tokens.new_secret(), "a.b", "s.x.y", "s.-1.y", ".1.y", "s.1234567890.y", "a.1.b.c"):
        assert tokens.refresh_chain(opaque) is None
