"""Cross-service suites: what is real and what is not.

Real: RabbitMQ (Debian's rabbitmq-server, a vhost of this test run), the
MongoDB-compatible server (mongod or FerretDB; databases prefixed for this
run and dropped after), an SMTP server (scripts/mailsink.py in its own
process, writing every message to a folder the tests read), and the four
services and the gateway as real processes started by scripts/system.py —
the same code `make run` uses. Nothing is faked here; fakes live only in
the unit folders beside each service.
"""
import os
import subprocess
import sys
import uuid

import pytest
import requests

from tests.support.infra import ROOT, create_vhost, delete_vhost, free_port, infra
from tests.support.mailbox import Mailbox
from tests.support.systems import own_system

sys.path.insert(0, os.path.join(ROOT, "scripts"))
from system import SERVICES, System  # noqa: E402


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """A failed test shows what its running Kadra logged as a warning or error (and its 5xx answers):
    on CI that is the only trace of why a request failed."""
    outcome = yield
    report = outcome.get_result()
    if report.when != "call" or not report.failed:
        return
    for name, value in getattr(item, "funcargs", {}).items():
        if isinstance(value, System):
            seen = value.problems()
            if seen:
                report.sections.append((f"kadra logs: warnings, errors and 5xx ({name})", seen))


@pytest.fixture(scope="session")
def real_parts():
    """RabbitMQ and the database, up (idempotent: usually already up from `make test`)."""
    infra("up")


@pytest.fixture(scope="session")
def run_id():
    return uuid.uuid4().hex[:8]


@pytest.fixture(scope="session")
def vhost(real_parts, run_id):
    name = f"kadra-test-{run_id}"
    create_vhost(name)
    yield name
    delete_vhost(name)


@pytest.fixture(scope="session")
def smtp_server(tmp_path_factory):
    """A real SMTP server in its own process; `.mailbox` reads what it received."""
    folder = str(tmp_path_factory.mktemp("mail"))
    smtp_port, http_port = free_port(), free_port()
    proc = subprocess.Popen([sys.executable, os.path.join(ROOT, "scripts", "mailsink.py"),
                             "--smtp", f"127.0.0.1:{smtp_port}", "--http", f"127.0.0.1:{http_port}", "--dir", folder],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    from tests.support.infra import wait_until
    import socket

    def listening():
        with socket.socket() as s:
            return s.connect_ex(("127.0.0.1", smtp_port)) == 0

    wait_until(listening, 15, what="SMTP sink listening")

    class Smtp:
        host = "127.0.0.1"
        port = smtp_port
        mailbox = Mailbox(folder)

    yield Smtp
    proc.terminate()
    proc.wait(10)


def _jwt_keys(folder: str) -> tuple[str, str]:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    key = Ed25519PrivateKey.generate()
    private = os.path.join(folder, "jwt.pem")
    public = os.path.join(folder, "jwt.pub.pem")
    with open(private, "wb") as f:
        f.write(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                  serialization.NoEncryption()))
    with open(public, "wb") as f:
        f.write(key.public_key().public_bytes(serialization.Encoding.PEM,
                                              serialization.PublicFormat.SubjectPublicKeyInfo))
    return private, public


@pytest.fixture(scope="session")
def system_env(vhost, run_id, smtp_server, tmp_path_factory):
    """The environment of this run's system: its own vhost, databases, SMTP server and keys."""
    keys = str(tmp_path_factory.mktemp("keys"))
    private, public = _jwt_keys(keys)
    gateway_port = free_port()
    env = dict(os.environ)
    env.update({
        "KADRA_AMQP_URI": f"amqp://guest:guest@127.0.0.1:5672/{vhost}",
        "KADRA_MONGO_URI": "mongodb://127.0.0.1:27017/",
        "KADRA_MONGO_DB_PREFIX": f"kt{run_id}",
        "KADRA_SMTP_HOST": smtp_server.host,
        "KADRA_SMTP_PORT": str(smtp_server.port),
        "KADRA_SMTP_TLS": "none",
        "KADRA_PUBLIC_URL": f"http://127.0.0.1:{gateway_port}",
        "KADRA_GATEWAY_PORT": str(gateway_port),
        "KADRA_JWT_PRIVATE_KEY_FILE": private,
        "KADRA_JWT_PUBLIC_KEY_FILE": public,
        "KADRA_LOG_LEVEL": "INFO",
        "KADRA_ALLOW_CLOCK_CONTROL": "1",
        # As behind the ingress in deploy/k8s; a request without X-Forwarded-For keeps its own address.
        "KADRA_TRUSTED_PROXIES": "1",
        # Every request of this suite comes from 127.0.0.1: the per-client abuse limits would count them all
        # as one client. They are tested on `strict_system`; the per-account and per-company ones keep
        # their defaults here (the suite's accounts and companies are fresh).
        "KADRA_LIMIT_SIGNUPS_PER_CLIENT_HOUR": "0",
        "KADRA_LIMIT_RESETS_PER_CLIENT_HOUR": "0",
    })
    return env


# The abuse limits of `strict_system`: low, so a test meets each in a few requests.
STRICT_LIMITS = {
    "KADRA_LIMIT_SIGNUPS_PER_CLIENT_HOUR": "3",
    "KADRA_LIMIT_RESETS_PER_CLIENT_HOUR": "3",
    "KADRA_LIMIT_INVITATIONS_PER_COMPANY_DAY": "6",
    "KADRA_LIMIT_INVITATIONS_PER_INVITER_DAY": "4",
    "KADRA_LIMIT_COMPANIES_PER_ACCOUNT_DAY": "2",
    "KADRA_LIMIT_EMAIL_CHANGES_PER_ACCOUNT_DAY": "2",
}


@pytest.fixture(scope="session")
def strict_system(system_env, smtp_server, tmp_path_factory):
    """A second Kadra with low abuse limits (STRICT_LIMITS) and its own vhost, databases and ports; its
    e-mails go to the same SMTP server. Tests tell clients apart with X-Forwarded-For (one trusted proxy)."""
    with own_system(system_env, "strict", tmp_path_factory, **STRICT_LIMITS) as running:
        yield running


@pytest.fixture(scope="session")
def replicated_system(system_env, smtp_server, tmp_path_factory):
    """A second Kadra with two processes of every service and two gateways (as the Kubernetes base runs
    them), its own vhost, databases and ports; its e-mails go to the same SMTP server."""
    with own_system(system_env, "replicas", tmp_path_factory, replicas=2) as running:
        yield running


@pytest.fixture
def replicated_api(replicated_system):
    """An HTTP session whose requests go to the replicated system's gateways in turn."""
    from tests.support.systems import spread_session

    with spread_session(replicated_system) as session:
        yield session


@pytest.fixture(scope="session")
def system(system_env, tmp_path_factory):
    """The whole of Kadra, started as `make run` starts it, for this test session."""
    log_dir = os.environ.get("KADRA_TEST_LOG_DIR") or str(tmp_path_factory.mktemp("logs"))
    health_ports = {name: free_port() for name in SERVICES}
    running = System(system_env, log_dir, gateway_port=int(system_env["KADRA_GATEWAY_PORT"]),
                     health_ports=health_ports, gateway_workers=4)
    running.start()
    try:
        running.wait_ready(timeout=120)
        yield running
    finally:
        running.stop()
        _drop_databases(system_env["KADRA_MONGO_DB_PREFIX"])


def _drop_databases(prefix: str) -> None:
    """Drop this run's four databases by name.

    Not by listing: FerretDB's listDatabases opens every SQLite file and takes
    minutes once a machine holds many databases.
    """
    from pymongo import MongoClient

    client = MongoClient("mongodb://127.0.0.1:27017/", serverSelectionTimeoutMS=3000, socketTimeoutMS=30000)
    try:
        for service in SERVICES:
            client.drop_database(f"{prefix}_{service}")
    except Exception:  # cleaning up is best effort; a dead database must not hide the real failure
        pass
    finally:
        client.close()


@pytest.fixture
def api(system):
    """An HTTP session against this run's gateway; `api.url(path)` builds URLs."""
    session = requests.Session()
    session.base = system.base_url
    session.url = lambda path: system.base_url + path
    yield session
    session.close()


@pytest.fixture
def mailbox(smtp_server):
    return smtp_server.mailbox


@pytest.fixture(scope="session")
def mongo(real_parts):
    from pymongo import MongoClient

    client = MongoClient("mongodb://127.0.0.1:27017/", serverSelectionTimeoutMS=5000, tz_aware=True)
    yield client
    client.close()
