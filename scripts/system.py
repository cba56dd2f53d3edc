"""Start and stop the whole of Kadra on one machine: four services, the gateway, a mail sink.

Used by `make run` (scripts/run.py) and by the end-to-end tests, so both start
the system the same way. The real parts (RabbitMQ, the database) are brought
up by scripts/infra.sh before this runs.
"""
import json
import os
import random
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SERVICES = ("identity", "users", "devices", "notify")
BIN = os.path.dirname(sys.executable)


def free_port() -> int:
    """A port nothing listens on now, below the kernel's ephemeral range (one the kernel hands out may be
    taken by an outgoing connection of the starting services before our server binds it)."""
    for _ in range(1000):
        port = random.SystemRandom().randrange(20000, 25600)  # below RabbitMQ's 25672; the tests pick 26000-32000
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free port in 20000-25600")


class System:
    """The processes of one running Kadra, each with its own log file.

    `replicas` (KADRA_REPLICAS for `make run`): how many processes of every service and how many
    gateways (each its own port, management port and spool folder), as the Kubernetes base runs
    them. A replica past the first is named `<name>-<n>` (`users-2`, `gateway-2`).
    """

    def __init__(self, env: dict, log_dir: str, *, gateway_port: int, health_ports: dict,
                 mailsink: dict | None = None, gateway_workers: int | None = None,
                 management_port: int | None = None, replicas: int = 1):
        if replicas < 1:
            raise ValueError("replicas must be 1 or more")
        self.env = env
        self.log_dir = log_dir
        self.replicas = replicas
        self.gateway_port = gateway_port
        self.gateway_ports = [gateway_port] + [free_port() for _ in range(replicas - 1)]
        # The gateway's /metrics port: a free one unless given (two systems on one machine never share it).
        self.management_port = management_port or free_port()
        self.management_ports = [self.management_port] + [free_port() for _ in range(replicas - 1)]
        self.health_ports = health_ports
        for name in SERVICES:
            for process in self.processes(name)[1:]:
                self.health_ports.setdefault(process, free_port())
        self.mailsink = mailsink
        self.gateway_workers = gateway_workers
        self.procs: dict[str, subprocess.Popen] = {}
        os.makedirs(log_dir, exist_ok=True)

    def processes(self, name: str) -> list[str]:
        """The process names of a service or of the gateway: `users`, `users-2`, ..."""
        return [name] + [f"{name}-{n}" for n in range(2, self.replicas + 1)]

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.gateway_port}"

    @property
    def base_urls(self) -> list[str]:
        """Every gateway's address (one per replica)."""
        return [f"http://127.0.0.1:{port}" for port in self.gateway_ports]

    @property
    def management_url(self) -> str:
        """The gateway's management port (/metrics, /healthz, /readyz)."""
        return f"http://127.0.0.1:{self.management_port}"

    def _spawn(self, name: str, argv: list, extra_env: dict | None = None):
        env = dict(self.env, **(extra_env or {}))
        log = open(os.path.join(self.log_dir, f"{name}.log"), "ab")
        self.procs[name] = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
                                            start_new_session=True)
        log.close()

    def start_service(self, name: str, process: str | None = None):
        """Start one process of a nameko service (its health endpoints on its own port)."""
        process = process or name
        self._spawn(process, [os.path.join(BIN, "kadra-service"), name],
                    {"KADRA_HEALTH_PORT": str(self.health_ports[process]), "KADRA_ROOT": ROOT})

    def ensure_keys(self):
        """`kadra-keys`, as compose's first start runs it: the signing keys this environment names exist."""
        proc = subprocess.run([os.path.join(BIN, "kadra-keys")], cwd=ROOT, env=self.env, capture_output=True,
                              text=True, timeout=60)
        if proc.returncode != 0:
            raise RuntimeError(f"kadra-keys failed: {proc.stderr.strip()}")
        return proc.stdout

    def start_gateway(self, replica: int = 1):
        """Start the gateway (replica n: its own port, management port and spool folder, as its own pod has)."""
        extra = {"KADRA_GATEWAY_PORT": str(self.gateway_ports[replica - 1]),
                 "KADRA_MANAGEMENT_PORT": str(self.management_ports[replica - 1])}
        if self.gateway_workers:
            extra["KADRA_GATEWAY_WORKERS"] = str(self.gateway_workers)
        if replica > 1 and self.env.get("KADRA_GATEWAY_SPOOL_DIR"):
            extra["KADRA_GATEWAY_SPOOL_DIR"] = f"{self.env['KADRA_GATEWAY_SPOOL_DIR']}-{replica}"
        elif replica > 1:
            extra["KADRA_GATEWAY_SPOOL_DIR"] = os.path.join(ROOT, ".kadra", "spool", f"gateway-{replica}-{os.getpid()}")
        self._spawn(self.processes("gateway")[replica - 1], [os.path.join(BIN, "kadra-gateway")], extra)

    def start(self):
        """Start everything (keys first; the mail sink next, so no early e-mail bounces)."""
        self.ensure_keys()
        if self.mailsink:
            self._spawn("mailsink", [sys.executable, os.path.join(ROOT, "scripts", "mailsink.py"),
                                     "--smtp", self.mailsink["smtp"], "--http", self.mailsink["http"],
                                     "--dir", self.mailsink["dir"]])
        for name in SERVICES:
            for process in self.processes(name):
                self.start_service(name, process)
        for replica in range(1, self.replicas + 1):
            self.start_gateway(replica)

    def rolling_restart(self, name: str, timeout: float = 60.0, service: str | None = None):
        """Replace a running process without a gap, as a Kubernetes rolling update does.

        A service: start a second instance, wait until its /readyz answers, then SIGTERM the
        old one (nameko finishes its workers; unacknowledged messages go to the new one).
        The gateway: SIGHUP to gunicorn, which starts new workers and retires the old gracefully.
        """
        if name == "gateway":
            os.kill(self.procs["gateway"].pid, signal.SIGHUP)
            return
        old = self.procs.pop(name)
        port = free_port()
        self.health_ports[name] = port
        self.start_service(service or name, name)  # `name` may be a replica's (`users-2`) of `service`
        deadline = time.monotonic() + timeout
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=2) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"the new {name} was not ready within {timeout:.0f}s")
            time.sleep(0.2)
        os.killpg(old.pid, signal.SIGTERM)
        old.wait(30)

    def stop_process(self, name: str, sig=signal.SIGTERM, wait: float = 20.0):
        """Stop one process (SIGTERM, then SIGKILL after `wait` seconds)."""
        proc = self.procs.pop(name, None)
        if proc is None or proc.poll() is not None:
            return
        os.killpg(proc.pid, sig)
        try:
            proc.wait(wait)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()

    def stop(self, wait: float = 20.0):
        """Stop the gateways first (no new work), then all services at once, then the sink."""
        for process in self.processes("gateway"):
            self.stop_process(process, wait=wait)
        # Every service process, replicas and any a test started by name (`identity-2`) included.
        services = [name for name in self.procs if name != "mailsink" and not name.startswith("gateway")]
        for group in (services, ("mailsink",)):
            procs = [(n, self.procs.pop(n)) for n in group if n in self.procs]
            for _, proc in procs:
                if proc.poll() is None:
                    os.killpg(proc.pid, signal.SIGTERM)
            deadline = time.monotonic() + wait
            for _, proc in procs:
                try:
                    proc.wait(max(0.1, deadline - time.monotonic()))
                except subprocess.TimeoutExpired:
                    os.killpg(proc.pid, signal.SIGKILL)
                    proc.wait()

    def dead(self) -> list[str]:
        """Names of processes that exited by themselves."""
        return [name for name, proc in self.procs.items() if proc.poll() is not None]

    def readyz(self, timeout: float = 5.0, base_url: str | None = None) -> tuple[int, dict]:
        """A gateway's /readyz status and body (0 when the gateway doesn't answer); the first by default."""
        try:
            with urllib.request.urlopen(f"{base_url or self.base_url}/readyz", timeout=timeout) as response:
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read() or b"{}")
        except (OSError, ValueError):
            return 0, {}

    def wait_ready(self, timeout: float = 90.0, progress=None) -> dict:
        """Wait until /readyz answers 200; raise with the logs' tails when it doesn't in time."""
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            dead = self.dead()
            if dead:
                raise RuntimeError(f"exited during start: {', '.join(dead)}\n{self.tails(dead)}")
            status, body = self.readyz(timeout=3)
            waiting = self._replicas_not_ready() if status == 200 else []
            if status == 200 and not waiting:
                return body
            state = waiting or body.get("missing") or ["gateway"]
            if progress and state != last:
                progress(f"waiting for: {', '.join(state)}")
            last = state
            time.sleep(0.5)
        raise RuntimeError(f"not ready within {timeout:.0f}s: {last}\n{self.tails(list(self.procs))}")

    def _replicas_not_ready(self) -> list[str]:
        """The replicas past the first (services by their health port, gateways by /readyz) not ready yet."""
        waiting = [f"gateway-{n}" for n, url in enumerate(self.base_urls[1:], start=2)
                   if self.readyz(timeout=3, base_url=url)[0] != 200]
        for name in SERVICES:
            for process in self.processes(name)[1:]:
                try:
                    with urllib.request.urlopen(f"http://127.0.0.1:{self.health_ports[process]}/readyz",
                                                timeout=3) as response:
                        if response.status == 200:
                            continue
                except OSError:
                    pass
                waiting.append(process)
        return waiting

    def problems(self, lines: int = 40) -> str:
        """The last WARNING/ERROR lines (not nameko's "(expected)" domain refusals) and 5xx answers of every
        process's log: what a failed test
        prints, so a failure on a machine nobody can log into still says what the system saw."""
        out = []
        for name in (*SERVICES, "gateway"):
            for process in self.processes(name):
                path = os.path.join(self.log_dir, f"{process}.log")
                if not os.path.exists(path):
                    continue
                with open(path, "rb") as f:
                    found = [line for line in f.read().decode(errors="replace").splitlines()
                             if "(expected)" not in line  # a domain refusal (logged with its traceback)
                             and ('"level": "WARNING"' in line or '"level": "ERROR"' in line or "Traceback" in line
                                  or ('"status": 5' in line and "/readyz" not in line))]
                if found:
                    out.append(f"--- {process}.log ---\n" + "\n".join(found[-lines:]))
        return "\n".join(out)

    def tails(self, names, lines: int = 15) -> str:
        out = []
        for name in names:
            path = os.path.join(self.log_dir, f"{name}.log")
            if os.path.exists(path):
                with open(path, "rb") as f:
                    tail = f.read().decode(errors="replace").splitlines()[-lines:]
                out.append(f"--- {name}.log ---\n" + "\n".join(tail))
        return "\n".join(out)
