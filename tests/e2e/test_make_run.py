"""`make run`'s script from the outside: it starts everything, says where things are, stops cleanly on Ctrl-C."""
import os
import signal
import subprocess
import sys
import time

import pytest
import requests

from kadra_defaults.cli import SERVICES
from tests.support.infra import ROOT, create_vhost, delete_vhost, free_port, free_port_block, wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def _start(env):
    return subprocess.Popen([sys.executable, os.path.join(ROOT, "scripts", "run.py")], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)


@pytest.fixture
def run_env(tmp_path, run_id, real_parts):
    vhost = f"kadra-run-{run_id}"
    create_vhost(vhost)
    env = dict(os.environ)
    for name in [k for k in env if k.startswith("KADRA_")]:
        del env[name]
    env.update({
        "KADRA_STATE_DIR": str(tmp_path),
        "KADRA_AMQP_URI": f"amqp://guest:guest@127.0.0.1:5672/{vhost}",
        "KADRA_MONGO_DB_PREFIX": f"kr{run_id}",
        "KADRA_GATEWAY_PORT": str(free_port()),
        "KADRA_SMTP_PORT": str(free_port()),
        "KADRA_MAILSINK_HTTP": f"127.0.0.1:{free_port()}",
        "KADRA_HEALTH_PORT_BASE": str(free_port_block(len(SERVICES))),
        "KADRA_MANAGEMENT_PORT": str(free_port()),
    })
    yield env
    delete_vhost(vhost)


def test_run_starts_everything_prints_where_and_stops_on_ctrl_c(run_env, tmp_path):
    proc = _start(run_env)
    lines = []
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            lines.append(line)
            if "Press Ctrl-C to stop." in line:
                break
        output = "".join(lines)
        assert "Kadra is running." in output, output
        port = run_env["KADRA_GATEWAY_PORT"]
        assert f"http://127.0.0.1:{port}/api/v1" in output  # the environment's port wins
        assert f"http://{run_env['KADRA_MAILSINK_HTTP']}/" in output
        assert requests.get(f"http://127.0.0.1:{port}/readyz", timeout=10).status_code == 200
        # the signing key: made on first start into the key ring, private to this user, and published
        ring = tmp_path / "keys" / "jwt"
        (private,) = [n for n in os.listdir(ring) if n.endswith(".pem") and not n.endswith(".pub.pem")]
        assert oct(os.stat(ring / private).st_mode & 0o777) == "0o600"
        kid = private[:-len(".pem")]
        assert (ring / "signing-kid").read_text().strip() == kid
        jwks = requests.get(f"http://127.0.0.1:{port}/.well-known/jwks.json", timeout=10).json()
        assert [k["kid"] for k in jwks["keys"]] == [kid]
        # metrics on the management port it printed, not on the public one
        management = f"http://127.0.0.1:{run_env['KADRA_MANAGEMENT_PORT']}"
        assert f"{management}/metrics" in output
        assert requests.get(f"{management}/metrics", timeout=10).status_code == 200
        assert requests.get(f"http://127.0.0.1:{port}/metrics", timeout=10).status_code == 404
    finally:
        os.killpg(proc.pid, signal.SIGINT)
        rest, _ = proc.communicate(timeout=60)
    assert proc.returncode == 0
    assert "[run] stopped." in rest
    # nothing it started is left running
    with pytest.raises(requests.ConnectionError):
        requests.get(f"http://127.0.0.1:{run_env['KADRA_GATEWAY_PORT']}/healthz", timeout=2)
    base = int(run_env["KADRA_HEALTH_PORT_BASE"])
    for port in range(base, base + len(SERVICES)):  # each service's health port is closed: the process is gone
        with pytest.raises(requests.ConnectionError):
            requests.get(f"http://127.0.0.1:{port}/healthz", timeout=2)


def test_smtp_host_in_the_environment_wins_and_no_sink_starts(run_env):
    run_env["KADRA_SMTP_HOST"] = "smtp.example.invalid"
    run_env["KADRA_SMTP_PORT"] = "587"
    proc = _start(run_env)
    try:
        output = ""
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and "Press Ctrl-C" not in output:
            line = proc.stdout.readline()
            if not line:
                break
            output += line
        assert "sent to smtp.example.invalid:587" in output, output
        host, port = run_env["KADRA_MAILSINK_HTTP"].split(":")
        with pytest.raises(requests.ConnectionError):
            requests.get(f"http://{host}:{port}/", timeout=2)
    finally:
        os.killpg(proc.pid, signal.SIGINT)
        proc.communicate(timeout=60)
