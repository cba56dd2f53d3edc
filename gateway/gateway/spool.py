"""Calls kept on disk while the broker is down, made by the feed thread once it answers again.

Used where an answer must be given while the broker is down (forgot-password answers 202 whatever
happens). `call_later(service, method, **kwargs)` writes one JSON file to the spool folder
(`KADRA_GATEWAY_SPOOL_DIR`); `replay()` runs on the feed thread (gateway.feed `every`) as soon as
the feed is live and then every few seconds, and makes each call once.
"""
import hashlib
import json
import logging
import os
import time
import uuid

from gateway import rpc

log = logging.getLogger(__name__)

DEFAULT_SPOOL = ".kadra/spool"
SCAN_EVERY = 5.0


def folder_for(configured: str, amqp_uri: str) -> str:
    """KADRA_GATEWAY_SPOOL_DIR, else a folder per broker address, so two systems on one machine
    (make run and a test run) never make each other's calls."""
    if configured:
        return configured
    return os.path.join(DEFAULT_SPOOL, "gateway-" + hashlib.sha256(amqp_uri.encode()).hexdigest()[:12])


class Spool:
    """The spool folder of one app, and the RPC client its calls are made with."""

    def __init__(self, folder: str, rpc_client):
        self.folder = folder
        self.rpc = rpc_client

    def call_later(self, service: str, method: str, **kwargs) -> str:
        """Keep `service.method(**kwargs)` on disk (atomically: a reader never sees half a call)."""
        os.makedirs(self.folder, mode=0o700, exist_ok=True)
        name = f"{time.time():.6f}-{uuid.uuid4().hex}"
        tmp = os.path.join(self.folder, f".{name}.tmp")
        with open(tmp, "w") as f:
            json.dump({"service": service, "method": method, "kwargs": kwargs}, f)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o600)
        os.rename(tmp, os.path.join(self.folder, f"{name}.json"))
        return name

    def replay(self) -> None:
        """Make every spooled call; a file is claimed by an atomic rename, so one worker makes each."""
        folder = self.folder
        try:
            listing = os.listdir(folder)
        except FileNotFoundError:
            return
        for name in listing:  # claimed by a worker that died before finishing: put back
            base, sep, pid = name.rpartition(".claimed-")
            if sep and pid.isdigit() and not _alive(int(pid)):
                try:
                    os.rename(os.path.join(folder, name), os.path.join(folder, base))
                except OSError:
                    pass
        for name in sorted(n for n in os.listdir(folder) if n.endswith(".json")):
            path = os.path.join(folder, name)
            claimed = f"{path}.claimed-{os.getpid()}"
            try:
                os.rename(path, claimed)
            except FileNotFoundError:
                continue  # another worker took it
            try:
                with open(claimed) as f:
                    call = json.load(f)
                self.rpc.call(call["service"], call["method"], **call["kwargs"])
            except (ValueError, KeyError):
                log.error("spool: unreadable call dropped", extra={"file": name})
                os.unlink(claimed)
                continue
            except rpc.RemoteError as exc:
                log.error("spool: call refused, dropped", extra={"file": name, "exc_path": exc.exc_path})
                os.unlink(claimed)
                continue
            except Exception as exc:
                os.rename(claimed, path)  # try again later
                log.warning("spool: call failed, kept", extra={"file": name, "error": exc.__class__.__name__})
                return
            os.unlink(claimed)
            log.info("spool: deferred call made", extra={"service": call["service"], "method": call["method"]})


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
