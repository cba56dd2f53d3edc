"""bench-scale's own FerretDB: the binary scripts/infra.sh builds (its name digests what builds it), started on a
free port with its data elsewhere, so the machine's shared database on 27017 carries none of the bench's load."""
from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import time

from tests.support.infra import free_port

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
FERRETDB_VERSION = "v1.24.2"


def say(text: str) -> None:
    print(f"[scale] {text}", flush=True)


def ferretdb_binary() -> str:
    """The binary scripts/infra.sh runs (its name carries a digest of what builds it); built the same way if missing."""
    digest = hashlib.sha256(b"".join(open(os.path.join(ROOT, "scripts", "ferretdb", name), "rb").read()
                                     for name in ("main.go", "go.mod", "build.sh", "id_range.py"))).hexdigest()[:12]
    cache = os.environ.get("KADRA_CACHE_DIR") or os.path.expanduser("~/.cache/kadra")
    path = os.path.join(cache, f"ferretdb-{FERRETDB_VERSION}-{digest}")
    if not os.access(path, os.X_OK):
        say(f"building FerretDB into {path} (once, about a minute)")
        os.makedirs(cache, exist_ok=True)
        tmp = f"{path}.tmp.{os.getpid()}"
        subprocess.run([os.path.join(ROOT, "scripts", "ferretdb", "build.sh"), tmp], check=True)
        os.replace(tmp, path)
    return path


class FerretDB:
    def __init__(self, data_dir: str, log_path: str):
        self.data_dir, self.log_path = data_dir, log_path
        self.port = free_port()
        self.proc = None

    @property
    def uri(self) -> str:
        return f"mongodb://127.0.0.1:{self.port}/"

    def start(self) -> "FerretDB":
        os.makedirs(self.data_dir, exist_ok=True)
        log = open(self.log_path, "ab")
        self.proc = subprocess.Popen([ferretdb_binary(), "--listen", f"127.0.0.1:{self.port}", "--data", self.data_dir],
                                     stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        log.close()
        import socket

        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"FerretDB exited at start; see {self.log_path}")
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", self.port)) == 0:
                    return self
            time.sleep(0.1)
        raise RuntimeError(f"FerretDB did not open :{self.port} within 30 s")

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)  # by its pid: ours, never the machine's FerretDB
        try:
            self.proc.wait(60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
