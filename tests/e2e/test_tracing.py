"""One request id, followed through the gateway's and every service's JSON logs."""
import json
import os
import uuid

import pytest

from tests.support.infra import wait_until

pytestmark = pytest.mark.e2e


def _lines_with(path, request_id):
    found = []
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            if request_id not in line:
                continue
            entry = json.loads(line)  # every line carrying it is a JSON object
            if entry.get("request_id") == request_id:
                found.append(entry)
    return found


def test_a_request_id_is_in_the_logs_of_the_gateway_and_every_service(api, system):
    request_id = f"trace-{uuid.uuid4().hex}"
    # /readyz reaches every service over RabbitMQ in one request
    assert api.get(api.url("/readyz"), headers={"X-Request-ID": request_id}).status_code == 200
    for name in ("gateway", "identity", "users", "devices", "notify"):
        path = os.path.join(system.log_dir, f"{name}.log")
        entries = wait_until(lambda: _lines_with(path, request_id), 10, what=f"{request_id} in {name}.log")
        assert entries[0]["service"] == name
        assert entries[0]["level"] in ("INFO", "WARNING", "ERROR")


def test_metrics_count_emails_in_notify_and_rpcs_in_every_service(api, system, mailbox):
    import requests

    from tests.support.users import sign_up

    person, _ = sign_up(api, prefix="metrics")
    assert api.post(api.url("/api/v1/auth/password/forgot"), json={"email": person.email}).status_code == 202
    mailbox.wait_for(person.email, count=1, timeout=30)

    def sent():
        text = requests.get(f"http://127.0.0.1:{system.health_ports['notify']}/metrics", timeout=5).text
        for line in text.splitlines():
            if line.startswith('kadra_emails_total{outcome="sent"}'):
                return float(line.split()[-1]) >= 1
        return False

    wait_until(sent, 10, what="kadra_emails_total{outcome=sent} in notify's /metrics")
    for name in ("identity", "users", "devices", "notify"):
        text = requests.get(f"http://127.0.0.1:{system.health_ports[name]}/metrics", timeout=5).text
        assert f'kadra_rpc_calls_total{{method="ping",outcome="ok",service="{name}"}}' in text, name
