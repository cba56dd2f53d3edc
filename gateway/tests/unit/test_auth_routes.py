"""The /accounts, /auth, /me and /me/second-factor routes with a fake RPC client: error mapping, spool,
composition; approving a web login on the trusted phone (the web's poll, the phone's routes). No network."""
import json
import os
import re
import time

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from kadra_defaults import settings
from kadra_defaults.contracts.ed25519_keys import thumbprint
from gateway import app as app_module, rpc
from gateway.spool import Spool
from gateway.app import create_app

KEY = Ed25519PrivateKey.generate()
PUBLIC_PEM = KEY.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


def remote(name, details):
    return rpc.RemoteError(f"identity.exceptions.{name}", name, "x", [details])


class FakeRpc:
    def __init__(self):
        self.answers = {}
        self.calls = []

    def call(self, service, method, *args, timeout=None, **kwargs):
        self.calls.append((service, method, args, kwargs))
        answer = self.answers.get((service, method))
        if callable(answer):
            answer = answer(*args, **kwargs)
        if isinstance(answer, Exception):
            raise answer
        return answer

    def call_many(self, calls, timeout=None):
        out = []
        for service, method, args, kwargs in calls:
            try:
                out.append(self.call(service, method, *args, **kwargs))
            except Exception as exc:  # noqa: BLE001 - call_many returns errors
                out.append(exc)
        return out

    def __getattr__(self, service):
        return rpc._ServiceProxy(self, service)


@pytest.fixture
def fake():
    return FakeRpc()


@pytest.fixture
def client(fake, monkeypatch, tmp_path):
    import gateway.api.accounts as accounts
    import gateway.api.auth as auth_api
    import gateway.api.health as health
    import gateway.api.me as me
    monkeypatch.setattr(app_module, "_api_modules", lambda: iter([accounts, auth_api, health, me]))
    monkeypatch.setenv("KADRA_GATEWAY_SPOOL_DIR", str(tmp_path / "spool"))
    app = create_app({"TESTING": True, "RPC_CLIENT": fake, "JWT_PUBLIC_KEY": PUBLIC_PEM, "KADRA_FEED_DISABLED": True})
    live_feed(app, monkeypatch)
    return app.test_client()


def live_feed(app, monkeypatch):
    """The app's feed counts as live (revocations checked locally); KADRA_FEED_DISABLED keeps it from starting."""
    monkeypatch.setattr(app.extensions["kadra"].feed, "live", lambda: True)


def access(sub="acc1", sid="s1"):
    now = int(time.time())
    return {"Authorization": "Bearer " + jwt.encode(
        {"iss": settings.current().public_url, "sub": sub, "sid": sid, "aud": "kadra", "typ": "access",
         "iat": now, "exp": now + 900}, KEY, algorithm="EdDSA", headers={"kid": thumbprint(KEY.public_key())})}


def test_login_passes_the_client_address_and_maps_errors(client, fake):
    fake.answers[("identity", "login")] = {"access_token": "a", "refresh_token": "r", "token_type": "Bearer",
                                           "expires_in": 900}
    assert client.post("/api/v1/auth/login", json={"email": "a@example.com", "password": "p"}).status_code == 200
    assert fake.calls[-1][3]["client_ip"] == "127.0.0.1"
    fake.answers[("identity", "login")] = remote("InvalidCredentials", {"detail": "wrong"})
    response = client.post("/api/v1/auth/login", json={"email": "a@example.com", "password": "p"})
    assert response.status_code == 401 and response.json["code"] == "unauthorized"
    fake.answers[("identity", "login")] = remote("Throttled", {"headers": {"Retry-After": 60},
                                                               "extra": {"retry_after": 60}})
    response = client.post("/api/v1/auth/login", json={"email": "a@example.com", "password": "p"})
    assert response.status_code == 429 and response.headers["Retry-After"] == "60"
    assert response.json["retry_after"] == 60


@pytest.mark.parametrize("body,field", [
    ({"password": "x"}, "email"), ({"email": "nope", "password": "x"}, "email"),
    ({"email": "a@example.com"}, "password"), ({"email": "a@example.com", "password": 5}, "password"),
])
def test_login_bad_input_names_the_field(client, body, field):
    response = client.post("/api/v1/auth/login", json=body)
    assert response.status_code == 422
    assert response.json["errors"][0]["field"] == field


def test_sign_up_validation_and_policy_errors(client, fake):
    response = client.post("/api/v1/accounts", json={"email": "a@example.com", "password": "x", "full_name": "",
                                                      "company_name": "C", "locale": "de"})
    assert response.status_code == 422
    assert {e["field"] for e in response.json["errors"]} == {"full_name", "locale"}
    fake.answers[("identity", "sign_up")] = remote("InvalidInput", {"errors": [
        {"field": "password", "message": "The password needs at least 12 characters.", "message_pl": "..."}]})
    response = client.post("/api/v1/accounts", json={"email": "a@example.com", "password": "x", "full_name": "A",
                                                      "company_name": "C"})
    assert response.status_code == 422 and response.json["errors"][0]["field"] == "password"


def test_sign_up_is_202_with_one_body_no_ids_and_passes_the_client_address(client, fake):
    fake.answers[("identity", "sign_up")] = {"account_id": "leaked", "company_id": "leaked"}  # never passed on
    body = {"email": "a@example.com", "password": "correct horse battery staple", "full_name": "A",
            "company_name": "C"}
    first = client.post("/api/v1/accounts", json=body)
    fake.answers[("identity", "sign_up")] = None
    second = client.post("/api/v1/accounts", json=dict(body, email="b@example.com"))
    assert first.status_code == second.status_code == 202
    strip = lambda r: {k: v for k, v in r.json.items() if k != "request_id"}  # noqa: E731
    assert strip(first) == strip(second) and set(strip(first)) == {"detail", "detail_pl"}
    assert "leaked" not in first.get_data(as_text=True)
    assert fake.calls[-1][3]["client_ip"] == "127.0.0.1" and fake.calls[-1][3]["locale"] == "pl"
    fake.answers[("identity", "sign_up")] = remote("RateLimited", {"code": "rate_limited", "detail": "Too many",
                                                                  "headers": {"Retry-After": "60"}})
    limited = client.post("/api/v1/accounts", json=body)
    assert limited.status_code == 429 and limited.headers["Retry-After"] == "60"


def test_confirm_answers_the_ids_and_maps_a_bad_token_and_an_unfinished_company(client, fake):
    fake.answers[("identity", "confirm_sign_up")] = {"account_id": "acc1", "company_id": "co1"}
    response = client.post("/api/v1/accounts/confirm", json={"token": "t" * 43})
    assert response.status_code == 200 and response.json == {"account_id": "acc1", "company_id": "co1"}
    assert fake.calls[-1][3] == {"token": "t" * 43}
    fake.answers[("identity", "confirm_sign_up")] = remote("InvalidToken", {"code": "invalid_token", "errors": [
        {"field": "token", "message": "Invalid, used or expired token.", "message_pl": "..."}]})
    response = client.post("/api/v1/accounts/confirm", json={"token": "t" * 43})
    assert response.status_code == 400 and response.json["errors"][0]["field"] == "token"
    fake.answers[("identity", "confirm_sign_up")] = remote("Unavailable", {"code": "unavailable",
                                                                          "headers": {"Retry-After": "5"}})
    response = client.post("/api/v1/accounts/confirm", json={"token": "t" * 43})
    assert response.status_code == 503 and response.headers["Retry-After"] == "5"
    for bad in ({}, {"token": ""}, {"token": 5}, {"token": "x" * 513}):
        response = client.post("/api/v1/accounts/confirm", json=bad)
        assert response.status_code == 422 and response.json["errors"][0]["field"] == "token", bad


def test_forgot_is_202_with_one_body_and_spools_when_the_broker_is_down(client, fake, tmp_path):
    fake.answers[("identity", "request_password_reset")] = None
    first = client.post("/api/v1/auth/password/forgot", json={"email": "a@example.com"})
    fake.answers[("identity", "request_password_reset")] = rpc.BrokerUnavailable("down")
    second = client.post("/api/v1/auth/password/forgot", json={"email": "b@example.com"})
    assert first.status_code == second.status_code == 202
    strip = lambda r: {k: v for k, v in r.json.items() if k != "request_id"}  # noqa: E731
    assert strip(first) == strip(second)
    spooled = os.listdir(tmp_path / "spool")
    assert len(spooled) == 1
    with open(tmp_path / "spool" / spooled[0]) as f:
        assert json.load(f) == {"service": "identity", "method": "request_password_reset",
                                "kwargs": {"email": "b@example.com", "client_ip": "127.0.0.1"}}


def test_spooled_calls_are_made_once_by_the_feed_thread(tmp_path, monkeypatch, fake):
    f = Spool(str(tmp_path), fake)
    f.call_later("identity", "request_password_reset", email="a@example.com")
    fake.answers[("identity", "request_password_reset")] = rpc.BrokerUnavailable("down")
    f.replay()
    assert len(os.listdir(tmp_path)) == 1  # kept for later
    fake.answers[("identity", "request_password_reset")] = None
    f.replay()
    assert os.listdir(tmp_path) == []
    assert [c[1] for c in fake.calls] == ["request_password_reset"] * 2


def test_me_joins_identity_and_users(client, fake):
    fake.answers[("identity", "get_accounts")] = [{"account_id": "acc1", "email": "a@example.com",
                                                   "full_name": "A", "locale": "pl"}]
    fake.answers[("users", "companies_of")] = [{"company_id": "c1", "name": "C", "role": "owner"}]
    response = client.get("/api/v1/me", headers=access())
    assert response.status_code == 200
    assert response.json["companies"] == [{"company_id": "c1", "name": "C", "role": "owner"}]
    fake.answers[("identity", "get_accounts")] = []
    assert client.get("/api/v1/me", headers=access()).status_code == 401


def test_logout_and_change_password_use_the_principal(client, fake):
    assert client.post("/api/v1/auth/logout", json={}, headers=access("acc9", "s9")).status_code == 204
    assert fake.calls[-1][1:] == ("logout", (), {"account_id": "acc9", "session_id": "s9", "refresh_token": None})
    assert client.post("/api/v1/auth/logout", json={}).status_code == 401
    response = client.post("/api/v1/auth/password/change", headers=access("acc9", "s9"),
                           json={"current_password": "a", "new_password": "b"})
    assert response.status_code == 204
    assert fake.calls[-1][3]["session_id"] == "s9"


def test_reset_with_a_bad_token_is_400(client, fake):
    fake.answers[("identity", "reset_password")] = remote("InvalidToken", {"detail": "bad"})
    response = client.post("/api/v1/auth/password/reset", json={"token": "t", "new_password": "p"})
    assert response.status_code == 400 and response.json["code"] == "bad_request"


def test_openapi_names_the_bearer_scheme(client):
    spec = client.get("/api/v1/openapi.json").json
    assert spec["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"
    assert spec["paths"]["/api/v1/me"]["get"]["security"] == [{"bearerAuth": []}]
    assert "security" not in spec["paths"]["/api/v1/auth/login"]["post"]


def _login_from(client, fake, **headers):
    fake.answers[("identity", "login")] = {"access_token": "a", "refresh_token": "r", "token_type": "Bearer",
                                           "expires_in": 900}
    response = client.post("/api/v1/auth/login", json={"email": "a@example.com", "password": "p"}, headers=headers,
                           environ_base={"REMOTE_ADDR": "10.0.0.5"})
    assert response.status_code == 200
    return fake.calls[-1][3]["client_ip"]


def test_without_trusted_proxies_a_forwarded_for_header_is_ignored(client, fake):
    # clients connect directly: anyone could send the header to dodge the per-client limit
    assert _login_from(client, fake, **{"X-Forwarded-For": "198.51.100.7"}) == "10.0.0.5"
    assert _login_from(client, fake) == "10.0.0.5"


@pytest.mark.parametrize("proxies, forwarded, expected", [
    ("1", "198.51.100.7", "198.51.100.7"),
    # what the client itself put in front is not believed: only the hop our one proxy appended
    ("1", "203.0.113.9, 198.51.100.7", "198.51.100.7"),
    ("2", "203.0.113.9, 198.51.100.7", "203.0.113.9"),
    ("1", None, "10.0.0.5"),
])
def test_behind_trusted_proxies_the_client_address_is_the_forwarded_one(fake, monkeypatch, tmp_path, proxies,
                                                                         forwarded, expected):
    monkeypatch.setenv("KADRA_TRUSTED_PROXIES", proxies)
    import gateway.api.auth as auth_api
    monkeypatch.setattr(app_module, "_api_modules", lambda: iter([auth_api]))
    app = create_app({"TESTING": True, "RPC_CLIENT": fake, "JWT_PUBLIC_KEY": PUBLIC_PEM, "KADRA_FEED_DISABLED": True})
    live_feed(app, monkeypatch)
    headers = {"X-Forwarded-For": forwarded} if forwarded else {}
    assert _login_from(app.test_client(), fake, **headers) == expected


@pytest.mark.parametrize("bad", ["-1", "one", "1.5"])
def test_a_bad_trusted_proxies_value_names_the_setting(monkeypatch, bad):
    monkeypatch.setenv("KADRA_TRUSTED_PROXIES", bad)
    with pytest.raises(ValueError, match="KADRA_TRUSTED_PROXIES"):
        create_app({"TESTING": True, "RPC_CLIENT": FakeRpc(), "KADRA_FEED_DISABLED": True})


# -- the second factor: the pending login passes through, the QR code is drawn here, no code at all names `code`

@pytest.fixture
def sf_client(fake, monkeypatch, tmp_path):
    """The auth and second-factor routes only."""
    import gateway.api.auth as auth_api
    import gateway.api.second_factor as second_factor
    monkeypatch.setattr(app_module, "_api_modules", lambda: iter([auth_api, second_factor]))
    monkeypatch.setenv("KADRA_GATEWAY_SPOOL_DIR", str(tmp_path / "spool"))
    app = create_app({"TESTING": True, "RPC_CLIENT": fake, "JWT_PUBLIC_KEY": PUBLIC_PEM, "KADRA_FEED_DISABLED": True})
    live_feed(app, monkeypatch)
    return app.test_client()


def test_a_pending_login_is_answered_as_it_is_with_no_tokens(sf_client, fake):
    pending = {"second_factor_required": True, "pending_token": "p" * 43, "methods": ["totp", "recovery_code"],
               "expires_in": 300}
    fake.answers[("identity", "login")] = pending
    response = sf_client.post("/api/v1/auth/login", json={"email": "a@example.com", "password": "p"})
    assert response.status_code == 200 and response.json == pending


@pytest.mark.parametrize("path, body", [
    ("/api/v1/auth/login/second-factor", {"pending_token": "p" * 43}),
    ("/api/v1/me/second-factor/totp/disable", {"password": "pw"}),
])
def test_no_code_at_all_names_the_code_field(sf_client, fake, path, body):
    response = sf_client.post(path, json=body, headers=access())
    assert response.status_code == 422 and response.json["errors"][0]["field"] == "code"
    assert response.json["errors"][0]["message_pl"].startswith("Wpisz aktualny kod")
    assert not fake.calls


def test_a_wrong_code_is_401_and_a_spent_pending_login_400(sf_client, fake):
    fake.answers[("identity", "complete_login")] = remote("InvalidSecondFactor", {
        "code": "invalid_second_factor", "errors": [{"field": "code", "message": "x", "message_pl": "y"}]})
    response = sf_client.post("/api/v1/auth/login/second-factor", json={"pending_token": "p" * 43, "code": "123456"})
    assert response.status_code == 401 and response.json["errors"][0]["field"] == "code"
    assert fake.calls[-1][3] == {"pending_token": "p" * 43, "code": "123456", "recovery_code": None,
                                 "client_ip": "127.0.0.1"}
    fake.answers[("identity", "complete_login")] = remote("InvalidToken", {"code": "invalid_token"})
    response = sf_client.post("/api/v1/auth/login/second-factor", json={"pending_token": "p" * 43, "code": "123456"})
    assert response.status_code == 400


def test_begin_draws_the_qr_code_here_as_svg(sf_client, fake):
    uri = "otpauth://totp/Kadra:a%40example.com?secret=JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP&issuer=Kadra"
    fake.answers[("identity", "begin_totp")] = {"secret": "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP", "otpauth_uri": uri,
                                               "expires_in": 900}
    response = sf_client.post("/api/v1/me/second-factor/totp", headers=access())
    assert response.status_code == 200
    svg = response.json["qr_svg"]
    assert svg.startswith("<svg") and svg.rstrip().endswith("</svg>") and "http" not in svg.replace(
        "http://www.w3.org/2000/svg", "")
    assert fake.calls[-1][:3] == ("identity", "begin_totp", ("acc1",))


# -- approving a web login on the trusted phone: the web's poll (202 while waiting, the pair after, 403 denied,
# 410 expired), the phone's routes (device token, devices' proof first, then identity's decision), on and off

PENDING = "p" * 43
APPROVAL = "a" * 32


def remote_of(module, name, details):
    return rpc.RemoteError(f"{module}.exceptions.{name}", name, "x", [details])


def device_access(sub="acc1", sid="s1", did="dev1"):
    now = int(time.time())
    return {"Authorization": "Bearer " + jwt.encode(
        {"iss": settings.current().public_url, "sub": sub, "sid": sid, "did": did, "aud": "kadra", "typ": "access",
         "iat": now, "exp": now + 900}, KEY, algorithm="EdDSA", headers={"kid": thumbprint(KEY.public_key())})}


@pytest.fixture
def ap_client(fake, monkeypatch, tmp_path):
    import gateway.api.approvals as approvals
    import gateway.api.auth as auth_api
    import gateway.api.second_factor as second_factor
    monkeypatch.setattr(app_module, "_api_modules", lambda: iter([approvals, auth_api, second_factor]))
    monkeypatch.setenv("KADRA_GATEWAY_SPOOL_DIR", str(tmp_path / "spool"))
    app = create_app({"TESTING": True, "RPC_CLIENT": fake, "JWT_PUBLIC_KEY": PUBLIC_PEM, "KADRA_FEED_DISABLED": True})
    live_feed(app, monkeypatch)
    return app.test_client()


def test_the_login_passes_the_browser_on_and_answers_the_number(ap_client, fake):
    pending = {"second_factor_required": True, "pending_token": PENDING, "methods": ["phone"], "expires_in": 300,
               "number": "07", "approval_expires_in": 120}
    fake.answers[("identity", "login")] = pending
    response = ap_client.post("/api/v1/auth/login", json={"email": "a@example.com", "password": "p"},
                           headers={"User-Agent": "Firefox/130 " + "x" * 400})
    assert response.status_code == 200 and response.json == pending
    assert fake.calls[-1][3]["user_agent"].startswith("Firefox/130") and len(fake.calls[-1][3]["user_agent"]) == 300


def test_the_web_poll_is_202_while_waiting_then_the_pair(ap_client, fake):
    fake.answers[("identity", "complete_login")] = {"status": "waiting", "number": "07", "expires_in": 90}
    body = {"pending_token": PENDING, "method": "phone"}
    response = ap_client.post("/api/v1/auth/login/second-factor", json=body)
    assert response.status_code == 202 and response.json == {"status": "waiting", "number": "07", "expires_in": 90}
    assert fake.calls[-1][3]["via"] == "phone" and "code" not in fake.calls[-1][3]
    fake.answers[("identity", "complete_login")] = {"access_token": "a", "refresh_token": "r", "token_type": "Bearer",
                                                    "expires_in": 900}
    response = ap_client.post("/api/v1/auth/login/second-factor", json=body)
    assert response.status_code == 200 and response.json["access_token"] == "a"


@pytest.mark.parametrize("name, status, code", [
    ("LoginDenied", 403, "login_denied"), ("ApprovalExpired", 410, "approval_expired"),
    ("ApprovalNotFound", 404, "not_found"), ("AlreadyDecided", 409, "conflict"),
])
def test_the_approval_errors_map_to_their_statuses(ap_client, fake, name, status, code):
    snake = re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()
    fake.answers[("identity", "complete_login")] = remote_of("identity", name, {"code": snake, "errors": [
        {"field": "pending_token", "message": "x", "message_pl": "y"}]})
    response = ap_client.post("/api/v1/auth/login/second-factor", json={"pending_token": PENDING, "method": "phone"})
    assert response.status_code == status and response.json["code"] == code


def test_an_unknown_method_names_the_field(ap_client, fake):
    response = ap_client.post("/api/v1/auth/login/second-factor", json={"pending_token": PENDING, "method": "sms"})
    assert response.status_code == 422 and response.json["errors"][0]["field"] == "method"
    assert not fake.calls


def test_the_phone_routes_need_this_devices_token(ap_client, fake):
    assert ap_client.get("/api/v1/devices/dev1/approvals", headers=access()).status_code == 403
    assert ap_client.get("/api/v1/devices/dev2/approvals", headers=device_access()).status_code == 403
    assert ap_client.get("/api/v1/devices/dev1/approvals").status_code == 401
    assert not fake.calls


def test_the_phone_lists_after_devices_vouched_for_it(ap_client, fake):
    item = {"approval_id": APPROVAL, "purpose": "login", "app": "web", "client_ip": "203.0.113.7",
            "user_agent": "Firefox", "requested_at": "2026-12-07T01:00:00+00:00", "expires_in": 100}
    fake.answers[("identity", "login_approvals")] = [item]
    response = ap_client.get("/api/v1/devices/dev1/approvals", headers=device_access())
    assert response.status_code == 200 and response.json == {"approvals": [item]}
    assert [c[:3] for c in fake.calls] == [("devices", "approving_device", ("acc1", "dev1")),
                                           ("identity", "login_approvals", ("acc1",))]
    fake.answers[("devices", "approving_device")] = remote_of("devices", "DeviceBlocked", {"code": "device_blocked"})
    assert ap_client.get("/api/v1/devices/dev1/approvals", headers=device_access()).status_code == 423


def test_approving_checks_the_proof_at_devices_before_identity_decides(ap_client, fake):
    fake.answers[("identity", "decide_login")] = {"decision": "approved"}
    body = {"number": "07", "challenge": "c1.x", "signature": "sig", "pin": "482915"}
    response = ap_client.post(f"/api/v1/devices/dev1/approvals/{APPROVAL}/approve", json=body, headers=device_access())
    assert response.status_code == 200 and response.json == {"decision": "approved"}
    (check, decide) = fake.calls
    assert check[:3] == ("devices", "check_approval", ("acc1", "dev1", APPROVAL, "07", "c1.x"))
    assert check[3] == {"signature": "sig", "pin": "482915", "biometric_signature": None}
    assert decide[:3] == ("identity", "decide_login", ("acc1", "dev1", APPROVAL, "approve"))
    assert decide[3] == {"number": "07"}
    fake.calls.clear()
    fake.answers[("devices", "check_approval")] = remote_of("devices", "LoginRefused", {"code": "login_refused"})
    response = ap_client.post(f"/api/v1/devices/dev1/approvals/{APPROVAL}/approve", json=body, headers=device_access())
    assert response.status_code == 401 and [c[1] for c in fake.calls] == ["check_approval"]


@pytest.mark.parametrize("body, field", [
    ({"challenge": "c1.x", "signature": "s", "pin": "482915"}, "number"),
    ({"number": "7", "challenge": "c1.x", "signature": "s", "pin": "482915"}, "number"),
    ({"number": "07", "signature": "s", "pin": "482915"}, "challenge"),
    ({"number": "07", "challenge": "c1.x", "signature": "s", "pin": "48291x"}, "pin"),
])
def test_a_bad_approval_names_the_field(ap_client, fake, body, field):
    response = ap_client.post(f"/api/v1/devices/dev1/approvals/{APPROVAL}/approve", json=body, headers=device_access())
    assert response.status_code == 422 and response.json["errors"][0]["field"] == field
    assert not fake.calls


def test_denying_needs_only_the_device(ap_client, fake):
    fake.answers[("identity", "decide_login")] = {"decision": "denied"}
    response = ap_client.post(f"/api/v1/devices/dev1/approvals/{APPROVAL}/deny", headers=device_access())
    assert response.status_code == 200 and response.json == {"decision": "denied"}
    assert [c[1] for c in fake.calls] == ["approving_device", "decide_login"]
    assert fake.calls[-1][2] == ("acc1", "dev1", APPROVAL, "deny")


def test_turning_it_off_answers_202_while_the_phone_decides(ap_client, fake):
    fake.answers[("identity", "disable_phone")] = {"status": "waiting", "pending_token": PENDING, "number": "42",
                                                   "expires_in": 120}
    response = ap_client.post("/api/v1/me/second-factor/phone/disable", json={"password": "pw"}, headers=access())
    assert response.status_code == 202 and response.json["number"] == "42"
    fake.answers[("identity", "disable_phone")] = {"status": "done"}
    response = ap_client.post("/api/v1/me/second-factor/phone/disable", json={"pending_token": PENDING},
                           headers=access())
    assert response.status_code == 200 and response.json == {"status": "done"}
    assert fake.calls[-1][3] == {"pending_token": PENDING}
    response = ap_client.post("/api/v1/me/second-factor/phone/disable", json={}, headers=access())
    assert response.status_code == 422 and response.json["errors"][0]["field"] == "password"


def test_turning_it_on_passes_the_password_and_code(ap_client, fake):
    response = ap_client.post("/api/v1/me/second-factor/phone", json={"password": "pw", "code": "123456"},
                           headers=access())
    assert response.status_code == 204
    assert fake.calls[-1][:3] == ("identity", "enable_phone", ("acc1", "pw"))
    assert fake.calls[-1][3]["code"] == "123456"
    response = ap_client.post("/api/v1/me/second-factor/phone", json={}, headers=access())
    assert response.status_code == 422 and response.json["errors"][0]["field"] == "password"
