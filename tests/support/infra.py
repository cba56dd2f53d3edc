"""Helpers for tests that use the real parts: free ports, vhosts, restarting the broker or database."""
import base64
import contextlib
import json
import os
import random
import socket
import subprocess
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
INFRA = os.path.join(ROOT, "scripts", "infra.sh")
MANAGEMENT = "http://127.0.0.1:15672"


# Ports for the servers our tests start come from below the kernel's ephemeral range: a port the
# kernel hands out (bind to 0) is the kind that the next outgoing connection may take before our
# server binds it, and the services open dozens of connections as they start (seen: notify's health
# port, free a moment before, "already in use" twice in one run).
_SERVER_PORTS = range(26000, 32000)  # above RabbitMQ's 25672 (Erlang distribution)
_random = random.SystemRandom()


def _bindable(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_port_block(count: int) -> int:
    """The first of `count` consecutive free ports, all below the ephemeral range."""
    for _ in range(1000):
        base = _random.randrange(_SERVER_PORTS.start, _SERVER_PORTS.stop - count)
        if all(_bindable(base + i) for i in range(count)):
            return base
    raise RuntimeError(f"no {count} free consecutive ports in {_SERVER_PORTS}")


def free_port() -> int:
    """A free port below the ephemeral range."""
    return free_port_block(1)


def infra(action: str, part: str = "all") -> None:
    """scripts/infra.sh ACTION PART — up, down, restart, status."""
    subprocess.run([INFRA, action, part], check=True, cwd=ROOT)


def _management(method: str, path: str, body: dict | None = None, base: str = MANAGEMENT):
    """One call to a RabbitMQ management API (the machine's node unless `base` says); its JSON, or None."""
    request = urllib.request.Request(f"{base}{path}", method=method,
                                     data=json.dumps(body).encode() if body is not None else None)
    request.add_header("Authorization", "Basic " + base64.b64encode(b"guest:guest").decode())
    request.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(request, timeout=10) as response:
        raw = response.read()
    return json.loads(raw) if raw else None


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


@contextlib.contextmanager
def store_on_own_database(store_cls, tag: str):
    """A service's store (its indexes made) on a database of its own on the real server, dropped afterwards."""
    import uuid

    from kadra_defaults.storage import connect

    client = connect("mongodb://127.0.0.1:27017/")
    name = f"kt{uuid.uuid4().hex[:8]}_{tag}"
    store_cls.ensure_indexes(client[name])
    try:
        yield store_cls(client[name])
    finally:
        client.drop_database(name)
        client.close()


def by_key(filter_: dict) -> bool:
    """Whether a find's filter reads by `_id` alone — one key, or a list of keys (`$in`; read from the `_id`
    index by MongoDB and our FerretDB build) — the only filters a request path may send (the storage kit)."""
    if set(filter_) != {"_id"}:
        return False
    key = filter_["_id"]
    if isinstance(key, str):
        return True
    return (isinstance(key, dict) and set(key) == {"$in"} and 0 < len(key["$in"]) <= 1000
            and all(isinstance(k, str) for k in key["$in"]))


def command_log():
    """A pymongo CommandListener that keeps (command name, command) of every command a client sends."""
    from pymongo import monitoring

    class CommandLog(monitoring.CommandListener):
        def __init__(self):
            self.commands = []

        def started(self, event):
            self.commands.append((event.command_name, dict(event.command)))

        def succeeded(self, event):
            pass

        def failed(self, event):
            pass

    return CommandLog()
