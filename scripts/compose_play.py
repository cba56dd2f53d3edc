"""`make compose-up`: deploy/compose.yaml run with podman-compose on this machine, checked, taken down.

    .venv/bin/python scripts/compose_play.py [--keep]

deploy/compose.yaml stays what an operator with Docker runs (`docker compose -f deploy/compose.yaml up --build
-d`). Here there is no Docker engine and no registry, so this runs a copy of it, changed only where this
machine needs it, and lists each change when it runs:
- the backends' images (mongo:7, rabbitmq:3-management, axllent/mailpit) come from no registry: they are built
  from deploy/podman/backends.Containerfile on the local base of `make image` (Debian's rabbitmq-server with
  its management plugin; FerretDB, the binary scripts/infra.sh builds; scripts/mailsink.py), with the command
  and health checks those images need; the mail sink's folder is a host folder, so the journey reads it;
- the Kadra services keep compose.yaml's settings, image (kadra:dev is the image `make image` built), user,
  read-only root, tmpfs, dropped capabilities, volumes and health checks;
- published ports move to free ones (this machine's own RabbitMQ, gateway or sink may hold 15672, 8000, 8025);
- health checks in exec form (["CMD", "python", "-c", "..."]) become the same command as one shell line
  (["CMD-SHELL", ...]): podman-compose 1.0.3 hands podman 4.3 a command line that it splits at every space,
  so a python -c program with spaces breaks; podman runs health checks only when asked here (no systemd),
  so this asks (`podman healthcheck run`) until each passes.
podman-compose 1.0.3 (Debian's) starts services in dependency order but does not wait for `condition:`s; a
Kadra service that starts before the broker exits and `restart: unless-stopped` starts it again. So this waits
until every health check passes, then runs the smoke journey of `make kube-play` through the gateway and
checks every Kadra container runs as 10001 on a read-only root filesystem, then `podman-compose down -v`.
"""
import argparse
import hashlib
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
import time

import yaml

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from image_system import _give_to_container, engine_env  # noqa: E402
from kube_play import podman, smoke_journey  # noqa: E402
from system import ROOT, free_port  # noqa: E402

PROJECT = "kadra"
KADRA = ("kadra-keys", "identity", "users", "devices", "notify", "gateway")
BACKENDS = {
    "mongodb": {"command": ["ferretdb", "--listen", "0.0.0.0:27017", "--data", "/data/db"],
                "healthcheck": ["CMD", "python3", "-c",
                                "import socket; socket.create_connection(('127.0.0.1', 27017), 3)"]},
    "rabbitmq": {"command": ["rabbitmq-server"], "healthcheck": None},  # compose.yaml's check works
    "mailpit": {"command": None,
                "healthcheck": ["CMD", "python3", "-c",
                                "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8025/', timeout=3)"]},
}


def say(message: str) -> None:
    print(f"[compose] {message}", flush=True)


def ferretdb_binary() -> str:
    """The binary scripts/infra.sh builds (and caches) for this machine's database: the same name it computes."""
    digest = hashlib.sha256(b"".join(open(os.path.join(ROOT, "scripts", "ferretdb", name), "rb").read()
                                     for name in ("main.go", "go.mod", "build.sh"))).hexdigest()[:12]
    cache = os.environ.get("KADRA_CACHE_DIR") or os.path.join(os.path.expanduser("~"), ".cache", "kadra")
    path = os.path.join(cache, f"ferretdb-v1.24.2-{digest}")
    if not os.access(path, os.X_OK):
        raise RuntimeError(f"no FerretDB binary at {path} (scripts/infra.sh up builds it)")
    return path


def build_backends(base: str) -> None:
    with tempfile.TemporaryDirectory() as context:
        shutil.copy(ferretdb_binary(), os.path.join(context, "ferretdb"))
        shutil.copy(os.path.join(ROOT, "scripts", "mailsink.py"), context)
        for target in BACKENDS:
            started = time.monotonic()
            podman("build", "--network", "host", "--layers", "--build-arg", f"BASE_IMAGE={base}", "--target", target,
                   "-f", os.path.join(ROOT, "deploy", "podman", "backends.Containerfile"),
                   "-t", f"localhost/kadra-compose-{target}:dev", context, timeout=900)
            say(f"backend image localhost/kadra-compose-{target}:dev ready ({time.monotonic() - started:.0f} s)")


def adapt(compose: dict, mail: str) -> tuple[dict, list[str], dict]:
    changes, published = [], {}
    services = compose["services"]
    for name, service in services.items():
        if "build" in service:
            service["build"]["context"] = ROOT  # the copy lives elsewhere; the context is the repository
        ports = []
        for port in service.get("ports", []):
            host, _, inside = str(port).rpartition(":")
            new = free_port()
            ports.append(f"127.0.0.1:{new}:{inside}")
            published[f"{name}:{inside}"] = new
        if ports:
            changes.append(f"{name}: ports {service['ports']} -> {ports}")
            service["ports"] = ports
    for name, change in BACKENDS.items():
        service = services[name]
        old = service["image"]
        service["image"] = f"localhost/kadra-compose-{name}:dev"
        if change["command"] is None:
            service.pop("command", None)
        else:
            service["command"] = change["command"]
        if change["healthcheck"]:
            service["healthcheck"]["test"] = change["healthcheck"]
        changes.append(f"{name}: image {old} -> {service['image']} (deploy/podman/backends.Containerfile)")
    checks: dict[int, tuple[dict, list]] = {}  # compose.yaml's anchors share one check among services
    for name, service in services.items():
        if (service.get("healthcheck") or {}).get("test", [""])[0] == "CMD":
            checks.setdefault(id(service["healthcheck"]), (service["healthcheck"], []))[1].append(name)
    for check, names in checks.values():  # podman-compose 1.0.3 + podman 4.3 split exec-form words at spaces
        changes.append(f"{', '.join(names)}: health check {check['test'][1]} ... as one shell line (CMD-SHELL)")
        check["test"] = ["CMD-SHELL", shlex.join(check["test"][1:])]
    services["mailpit"]["volumes"] = [f"{mail}:/var/mail/kadra"]
    changes.append(f"mailpit: its messages in the host folder {mail}")
    return compose, changes, published


def compose(file: str, *args: str, timeout: float = 600) -> subprocess.CompletedProcess:
    return subprocess.run(["podman-compose", "-p", PROJECT, "-f", file, *args], capture_output=True, text=True,
                          env=engine_env(), timeout=timeout, cwd=os.path.dirname(file))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keep", action="store_true", help="leave it running (podman-compose -p kadra down -v)")
    args = parser.parse_args()
    started = time.monotonic()
    subprocess.run([os.path.join(ROOT, "scripts", "image.sh"), "tools", "podman-compose"], cwd=ROOT, check=True)
    base = subprocess.run([os.path.join(ROOT, "scripts", "image.sh"), "base-name"], cwd=ROOT, check=True,
                          capture_output=True, text=True).stdout.strip()
    build_backends(base)
    state = tempfile.mkdtemp(prefix="kadra-compose-", dir=os.path.join(ROOT, ".kadra"))
    mail = os.path.join(state, "mail")
    _give_to_container(mail)
    with open(os.path.join(ROOT, "deploy", "compose.yaml")) as f:
        adapted, changes, published = adapt(yaml.safe_load(f), mail)
    file = os.path.join(state, "compose.yaml")
    with open(file, "w") as f:
        yaml.safe_dump(adapted, f, sort_keys=False)
    say(f"deploy/compose.yaml -> {file}, changed:")
    for change in changes:
        print(f"    {change}", flush=True)
    code = 1
    try:
        up = compose(file, "up", "-d")
        if up.returncode != 0:
            raise RuntimeError(f"podman-compose up failed:\n{up.stdout[-2000:]}\n{up.stderr[-2000:]}")
        containers = [f"{PROJECT}_{name}_1" for name in adapted["services"]]
        say(f"podman-compose up -d: {len(containers)} containers")
        deadline = time.monotonic() + 300
        healthy: set[str] = set()
        keys_done = False
        while True:
            for name in containers:
                if name.endswith("kadra-keys_1"):
                    if not keys_done:
                        status = podman("inspect", "--format", "{{.State.Status}} {{.State.ExitCode}}", name,
                                        check=False).stdout.strip()
                        keys_done = status == "exited 0"
                    continue
                if name not in healthy and podman("healthcheck", "run", name, check=False).returncode == 0:
                    healthy.add(name)
            if keys_done and len(healthy) == len(containers) - 1:
                break
            if time.monotonic() > deadline:
                missing = sorted(set(containers) - healthy - {f"{PROJECT}_kadra-keys_1"})
                logs = "".join(f"--- {n} ---\n" + podman("logs", "--tail", "8", n, check=False).stdout for n in missing)
                raise RuntimeError(f"not healthy within 300 s: {missing} (kadra-keys done: {keys_done})\n{logs}")
            time.sleep(2)
        restarts = {n: podman("inspect", "--format", "{{.RestartCount}}", n, check=False).stdout.strip()
                    for n in containers}
        say(f"kadra-keys exited 0; every health check passes ({time.monotonic() - started:.0f} s); "
            f"restarts while the backends came up: { {n: r for n, r in restarts.items() if r not in ('0', '')} }")
        for name in KADRA:
            container = f"{PROJECT}_{name}_1"
            user = podman("inspect", "--format", "{{.Config.User}} {{.HostConfig.ReadonlyRootfs}}", container)
            assert user.stdout.split() == ["10001:10001", "true"], (container, user.stdout)
        say("every Kadra container: user 10001:10001, read-only root filesystem")
        smoke_journey(f"http://127.0.0.1:{published['gateway:8000']}", mail, company="Compose Sp. z o.o.", say=say)
        say(f"smoke journey passed ({time.monotonic() - started:.0f} s in all)")
        code = 0
    except (RuntimeError, AssertionError, subprocess.CalledProcessError) as error:
        say(f"FAILED: {error}")
    finally:
        if args.keep and code == 0:
            say(f"left running: gateway http://127.0.0.1:{published['gateway:8000']}; stop with "
                f"CONTAINERS_CONF={engine_env()['CONTAINERS_CONF']} podman-compose -p {PROJECT} -f {file} down -v")
        else:
            down = compose(file, "down", "-v")
            say(f"podman-compose down -v: exit {down.returncode}")
            shutil.rmtree(state, ignore_errors=True)
    return code


if __name__ == "__main__":
    sys.exit(main())
