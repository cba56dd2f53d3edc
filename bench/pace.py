"""An open-loop, fixed-rate GET load (bench/pacer/main.go), built once with the machine's Go.

Latency is measured from each request's due time. Python threads could not send 1,500 requests/s here
and their own delay was counted as the server's; the Go sender costs little CPU.
"""
import hashlib
import json
import os
import subprocess

HERE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "pacer")
CACHE = os.environ.get("KADRA_CACHE_DIR", os.path.expanduser("~/.cache/kadra"))


def binary() -> str:
    """The built sender (its name carries a digest of the source, so a change builds a new one)."""
    digest = hashlib.sha256()
    for name in ("main.go", "go.mod"):
        with open(os.path.join(HERE, name), "rb") as f:
            digest.update(f.read())
    path = os.path.join(CACHE, f"pace-{digest.hexdigest()[:12]}")
    if not os.path.exists(path):
        os.makedirs(CACHE, exist_ok=True)
        subprocess.run(["go", "build", "-o", path + ".tmp", "."], cwd=HERE, check=True,
                       env={**os.environ, "GOTOOLCHAIN": "local", "GOFLAGS": "-mod=mod"})
        os.replace(path + ".tmp", path)
    return path


def paced(url: str, headers: dict, rate: float, seconds: float, conns: int = 32) -> dict:
    """{sent, rps, p50_ms, p99_ms, max_ms, non2xx} for GET `url` at `rate` requests/s."""
    command = [binary(), "-url", url, "-rate", f"{rate:.3f}", "-duration", f"{seconds}s", "-conns", str(conns)]
    for name, value in headers.items():
        command += ["-H", f"{name}: {value}"]
    done = subprocess.run(command, check=True, capture_output=True, text=True, timeout=seconds + 120)
    return json.loads(done.stdout)
