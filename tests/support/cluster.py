"""The three-node RabbitMQ cluster of `scripts/infra.sh cluster up` (kc1..kc3@localhost), for tests/cluster."""
from __future__ import annotations

import os
import subprocess
import urllib.parse
import uuid

from tests.support.infra import INFRA, ROOT, _management

NODES = (1, 2, 3)
STATE = os.path.join(os.environ.get("KADRA_STATE_DIR", os.path.join(ROOT, ".kadra")), "cluster")


def amqp_port(n: int) -> int:
    return 5680 + n


def management_port(n: int) -> int:
    return 15680 + n


def node_name(n: int) -> str:
    return f"kc{n}@localhost"


def up() -> None:
    """scripts/infra.sh cluster up (idempotent: seconds when the nodes already run)."""
    subprocess.run([INFRA, "cluster", "up"], check=True, cwd=ROOT)


def api(method: str, path: str, body: dict | None = None, node: int = 1):
    """The management API of node n (15680 + n); its JSON, or None."""
    return _management(method, path, body, base=f"http://127.0.0.1:{management_port(node)}")


class ClusterVhost:
    """A vhost of one test module on the cluster; `.uri` lists the three nodes (KADRA_AMQP_URI)."""

    def __init__(self, prefix: str = "kadra-cluster"):
        self.name = f"{prefix}-{uuid.uuid4().hex[:8]}"
        api("PUT", f"/api/vhosts/{self.name}")
        api("PUT", f"/api/permissions/{self.name}/guest", {"configure": ".*", "write": ".*", "read": ".*"})
        self.uri = ";".join(self.node_uri(n) for n in NODES)

    def node_uri(self, n: int) -> str:
        return f"amqp://guest:guest@127.0.0.1:{amqp_port(n)}/{self.name}"

    def queues(self, node: int = 1) -> list[dict]:
        return api("GET", f"/api/queues/{urllib.parse.quote(self.name, safe='')}", node=node)

    def delete(self, node: int = 1) -> None:
        try:
            api("DELETE", f"/api/vhosts/{urllib.parse.quote(self.name, safe='')}", node=node)
        except OSError:
            pass


def pid(n: int) -> int:
    with open(os.path.join(STATE, f"kc{n}", f"kc{n}.pid")) as f:
        return int(f.read().strip())
