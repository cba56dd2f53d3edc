"""The gateway runs without nameko and eventlet: neither is imported when it starts or answers.

A subprocess, because this test process has both loaded (nameko's pytest plugin).
"""
import json
import os
import subprocess
import sys

SCRIPT = """
import json, sys
from gateway.app import create_app

app = create_app({"TESTING": True, "KADRA_FEED_DISABLED": True})
client = app.test_client()
statuses = [client.get(path).status_code for path in ("/healthz", "/api/v1/openapi.json", "/app/", "/nothing")]
loaded = sorted(m for m in sys.modules if m.split(".")[0] in ("nameko", "eventlet"))
print(json.dumps({"statuses": statuses, "loaded": loaded}))
"""


def test_neither_nameko_nor_eventlet_is_imported():
    # Another test may have imported gunicorn_conf, which points PROMETHEUS_MULTIPROC_DIR at a folder of its own.
    env = {k: v for k, v in os.environ.items() if k != "PROMETHEUS_MULTIPROC_DIR"}
    done = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=120, env=env)
    assert done.returncode == 0, done.stderr
    answer = json.loads(done.stdout.strip().splitlines()[-1])
    assert answer["statuses"] == [200, 200, 200, 404]
    assert answer["loaded"] == []
