"""The gateway's own behaviour with a fake RPC client: errors, readiness, request ids. No network."""
import pytest

from gateway import rpc
from gateway.app import create_app


class FakeRpc:
    """Answers call_many from a table: service -> result or exception."""

    def __init__(self, answers=None):
        self.answers = answers or {}
        self.calls = []

    def call_many(self, calls, timeout=None):
        self.calls.extend(calls)
        return [self.answers.get(service, {"service": service}) for service, *_ in calls]

    def call(self, service, method, *args, timeout=None, **kwargs):
        (result,) = self.call_many([(service, method, args, kwargs)], timeout)
        if isinstance(result, Exception):
            raise result
        return result

    def __getattr__(self, service):
        return rpc._ServiceProxy(self, service)


@pytest.fixture
def make_client():
    def make(answers=None):
        app = create_app({"TESTING": True, "RPC_CLIENT": FakeRpc(answers)})
        return app.test_client()
    return make


def test_readyz_200_when_every_service_answers(make_client):
    response = make_client().get("/readyz")
    assert response.status_code == 200
    assert response.json["checks"] == {"broker": "ok", "identity": "ok", "users": "ok", "devices": "ok", "notify": "ok"}


@pytest.mark.parametrize("error,state", [
    (rpc.CallTimeout("users", "ping", 2), "timeout"),
    (rpc.ServiceUnavailable("users"), "not running"),
    (rpc.RemoteError("pymongo.errors.ServerSelectionTimeoutError", "ServerSelectionTimeoutError", "x"),
     "database unavailable"),
])
def test_readyz_503_names_the_missing_service(make_client, error, state):
    response = make_client({"users": error}).get("/readyz")
    assert response.status_code == 503
    assert response.content_type == "application/problem+json"
    assert response.json["missing"] == ["users"]
    assert response.json["checks"]["users"] == state


def test_readyz_503_names_the_broker_when_it_is_down(make_client):
    down = rpc.BrokerUnavailable("down")
    response = make_client({s: down for s in ("identity", "users", "devices", "notify")}).get("/readyz")
    assert response.status_code == 503
    assert response.json["missing"] == ["broker"]


@pytest.mark.parametrize("error,status,code", [
    (rpc.BrokerUnavailable("down"), 503, "service_unavailable"),
    (rpc.ServiceUnavailable("devices"), 503, "service_unavailable"),
    (rpc.CallTimeout("devices", "issue_challenge", 4), 504, "service_timeout"),
    (rpc.RemoteError("devices.exceptions.DeviceNotFound", "DeviceNotFound", "x"), 404, "not_found"),
    (rpc.RemoteError("somewhere.Unknown", "Unknown", "boom"), 500, "internal_error"),
    (rpc.RemoteError("pymongo.errors.AutoReconnect", "AutoReconnect", "boom"), 503, "service_unavailable"),
    (rpc.RemoteError("pymongo.errors.ServerSelectionTimeoutError", "ServerSelectionTimeoutError", "boom"), 503,
     "service_unavailable"),
    # users called identity, whose database was down: nameko re-raises it in users as a RemoteError
    (rpc.RemoteError("nameko.exceptions.RemoteError", "RemoteError", "AutoReconnect 127.0.0.1:27017: boom"), 503,
     "service_unavailable"),
    (rpc.RemoteError("nameko.exceptions.UnknownService", "UnknownService", "boom"), 503, "service_unavailable"),
    (rpc.RemoteError("nameko.exceptions.RemoteError", "RemoteError", "KeyError boom"), 500, "internal_error"),
])
def test_rpc_errors_become_problem_json(make_client, error, status, code):
    response = make_client({"devices": error}).post("/api/v1/devices/abc/challenge")
    assert response.status_code == status
    assert response.content_type == "application/problem+json"
    body = response.json
    assert body["code"] == code and body["status"] == status
    assert body["title"] and body["title_pl"] and body["detail"] and body["detail_pl"]
    assert "boom" not in response.get_data(as_text=True)  # remote internals never leak
    if status in (503, 504):
        assert response.headers["Retry-After"]


@pytest.mark.parametrize("error,status,code", [
    # a service on kadra_defaults' DomainError names its code; any status it still sends is ignored
    (rpc.RemoteError("devices.exceptions.DeviceBlocked", "DeviceBlocked", "x",
                     [{"code": "device_blocked", "status": 418, "detail": "Blocked."}]), 423, "device_blocked"),
    (rpc.RemoteError("devices.exceptions.Renamed", "Renamed", "x", [{"code": "pin_not_set"}]), 409, "conflict"),
    # a service not migrated yet: its class name in snake case
    (rpc.RemoteError("devices.exceptions.LoginRefused", "LoginRefused", "x", [{"detail": "No."}]), 401,
     "unauthorized"),
    # the broker's own NotFound stays a transient failure, whatever its class name says
    (rpc.RemoteError("amqp.exceptions.NotFound", "NotFound", "x"), 503, "service_unavailable"),
])
def test_service_errors_are_read_by_their_code(make_client, error, status, code):
    response = make_client({"devices": error}).post("/api/v1/devices/abc/challenge")
    assert response.status_code == status
    assert response.json["code"] == code and response.json["status"] == status


def test_a_throttled_answer_keeps_its_headers_and_extra(make_client):
    error = rpc.RemoteError("devices.exceptions.Throttled", "Throttled", "x",
                            [{"code": "throttled", "headers": {"Retry-After": 60}, "extra": {"retry_after": 60}}])
    response = make_client({"devices": error}).post("/api/v1/devices/abc/challenge")
    assert response.status_code == 429
    assert response.headers["Retry-After"] == "60" and response.json["retry_after"] == 60


def test_the_gateways_own_field_messages_come_in_polish(make_client):
    response = make_client().post("/api/v1/devices/activate", json={
        "email": "a@b.pl", "password": "x", "device_name": "P", "platform": "win", "public_key": "AAAA"})
    assert response.status_code == 422
    by_field = {e["field"]: e["message_pl"] for e in response.json["errors"]}
    assert by_field == {"platform": "Dozwolone wartości: android, ios.",
                        "public_key": "Klucz publiczny Ed25519 to base64 dokładnie 32 bajtów."}


@pytest.mark.parametrize("data,content_type,status,code", [
    ("{bad", "application/json", 400, "invalid_json"),
    ("a=b", "application/x-www-form-urlencoded", 415, "unsupported_media_type"),
])
def test_bodies_must_be_json(make_client, data, content_type, status, code):
    response = make_client().post("/api/v1/devices/abc/challenge", data=data, content_type=content_type)
    assert response.status_code == status
    assert response.json["code"] == code


def test_oversized_body_is_413(make_client):
    response = make_client().post("/api/v1/devices/abc/challenge", data="[" + "1," * 40000 + "1]",
                                  content_type="application/json")
    assert response.status_code == 413
    assert response.content_type == "application/problem+json"


def test_unknown_route_is_problem_json_404(make_client):
    response = make_client().get("/nothing/here")
    assert response.status_code == 404
    assert response.content_type == "application/problem+json"


def test_request_id_from_caller_is_kept_and_a_bad_one_replaced(make_client):
    client = make_client()
    assert client.get("/healthz", headers={"X-Request-ID": "abc-123"}).headers["X-Request-ID"] == "abc-123"
    replaced = client.get("/healthz", headers={"X-Request-ID": "bad id; with spaces"}).headers["X-Request-ID"]
    assert replaced != "bad id; with spaces" and len(replaced) == 32


def test_request_id_travels_with_the_rpc(make_client):
    fake = FakeRpc()
    seen = {}

    def call_many(calls, timeout=None):
        from kadra_defaults.tracing import current_request_id
        seen["request_id"] = current_request_id()
        return [{"ok": True} for _ in calls]

    fake.call_many = call_many
    app = create_app({"TESTING": True, "RPC_CLIENT": fake})
    app.test_client().get("/readyz", headers={"X-Request-ID": "follow-me"})
    assert seen["request_id"] == "follow-me"
