"""The published keys (/.well-known/jwks.json), verification by kid from the key ring, and the management
port (/metrics only there). No network: the ports are told apart by the port the request came in on."""
import os
import time

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from flask import jsonify

from kadra_defaults import settings
from kadra_defaults.contracts import access_tokens as at
from kadra_defaults.contracts import ed25519_keys as ed
from gateway import app as app_module
from gateway.app import create_app, local_port
from gateway.auth import authenticated, current_principal
from gateway.permissions import fast_principal

MANAGEMENT = "http://localhost:9000"


class FakeRpc:
    """Every service answers (readyz); every session is active."""

    def call(self, service, method, *args, timeout=None, **kwargs):
        return {"active": True} if method == "check_access" else "pong"

    def call_many(self, calls, timeout=None):
        return [self.call(s, m, *a, **k) for s, m, a, k in calls]


@pytest.fixture
def ring(tmp_path, monkeypatch):
    """A key-ring folder the gateway reads its public keys from (looked at on every call here)."""
    monkeypatch.setenv("KADRA_JWT_PUBLIC_KEYS_DIR", str(tmp_path))
    monkeypatch.setattr(at, "RELOAD_EVERY", 0.0)
    return tmp_path


def _add(folder, kid):
    key = Ed25519PrivateKey.generate()
    (folder / f"{kid}.pub.pem").write_bytes(ed.public_pem(key.public_key()))
    return key


def _token(key, kid, **overrides):
    now = int(time.time())
    claims = {"iss": settings.current().public_url, "sub": "acc1", "sid": "s1", "aud": "kadra", "typ": "access",
              "iat": now, "exp": now + 900, **overrides}
    return jwt.encode(claims, key, algorithm="EdDSA", headers={"kid": kid})


@pytest.fixture
def app(ring, monkeypatch):
    app = create_app({"TESTING": True, "RPC_CLIENT": FakeRpc(), "KADRA_FEED_DISABLED": True})
    monkeypatch.setattr(app.extensions["kadra"].feed, "live", lambda: True)

    @app.route("/t/whoami")
    @authenticated
    def whoami():
        return jsonify(account_id=current_principal().account_id)

    @app.route("/t/fast")
    def fast():
        return jsonify(account_id=fast_principal().account_id)

    return app


def _get(client, path, token, **kwargs):
    return client.get(path, headers={"Authorization": f"Bearer {token}"}, **kwargs)


def test_jwks_lists_every_published_key_with_its_kid(app, ring):
    a, b = _add(ring, "2025-a"), _add(ring, "2025-b")
    response = app.test_client().get("/.well-known/jwks.json")
    assert response.status_code == 200 and response.headers["Cache-Control"].startswith("public, max-age=")
    keys = response.json["keys"]
    assert [k["kid"] for k in keys] == ["2025-a", "2025-b"]
    assert keys[0] == ed.jwk("2025-a", a.public_key()) and keys[1] == ed.jwk("2025-b", b.public_key())
    assert all(set(k) == {"kty", "crv", "x", "kid", "use", "alg"} for k in keys)
    # PyJWT reads it as a verifier of another app would
    key_set = jwt.PyJWKSet.from_dict(response.json)
    token = _token(b, "2025-b")
    claims = jwt.decode(token, key_set["2025-b"].key, algorithms=["EdDSA"], audience="kadra",
                        issuer=settings.current().public_url)
    assert claims["sub"] == "acc1"


def test_a_token_is_checked_with_the_key_its_kid_names_and_no_other(app, ring):
    a, b = _add(ring, "key-a"), _add(ring, "key-b")
    client = app.test_client()
    assert _get(client, "/t/whoami", _token(a, "key-a")).status_code == 200
    assert _get(client, "/t/whoami", _token(b, "key-b")).status_code == 200
    assert _get(client, "/t/whoami", _token(a, "key-b")).status_code == 401  # a's signature, b's name
    assert _get(client, "/t/whoami", _token(a, "key-c")).status_code == 401


def test_a_retired_key_is_refused_at_once_even_for_a_token_verified_before(app, ring):
    old = _add(ring, "old")
    client = app.test_client()
    token = _token(old, "old")
    # the permission-check path keeps the claims of tokens it verified; retirement must still reach them
    assert _get(client, "/t/fast", token).status_code == 200
    assert _get(client, "/t/fast", token).status_code == 200
    os.unlink(ring / "old.pub.pem")
    assert _get(client, "/t/fast", token).status_code == 401
    assert _get(client, "/t/whoami", token).status_code == 401
    assert client.get("/.well-known/jwks.json").json == {"keys": []}


def test_a_key_added_on_disk_is_accepted_without_a_restart(app, ring):
    client = app.test_client()
    key = Ed25519PrivateKey.generate()
    assert _get(client, "/t/whoami", _token(key, "fresh")).status_code == 401
    (ring / "fresh.pub.pem").write_bytes(ed.public_pem(key.public_key()))
    assert _get(client, "/t/whoami", _token(key, "fresh")).status_code == 200


def test_metrics_only_on_the_management_port(app):
    client = app.test_client()
    client.get("/healthz")
    public = client.get("/metrics")
    assert public.status_code == 404 and public.content_type == "application/problem+json"
    # a Host header naming the management port changes nothing: the listening port decides
    assert client.get("/metrics", headers={"Host": "localhost:9000"}).status_code == 404
    metrics = client.get("/metrics", base_url=MANAGEMENT)
    assert metrics.status_code == 200 and metrics.content_type.startswith("text/plain")
    assert 'route="/healthz"' in metrics.text
    assert client.get("/healthz", base_url=MANAGEMENT).json == {"status": "ok"}


def test_the_management_port_serves_nothing_of_the_api(app):
    client = app.test_client()
    for path in ("/api/v1/openapi.json", "/api/v1/me", "/.well-known/jwks.json", "/app/"):
        assert client.get(path, base_url=MANAGEMENT).status_code == 404, path
    assert "/metrics" not in client.get("/api/v1/openapi.json").json["paths"]


def test_readyz_on_the_management_port(app):
    response = app.test_client().get("/readyz", base_url=MANAGEMENT)
    assert response.status_code == 200 and response.json["status"] == "ready"


def test_under_gunicorn_the_port_is_the_accepting_socket_s():
    class Sock:
        def __init__(self, port):
            self.port = port

        def getsockname(self):
            return ("0.0.0.0", self.port)

    assert local_port({"gunicorn.socket": Sock(9000), "SERVER_PORT": "8000"}) == 9000
    assert local_port({"gunicorn.socket": Sock(8000), "SERVER_PORT": "9000"}) == 8000
    assert local_port({"SERVER_PORT": "9000"}) == 9000
    assert local_port({"SERVER_PORT": "x"}) is None
    assert app_module.ByPort  # the WSGI dispatcher create_app installs
