"""Access tokens the gateway refuses, and what a reset or password change does to earlier tokens."""
import base64
import json
import time
import uuid

import jwt
import pytest
import requests
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import load_pem_private_key

from tests.support.identity import PASSWORD, bearer, login, mail_tokens, sign_up

pytestmark = pytest.mark.e2e

NEW_PASSWORD = "a brand new passphrase 2"


def _real_key(system_env):
    with open(system_env["KADRA_JWT_PRIVATE_KEY_FILE"], "rb") as f:
        return load_pem_private_key(f.read(), password=None)


def _claims(person, **overrides):
    now = int(time.time())
    claims = {"sub": person["account_id"], "sid": uuid.uuid4().hex, "aud": "kadra", "typ": "access",
              "iat": now, "exp": now + 900}
    claims.update(overrides)
    return {k: v for k, v in claims.items() if v is not None}


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


@pytest.fixture(scope="module")
def person(system):
    api = requests.Session()
    api.url = lambda path: system.base_url + path
    return sign_up(api)


def test_a_token_signed_with_the_real_key_is_accepted(api, person, system_env):
    # the control: the crafted tokens below differ from this one in one way each
    tokens = login(api, person["email"])
    session_id = jwt.decode(tokens["access_token"], options={"verify_signature": False})["sid"]
    token = jwt.encode(_claims(person, sid=session_id), _real_key(system_env), algorithm="EdDSA")
    assert api.get(api.url("/api/v1/me"), headers=bearer(token)).status_code == 200


@pytest.mark.parametrize("case", ["alg-none", "wrong-key", "expired", "wrong-aud", "refresh-as-access",
                                  "typ-refresh", "hs256-with-public-key", "no-token"])
def test_bad_access_tokens_get_401(api, person, system_env, case):
    key = _real_key(system_env)
    if case == "alg-none":
        token = _b64(json.dumps({"alg": "none", "typ": "JWT"}).encode()) + "." + \
            _b64(json.dumps(_claims(person)).encode()) + "."
    elif case == "wrong-key":
        token = jwt.encode(_claims(person), Ed25519PrivateKey.generate(), algorithm="EdDSA")
    elif case == "expired":
        token = jwt.encode(_claims(person, iat=int(time.time()) - 1000, exp=int(time.time()) - 60), key,
                           algorithm="EdDSA")
    elif case == "wrong-aud":
        token = jwt.encode(_claims(person, aud="another-app"), key, algorithm="EdDSA")
    elif case == "refresh-as-access":
        token = login(api, person["email"])["refresh_token"]
    elif case == "typ-refresh":
        token = jwt.encode(_claims(person, typ="refresh"), key, algorithm="EdDSA")
    elif case == "hs256-with-public-key":
        import hashlib
        import hmac
        with open(system_env["KADRA_JWT_PUBLIC_KEY_FILE"], "rb") as f:
            public = f.read()
        signing_input = _b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode()) + "." + \
            _b64(json.dumps(_claims(person)).encode())
        token = signing_input + "." + _b64(hmac.new(public, signing_input.encode(), hashlib.sha256).digest())
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
