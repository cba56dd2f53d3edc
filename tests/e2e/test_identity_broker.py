"""Forgot-password while RabbitMQ is unreachable: 202 at once, the e-mail once it is back.

"RabbitMQ stopped" is made for a system of this test's own (own vhost, databases, ports),
not by stopping the shared broker other suites use: the vhost's connection limit is set to 0
and every connection to it is closed (RabbitMQ's management API), so every process of that
system loses the broker exactly as in a broker stop, and nobody else notices. Lifting the
limit is the broker coming back.
"""
import base64
import json
import os
import sys
import time
import urllib.parse
import urllib.request
import uuid

import pytest
import requests

from tests.support import signup
from tests.support.identity import mail_tokens, unique_email
from tests.support.infra import MANAGEMENT, ROOT, create_vhost, delete_vhost, free_port

sys.path.insert(0, os.path.join(ROOT, "scripts"))
from system import SERVICES, System  # noqa: E402

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

STATS_INTERVAL = 5.0  # RabbitMQ's collect_statistics_interval (the default, 5,000 ms)


def _management(method: str, path: str, body=None):
    request = urllib.request.Request(f"{MANAGEMENT}{path}", method=method,
                                     data=json.dumps(body).encode() if body is not None else None)
    request.add_header("Authorization", "Basic " + base64.b64encode(b"guest:guest").decode())
    request.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(request, timeout=10) as response:
        data = response.read()
        return json.loads(data) if data else None


def broker_down(vhost: str) -> None:
    """Refuse new connections to the vhost and close every open one.

    The management API lists connections from statistics it collects every 5 s: a connection opened just
    before may not be listed yet, so the listing is watched (and anything listed closed) for longer than
    that, not trusted the first time it is empty.
    """
    quoted = urllib.parse.quote(vhost, safe="")
    _management("PUT", f"/api/vhost-limits/{quoted}/max-connections", {"value": 0})
    started = time.monotonic()
    quiet_since = None
    while time.monotonic() < started + 30:
        connections = _management("GET", f"/api/vhosts/{quoted}/connections") or []
        for connection in connections:
            try:
                _management("DELETE", f"/api/connections/{urllib.parse.quote(connection['name'], safe='')}")
            except OSError:
                pass
        if connections:
            quiet_since = None
        elif quiet_since is None:
            quiet_since = time.monotonic()
        elif time.monotonic() - quiet_since > STATS_INTERVAL + 1:
            return
        time.sleep(0.5)
    raise AssertionError("connections to the vhost did not go away")


def broker_up(vhost: str) -> None:
    _management("DELETE", f"/api/vhost-limits/{urllib.parse.quote(vhost, safe='')}/max-connections")


@pytest.fixture
def own_system(system_env, smtp_server, tmp_path):
    run_id = uuid.uuid4().hex[:8]
    vhost = f"kadra-test-broker-{run_id}"
    create_vhost(vhost)
    port = free_port()
    env = dict(system_env, KADRA_AMQP_URI=f"amqp://guest:guest@127.0.0.1:5672/{vhost}",
               KADRA_MONGO_DB_PREFIX=f"kb{run_id}", KADRA_GATEWAY_PORT=str(port),
               KADRA_PUBLIC_URL=f"http://127.0.0.1:{port}", KADRA_GATEWAY_SPOOL_DIR=str(tmp_path / "spool"),
               KADRA_NOTIFY_RETRY_DELAYS="0.5,1,2")
    running = System(env, str(tmp_path / "logs"), gateway_port=port,
                     health_ports={name: free_port() for name in SERVICES}, gateway_workers=2)
    running.start()
    try:
        running.wait_ready(timeout=120)
        yield running
    finally:
        broker_up(vhost)
        running.stop()
        delete_vhost(vhost)
        from tests.conftest import _drop_databases
        _drop_databases(f"kb{run_id}")


def test_forgot_password_with_the_broker_down_answers_202_and_the_mail_arrives_when_it_is_back(own_system, mailbox):
    base = own_system.base_url
    email = unique_email("outage")
    session = requests.Session()
    session.url = lambda path: base + path
    signup.sign_up(session, email, "correct horse battery staple", "Outage Test", "Outage Sp. z o.o.", "en", mailbox)
    vhost = urllib.parse.urlparse(own_system.env["KADRA_AMQP_URI"]).path.lstrip("/")
    broker_down(vhost)
    try:
        started = time.monotonic()
        answer = requests.post(f"{base}/api/v1/auth/password/forgot", json={"email": email}, timeout=15)
        took = time.monotonic() - started
        assert answer.status_code == 202, answer.text
        assert took < 5, f"forgot-password took {took:.1f}s with the broker down"
        time.sleep(2)
        assert not mailbox.to(email)
    finally:
        broker_up(vhost)
    (mail,) = mailbox.wait_for(email, "set a new password", timeout=90)
    (token,) = mail_tokens(mail)
    # the whole system is back: the link works
    deadline = time.monotonic() + 60
    while True:
        reset = requests.post(f"{base}/api/v1/auth/password/reset",
                              json={"token": token, "new_password": "a brand new passphrase 9"}, timeout=15)
        if reset.status_code != 503 or time.monotonic() > deadline:
            break
        time.sleep(1)
    assert reset.status_code == 204, reset.text
    time.sleep(2)
    assert len([m for m in mailbox.to(email) if "set a new password" in m.subject]) == 1
