"""Helpers for tests that use the real parts: free ports, vhosts, restarting the broker or database."""
import base64
import json
import os
import socket
import subprocess
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
INFRA = os.path.join(ROOT, "scripts", "infra.sh")
MANAGEMENT = "http://127.0.0.1:15672"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def infra(action: str, part: str = "all") -> None:
    """scripts/infra.sh ACTION PART — up, down, restart, status."""
    subprocess.run([INFRA, action, part], check=True, cwd=ROOT)


def _management(method: str, path: str, body: dict | None = None) -> None:
    request = urllib.request.Request(f"{MANAGEMENT}{path}", method=method,
                                     data=json.dumps(body).encode() if body is not None else None)
    request.add_header("Authorization", "Basic " + base64.b64encode(b"guest:guest").decode())
    request.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(request, timeout=10):
        pass


def create_vhost(name: str) -> None:
    """A RabbitMQ vhost of our own, so a test run shares nothing with `make run` or other runs."""
    _management("PUT", f"/api/vhosts/{name}")
    _management("PUT", f"/api/permissions/{name}/guest", {"configure": ".*", "write": ".*", "read": ".*"})


def delete_vhost(name: str) -> None:
    try:
        _management("DELETE", f"/api/vhosts/{name}")
    except OSError:
        pass


def wait_until(predicate, timeout: float, interval: float = 0.2, what: str = "condition"):
    """Poll until predicate() is truthy; return its value or fail naming what we waited for."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} not reached within {timeout}s")
        time.sleep(interval)
