"""Access tokens the gateway refuses, another app verifying ours through the published keys (JWKS), and what
a reset or password change does to earlier tokens."""
import base64
import json
import time
import uuid

import jwt
import pytest
import requests
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import load_pem_private_key

from kadra_defaults.contracts.ed25519_keys import thumbprint
from tests.support.identity import PASSWORD, bearer, login, mail_tokens, sign_up

pytestmark = pytest.mark.e2e

NEW_PASSWORD = "a brand new passphrase 2"


def _real_key(system_env):
    with open(system_env["KADRA_JWT_PRIVATE_KEY_FILE"], "rb") as f:
        return load_pem_private_key(f.read(), password=None)


def _claims(person, **overrides):
    now = int(time.time())
    claims = {"iss": person["iss"], "sub": person["account_id"], "sid": uuid.uuid4().hex, "aud": "kadra",
              "typ": "access", "iat": now, "exp": now + 900}
    claims.update(overrides)
    return {k: v for k, v in claims.items() if v is not None}


def _sign(claims, key, kid):
    """Signed with EdDSA by `key`, naming `kid` in the header (None: no kid)."""
    return jwt.encode(claims, key, algorithm="EdDSA", headers={"kid": kid} if kid else None)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


@pytest.fixture(scope="module")
def person(system):
    """A person, with the `iss` and `kid` of the tokens identity gives them (the crafted tokens copy both)."""
    api = requests.Session()
    api.url = lambda path: system.base_url + path
    person = sign_up(api)
    real = login(api, person["email"])["access_token"]
    person["iss"] = jwt.decode(real, options={"verify_signature": False})["iss"]
    person["kid"] = jwt.get_unverified_header(real)["kid"]
    return person


def test_access_tokens_name_their_key_and_issuer(api, person, system):
    token = login(api, person["email"])["access_token"]
    header = jwt.get_unverified_header(token)
    assert header["alg"] == "EdDSA" and header["typ"] == "at+jwt" and header["kid"]
    assert jwt.decode(token, options={"verify_signature": False})["iss"] == system.env["KADRA_PUBLIC_URL"]


def test_another_app_verifies_an_access_token_with_pyjwt_and_our_jwks(api, person, system):
    """What the product's other apps do: PyJWKClient fetches /.well-known/jwks.json, picks the key by kid."""
    jwks = api.get(api.url("/.well-known/jwks.json"))
    assert jwks.status_code == 200 and jwks.headers["Content-Type"].startswith("application/json")
    assert "max-age" in jwks.headers["Cache-Control"]
    for key in jwks.json()["keys"]:
        assert {k: key[k] for k in ("kty", "crv", "use", "alg")} == {"kty": "OKP", "crv": "Ed25519", "use": "sig",
                                                                     "alg": "EdDSA"}
        assert len(base64.urlsafe_b64decode(key["x"] + "==")) == 32
    token = login(api, person["email"])["access_token"]
    client = jwt.PyJWKClient(api.url("/.well-known/jwks.json"))
    signing_key = client.get_signing_key_from_jwt(token)
    claims = jwt.decode(token, signing_key.key, algorithms=["EdDSA"], audience="kadra",
                        issuer=system.env["KADRA_PUBLIC_URL"])
    assert claims["sub"] == person["account_id"] and claims["typ"] == "access"
    # and it refuses what our gateway refuses: another issuer or audience
    with pytest.raises(jwt.InvalidIssuerError):
        jwt.decode(token, signing_key.key, algorithms=["EdDSA"], audience="kadra", issuer="https://evil.example")
    with pytest.raises(jwt.InvalidAudienceError):
        jwt.decode(token, signing_key.key, algorithms=["EdDSA"], audience="another-app")
    forged = _sign(_claims(person), Ed25519PrivateKey.generate(), person["kid"])
    with pytest.raises(jwt.InvalidSignatureError):
        jwt.decode(forged, client.get_signing_key_from_jwt(forged).key, algorithms=["EdDSA"], audience="kadra")


def test_the_jwks_is_not_under_the_api_prefix_and_the_metrics_are_not_public(api, system):
    assert api.get(api.url("/api/v1/.well-known/jwks.json")).status_code == 404
    response = api.get(api.url("/metrics"))
    assert response.status_code == 404 and response.headers["Content-Type"] == "application/problem+json"
    assert "kadra_http_requests_total" not in response.text


def test_a_token_signed_with_the_real_key_is_accepted(api, person, system_env):
    # the control: the crafted tokens below differ from this one in one way each
    tokens = login(api, person["email"])
    session_id = jwt.decode(tokens["access_token"], options={"verify_signature": False})["sid"]
    token = _sign(_claims(person, sid=session_id), _real_key(system_env), person["kid"])
    assert api.get(api.url("/api/v1/me"), headers=bearer(token)).status_code == 200


@pytest.mark.parametrize("case", ["alg-none", "wrong-key", "wrong-key-real-kid", "expired", "wrong-aud",
                                  "refresh-as-access", "typ-refresh", "hs256-with-public-key", "no-kid",
                                  "unknown-kid", "wrong-iss", "no-iss", "no-token"])
def test_bad_access_tokens_get_401(api, person, system_env, case):
    key, kid = _real_key(system_env), person["kid"]
    if case == "alg-none":
        token = _b64(json.dumps({"alg": "none", "typ": "JWT", "kid": kid}).encode()) + "." + \
            _b64(json.dumps(_claims(person)).encode()) + "."
    elif case == "wrong-key":
        other = Ed25519PrivateKey.generate()
        token = _sign(_claims(person), other, thumbprint(other.public_key()))
    elif case == "wrong-key-real-kid":
        token = _sign(_claims(person), Ed25519PrivateKey.generate(), kid)
    elif case == "expired":
        token = _sign(_claims(person, iat=int(time.time()) - 1000, exp=int(time.time()) - 60), key, kid)
    elif case == "wrong-aud":
        token = _sign(_claims(person, aud="another-app"), key, kid)
    elif case == "refresh-as-access":
        token = login(api, person["email"])["refresh_token"]
    elif case == "typ-refresh":
        token = _sign(_claims(person, typ="refresh"), key, kid)
    elif case == "hs256-with-public-key":
        import hashlib
        import hmac
        with open(system_env["KADRA_JWT_PUBLIC_KEY_FILE"], "rb") as f:
            public = f.read()
        signing_input = _b64(json.dumps({"alg": "HS256", "typ": "JWT", "kid": kid}).encode()) + "." + \
            _b64(json.dumps(_claims(person)).encode())
        token = signing_input + "." + _b64(hmac.new(public, signing_input.encode(), hashlib.sha256).digest())
    elif case == "no-kid":
        token = _sign(_claims(person), key, None)
    elif case == "unknown-kid":
        token = _sign(_claims(person), key, "another-key")
    elif case == "wrong-iss":
        token = _sign(_claims(person, iss="https://evil.example"), key, kid)
    elif case == "no-iss":
        token = _sign(_claims(person, iss=None), key, kid)
    else:
        token = None
    headers = bearer(token) if token else {}
    response = api.get(api.url("/api/v1/me"), headers=headers)
    assert response.status_code == 401, (case, response.text)
    assert response.headers["Content-Type"] == "application/problem+json"
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert response.json()["code"] == "unauthorized"


def _refused_within(tokens: list[dict], seconds: float) -> float:
    """Wait until every access token gets 401 from the gateway (fresh connections, so every worker answers)."""
    started = time.monotonic()
    pending = list(tokens)
    while pending:
        pending = [t for t in pending
                   if any(requests.get(t["url"], headers=bearer(t), timeout=5).status_code != 401 for _ in range(3))]
        elapsed = time.monotonic() - started
        assert not pending or elapsed < seconds, f"{len(pending)} access tokens still accepted after {elapsed:.2f}s"
    return time.monotonic() - started


def _fifty_sessions(api, email, password=PASSWORD):
    sessions = [login(api, email, password) for _ in range(50)]
    for s in sessions:
        s["url"] = api.url("/api/v1/me")
    # every worker has seen them as valid
    for s in sessions[:5]:
        assert api.get(api.url("/api/v1/me"), headers=bearer(s)).status_code == 200
    return sessions


@pytest.mark.slow
def test_reset_refuses_50_of_50_refresh_tokens_at_once_and_access_tokens_within_1s(api, mailbox):
    person = sign_up(api)
    sessions = _fifty_sessions(api, person["email"])
    assert api.post(api.url("/api/v1/auth/password/forgot"), json={"email": person["email"]}).status_code == 202
    (mail,) = mailbox.wait_for(person["email"], "set a new password", timeout=30)
    (token,) = mail_tokens(mail)
    response = api.post(api.url("/api/v1/auth/password/reset"), json={"token": token, "new_password": NEW_PASSWORD})
    assert response.status_code == 204, response.text
    refused = [api.post(api.url("/api/v1/auth/refresh"), json={"refresh_token": s["refresh_token"]}).status_code
               for s in sessions]
    assert refused == [401] * 50
    took = _refused_within(sessions, 1.0)
    print(f"access tokens refused by every worker after {took:.3f}s")
    # the new password works, the old one doesn't
    assert login(api, person["email"], NEW_PASSWORD)["access_token"]
    assert api.post(api.url("/api/v1/auth/login"), json={"email": person["email"], "password": PASSWORD}
                    ).status_code == 401
    mailbox.wait_for(person["email"], "your password was changed", timeout=30)


@pytest.mark.slow
def test_change_password_ends_the_other_50_sessions_but_not_this_one(api, mailbox):
    person = sign_up(api)
    sessions = _fifty_sessions(api, person["email"])
    mine = login(api, person["email"])
    wrong = api.post(api.url("/api/v1/auth/password/change"), headers=bearer(mine),
                     json={"current_password": "not the password", "new_password": NEW_PASSWORD})
    assert wrong.status_code == 422 and wrong.json()["errors"][0]["field"] == "current_password"
    weak = api.post(api.url("/api/v1/auth/password/change"), headers=bearer(mine),
                    json={"current_password": PASSWORD, "new_password": "password1234"})
    assert weak.status_code == 422 and "common" in weak.json()["errors"][0]["message"]
    response = api.post(api.url("/api/v1/auth/password/change"), headers=bearer(mine),
                        json={"current_password": PASSWORD, "new_password": NEW_PASSWORD})
    assert response.status_code == 204, response.text
    refused = [api.post(api.url("/api/v1/auth/refresh"), json={"refresh_token": s["refresh_token"]}).status_code
               for s in sessions]
    assert refused == [401] * 50
    _refused_within(sessions, 1.0)
    assert api.get(api.url("/api/v1/me"), headers=bearer(mine)).status_code == 200
    assert api.post(api.url("/api/v1/auth/refresh"), json={"refresh_token": mine["refresh_token"]}).status_code == 200
    mailbox.wait_for(person["email"], "your password was changed", timeout=30)
