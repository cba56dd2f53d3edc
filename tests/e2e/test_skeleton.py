"""The walking skeleton against the real parts: readiness, RPC to each service, failure and recovery."""
import time
import uuid

import pytest
import requests

from tests.support import signup
from tests.support.infra import infra, wait_until

pytestmark = pytest.mark.e2e

SERVICES = ("identity", "users", "devices", "notify")


def test_readyz_is_200_when_everything_runs(api):
    response = api.get(api.url("/readyz"))
    assert response.status_code == 200
    assert response.json()["checks"] == {"broker": "ok", **{s: "ok" for s in SERVICES}}


def test_each_service_answers_rpc_and_writes_and_reads_its_own_database(api, mongo, system_env):
    prefix = system_env["KADRA_MONGO_DB_PREFIX"]
    before = {s: mongo[f"{prefix}_{s}"]["heartbeat"].find_one({"_id": s}) for s in SERVICES}
    time.sleep(0.01)
    assert api.get(api.url("/readyz")).status_code == 200
    for service in SERVICES:
        doc = mongo[f"{prefix}_{service}"]["heartbeat"].find_one({"_id": service})
        assert doc is not None, f"{service} wrote nothing to its own database"
        assert before[service] is None or doc["at"] > before[service]["at"], f"{service} did not write again"
        # and nobody else's database got this service's heartbeat
        for other in SERVICES:
            if other != service:
                assert mongo[f"{prefix}_{other}"]["heartbeat"].find_one({"_id": service}) is None


def test_healthz_and_metrics(api, system):
    assert api.get(api.url("/healthz")).json() == {"status": "ok"}
    api.get(api.url("/readyz"))
    # metrics on the management port only (KADRA_MANAGEMENT_PORT), never on the public one
    metrics = api.get(system.management_url + "/metrics")
    assert metrics.status_code == 200
    assert metrics.headers["Content-Type"].startswith("text/plain")
    assert 'kadra_http_requests_total{method="GET",route="/readyz"' in metrics.text
    public = api.get(api.url("/metrics"))
    assert public.status_code == 404 and "kadra_http_requests_total" not in public.text
    assert api.get(system.management_url + "/readyz").status_code == 200
    assert api.get(system.management_url + "/healthz").json() == {"status": "ok"}
    # and the management port serves nothing of the API
    assert api.get(system.management_url + "/api/v1/openapi.json").status_code == 404


@pytest.mark.parametrize("method,path,body,headers,status", [
    ("GET", "/no/such/route", None, {}, 404),
    ("GET", "/api/v1/no-such-resource", None, {}, 404),
    ("DELETE", "/healthz", None, {}, 405),
    ("POST", "/api/v1/devices/x/challenge", "{not json", {"Content-Type": "application/json"}, 400),
    ("POST", "/api/v1/devices/x/challenge", "[1, 2", {"Content-Type": "application/json"}, 400),
    ("POST", "/api/v1/devices/x/challenge", "a=b", {"Content-Type": "application/x-www-form-urlencoded"}, 415),
])
def test_bad_requests_get_problem_json_never_html(api, method, path, body, headers, status):
    response = api.request(method, api.url(path), data=body, headers=headers)
    assert response.status_code == status
    assert response.headers["Content-Type"] == "application/problem+json"
    problem = response.json()
    assert problem["status"] == status and problem["title"] and problem["title_pl"]
    assert "<html" not in response.text.lower()


def test_request_id_is_echoed(api):
    response = api.get(api.url("/healthz"), headers={"X-Request-ID": "trace-me-123"})
    assert response.headers["X-Request-ID"] == "trace-me-123"


@pytest.mark.slow
def test_stopped_service_makes_readyz_503_and_recovers(api, system):
    system.stop_process("devices")
    try:
        started = time.monotonic()
        response = api.get(api.url("/readyz"), timeout=10)
        assert time.monotonic() - started < 5
        assert response.status_code == 503
        assert response.headers["Content-Type"] == "application/problem+json"
        assert response.json()["missing"] == ["devices"]
        # a route that needs the stopped service answers within 5 s with problem+json
        started = time.monotonic()
        response = api.post(api.url("/api/v1/devices/00000000000000000000000000000000/challenge"), timeout=10)
        assert time.monotonic() - started < 5
        assert response.status_code in (503, 504)
        assert response.headers["Content-Type"] == "application/problem+json"
    finally:
        system.start_service("devices")
    wait_until(lambda: api.get(api.url("/readyz")).status_code == 200, 60, what="readyz 200 after restart")
    response = api.post(api.url("/api/v1/devices/00000000000000000000000000000000/challenge"))
    assert response.status_code == 404


def _sign_up(api) -> bool:
    """A sign-up to the end, which crosses services: the gateway -> identity, the link by e-mail (the outbox,
    notify), its confirmation -> identity -> users (RPC from service to service). Whether it worked."""
    email = f"restart-{uuid.uuid4().hex[:10]}@example.com"
    try:
        signup.sign_up(api, email, "Dobre-Haslo-2025!", "Jan Kowalski", "Firma")
        return True
    except (AssertionError, requests.RequestException):
        return False


@pytest.mark.slow
def test_services_and_gateway_reconnect_after_rabbitmq_restart(api, system):
    assert api.get(api.url("/readyz")).status_code == 200
    assert _sign_up(api)
    infra("restart", "rabbitmq")
    wait_until(lambda: api.get(api.url("/readyz"), timeout=10).status_code == 200, 90,
               interval=1, what="readyz 200 after the broker restart")
    # every service keeps answering, repeatedly, with no process restarted
    for _ in range(5):
        assert api.get(api.url("/readyz")).status_code == 200
    # and services reach each other again (their own RPC replies come back)
    wait_until(lambda: _sign_up(api), 60, interval=1, what="sign-up after the broker restart")
    assert all(_sign_up(api) for _ in range(3))
    assert system.dead() == []
