"""gateway.auth: local verification of access tokens and the revocation set. No network."""
import base64
import json
import time

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from flask import jsonify

from kadra_defaults import settings
from kadra_defaults.contracts.ed25519_keys import thumbprint
from gateway import auth, rpc
from gateway.app import create_app
from gateway.auth import Principal, authenticated, current_principal

KEY = Ed25519PrivateKey.generate()
OTHER_KEY = Ed25519PrivateKey.generate()
PUBLIC_PEM = KEY.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


class FakeRpc:
    def __init__(self, active=True):
        self.active = active
        self.calls = []

    def call(self, service, method, *args, timeout=None, **kwargs):
        self.calls.append((service, method, kwargs))
        if isinstance(self.active, Exception):
            raise self.active
        return {"active": self.active}

    def call_many(self, calls, timeout=None):
        return [self.call(s, m, *a, **k) for s, m, a, k in calls]

    def __getattr__(self, service):
        return rpc._ServiceProxy(self, service)


KID = thumbprint(KEY.public_key())


def token(key=KEY, kid=KID, **overrides):
    """A token as identity signs it, but for `overrides` (None drops a claim; kid=None drops the kid)."""
    now = int(time.time())
    claims = {"iss": settings.current().public_url, "sub": "acc1", "sid": "sess1", "aud": "kadra", "typ": "access",
              "iat": now, "exp": now + 900}
    claims.update(overrides)
    claims = {k: v for k, v in claims.items() if v is not None}
    return jwt.encode(claims, key, algorithm="EdDSA", headers={"kid": kid} if kid else None)


@pytest.fixture
def fake_rpc():
    return FakeRpc()


@pytest.fixture
def client(fake_rpc):
    app = create_app({"TESTING": True, "RPC_CLIENT": fake_rpc, "JWT_PUBLIC_KEY": PUBLIC_PEM,
                      "KADRA_FEED_DISABLED": True})

    @app.route("/t/whoami")
    @authenticated
    def whoami():
        p = current_principal()
        return jsonify(account_id=p.account_id, session_id=p.session_id, device_id=p.device_id)

    @app.route("/t/device")
    @authenticated(device=True)
    def device_only():
        return jsonify(device_id=current_principal().device_id)

    return app.test_client()


def kadra(client):
    """The app's own state (gateway.state): its feed and its revocation set."""
    return client.application.extensions["kadra"]


@pytest.fixture
def live_feed(client, monkeypatch):
    monkeypatch.setattr(kadra(client).feed, "live", lambda: True)


def get(client, tok, path="/t/whoami"):
    return client.get(path, headers={"Authorization": f"Bearer {tok}"} if tok is not None else {})


def test_valid_token_gives_the_principal(client, live_feed):
    response = get(client, token())
    assert response.status_code == 200
    assert response.json == {"account_id": "acc1", "session_id": "sess1", "device_id": None}


def test_missing_token_is_401_problem_with_bearer_challenge(client):
    response = get(client, None)
    assert response.status_code == 401
    assert response.content_type == "application/problem+json"
    assert response.json["code"] == "unauthorized"
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def _b64json(data: dict) -> bytes:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=")


def _claims() -> dict:
    now = int(time.time())
    return {"iss": settings.current().public_url, "sub": "acc1", "sid": "s", "aud": "kadra", "typ": "access",
            "iat": now, "exp": now + 900}


def _none_token():
    # the published kid and the right claims: only the algorithm is wrong
    return (_b64json({"alg": "none", "typ": "JWT", "kid": KID}) + b"." + _b64json(_claims()) + b".").decode()


def _hs256_with_public_key():
    header, body = _b64json({"alg": "HS256", "typ": "JWT", "kid": KID}), _b64json(_claims())
    import hashlib
    import hmac
    sig = base64.urlsafe_b64encode(hmac.new(PUBLIC_PEM, header + b"." + body, hashlib.sha256).digest()).rstrip(b"=")
    return (header + b"." + body + b"." + sig).decode()


@pytest.mark.parametrize("bad", [
    pytest.param(lambda: _none_token(), id="alg-none"),
    pytest.param(lambda: _hs256_with_public_key(), id="alg-confusion-hs256"),
    pytest.param(lambda: token(key=OTHER_KEY), id="wrong-key"),
    pytest.param(lambda: token(key=OTHER_KEY, kid=thumbprint(OTHER_KEY.public_key())), id="unpublished-key"),
    pytest.param(lambda: token(kid=None), id="no-kid"),
    pytest.param(lambda: token(kid="no-such-key"), id="unknown-kid"),
    pytest.param(lambda: token(kid="../../etc/passwd"), id="path-as-kid"),
    pytest.param(lambda: token(iss="https://evil.example.com"), id="wrong-iss"),
    pytest.param(lambda: token(iss=None), id="no-iss"),
    pytest.param(lambda: token(exp=int(time.time()) - 60, iat=int(time.time()) - 1000), id="expired"),
    pytest.param(lambda: token(aud="other"), id="wrong-aud"),
    pytest.param(lambda: token(aud=None), id="no-aud"),
    pytest.param(lambda: token(typ="refresh"), id="typ-refresh"),
    pytest.param(lambda: token(sid=None), id="no-sid"),
    pytest.param(lambda: "rt_" + "A" * 43, id="opaque-refresh-token"),
    pytest.param(lambda: "", id="empty"),
])
def test_bad_tokens_are_401(client, live_feed, bad):
    response = get(client, bad())
    assert response.status_code == 401
    assert response.json["code"] == "unauthorized"
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_device_route_needs_a_device_token(client, live_feed):
    assert get(client, token(), "/t/device").status_code == 403
    response = get(client, token(did="dev1"), "/t/device")
    assert response.status_code == 200 and response.json == {"device_id": "dev1"}


def test_revoked_session_device_and_account_cutoff(client, live_feed):
    until = time.time() + 900
    assert get(client, token()).status_code == 200
    kadra(client).revocations.apply({"entries": [{"sid": "sess1", "until": until}]})
    assert get(client, token()).status_code == 401
    assert get(client, token(sid="sess2")).status_code == 200
    kadra(client).revocations.apply({"entries": [{"did": "dev9", "until": until}]})
    assert get(client, token(sid="sess3", did="dev9")).status_code == 401
    now = int(time.time())
    kadra(client).revocations.apply({"entries": [{"sub": "acc2", "before": now, "until": until}]})
    assert get(client, token(sub="acc2", sid="s4", iat=now - 10)).status_code == 401
    assert get(client, token(sub="acc2", sid="s5", iat=now)).status_code == 200


def test_with_the_feed_disabled_no_request_starts_the_feed_thread(client, live_feed):
    # The cause of the cutoff test's flake: the second request of an app started the feed thread
    # anyway; it reached the machine's broker and its resync (a fake's answer) emptied the set mid-test.
    for _ in range(3):
        assert get(client, token()).status_code == 200
    assert kadra(client).feed._thread is None


def test_a_snapshot_that_does_not_load_leaves_the_set_as_it_was():
    revs = auth.Revocations()
    revs.replace([{"sid": "a", "until": time.time() + 900}])
    with pytest.raises(Exception):
        revs.replace({"active": True})  # not a list of entries
    assert revs.is_revoked({"sid": "a"})


def test_expired_revocations_are_forgotten():
    revs = auth.Revocations()
    revs.replace([{"sid": "a", "until": 100.0}, {"did": "d", "until": 300.0}])
    assert revs.is_revoked({"sid": "a"}, now=50)
    assert not revs.is_revoked({"sid": "a"}, now=150)
    assert revs.is_revoked({"sid": "x", "did": "d"}, now=150)
    revs.is_revoked({"sid": "a"}, now=1000)
    assert len(revs) == 0


def test_without_a_live_feed_each_request_asks_identity(client, fake_rpc):
    assert get(client, token()).status_code == 200
    assert fake_rpc.calls[-1][:2] == ("identity", "check_access")
    assert fake_rpc.calls[-1][2]["sid"] == "sess1"
    fake_rpc.active = False
    assert get(client, token()).status_code == 401


def test_without_a_live_feed_and_no_broker_the_answer_is_503_not_200(client, fake_rpc):
    fake_rpc.active = rpc.BrokerUnavailable("down")
    assert get(client, token()).status_code == 503


def test_principal_is_frozen():
    p = Principal("a", "s", None)
    with pytest.raises(Exception):
        p.account_id = "b"
