"""The whole of Kadra from the container image: `make run-image` (KADRA_FROM_IMAGE=1 make run) and tests/image.

The same System as scripts/system.py (same settings, same order: keys, mail sink, four services, gateway),
but each of kadra-keys, the four services and the gateway runs in a container of the image `make image`
built (podman, or docker when KADRA_IMAGE_ENGINE=docker), hardened as deploy/compose.yaml and the Kubernetes
manifests run it: user 10001, read-only root filesystem (a tmpfs on /tmp), every capability dropped, no new
privileges. With `--network host` the containers reach the same RabbitMQ, database and mail sink as
`make run` at the same addresses. The mail sink stays a host process (scripts/mailsink.py).

Only KADRA_* settings go into a container. The settings that name files or folders (the key ring, the gateway's
spool, ...) are made absolute against the repository, bound into the container at the same path and handed to
user 10001 (they are the container's state), so a path means the same inside and outside.
"""
import functools
import hashlib
import os
import shutil
import signal
import subprocess
import uuid

from system import ROOT, System

IMAGE = os.environ.get("KADRA_IMAGE", "localhost/kadra:dev")
UID = 10001
CONTAINERS_CONF = os.path.join(ROOT, "deploy", "podman", "containers.conf")
# Settings naming a folder, and those naming a file (its folder is bound), with their defaults as the code has
# them (relative ones are under the working directory: the repository for `make run`, /app in the image).
DIR_SETTINGS = {"KADRA_JWT_KEYS_DIR": "", "KADRA_JWT_PUBLIC_KEYS_DIR": "", "KADRA_NOTIFY_JOURNAL_DIR": "",
                "KADRA_GATEWAY_SPOOL_DIR": ""}
FILE_SETTINGS = {"KADRA_JWT_PRIVATE_KEY_FILE": ".kadra/keys/jwt-ed25519.pem",
                 "KADRA_JWT_PUBLIC_KEY_FILE": ".kadra/keys/jwt-ed25519.pub.pem",
                 "KADRA_SERVICE_TOKEN_SECRET_FILE": ".kadra/keys/service-token.secret"}


@functools.lru_cache(maxsize=None)
def engine() -> str:
    """As scripts/image.sh picks: KADRA_IMAGE_ENGINE, else docker when its engine answers, else podman."""
    if os.environ.get("KADRA_IMAGE_ENGINE"):
        return os.environ["KADRA_IMAGE_ENGINE"]
    if shutil.which("docker") and subprocess.run(["docker", "info"], capture_output=True).returncode == 0:
        return "docker"
    return "podman"


def engine_env() -> dict:
    """The environment for podman: this repository's containers.conf (runc, cgroupfs) unless one is given."""
    env = dict(os.environ)
    env.setdefault("CONTAINERS_CONF", CONTAINERS_CONF)
    return env


def container_cmd(*args: str) -> list[str]:
    return [engine(), *args]


def inspect(name: str, template: str) -> str:
    proc = subprocess.run(container_cmd("inspect", "--format", template, name), capture_output=True, text=True,
                          env=engine_env(), timeout=60)
    if proc.returncode != 0:
        raise RuntimeError(f"{engine()} inspect {name}: {proc.stderr.strip()}")
    return proc.stdout.strip()


def _give_to_container(path: str) -> None:
    """The folder (and what is in it) owned by the container's user, so it can write its state there."""
    os.makedirs(path, exist_ok=True)
    if os.geteuid() == 0:
        for top, dirs, files in os.walk(path):
            for name in [top, *(os.path.join(top, n) for n in dirs + files)]:
                os.chown(name, UID, UID, follow_symlinks=False)
    elif engine() == "podman":  # rootless podman: the container's 10001 is a sub-uid of ours
        subprocess.run(container_cmd("unshare", "chown", "-R", f"{UID}:{UID}", path), check=True, env=engine_env())
    else:  # docker as a user of its group: no chown; the folder (local dev/test state) open to 10001 by mode
        for top, dirs, files in os.walk(path):
            os.chmod(top, 0o777)
            for name in files:
                os.chmod(os.path.join(top, name), 0o666)


class ImageSystem(System):
    """System whose processes (but the mail sink) are containers of IMAGE."""

    def __init__(self, env: dict, log_dir: str, *, image: str = IMAGE, tag: str | None = None, **kwargs):
        super().__init__(env, log_dir, **kwargs)
        self.image = image
        self.tag = tag or uuid.uuid4().hex[:8]
        self.containers: dict[str, str] = {}  # process name -> container name
        self.env = self._absolute_paths(env)
        self.mounts = sorted(self._state_folders())
        for folder in self.mounts:
            _give_to_container(folder)

    def _absolute_paths(self, env: dict) -> dict:
        env = dict(env)
        for key, default in {**DIR_SETTINGS, **FILE_SETTINGS}.items():
            value = env.get(key) or default
            if value:
                env[key] = os.path.join(ROOT, value) if not os.path.isabs(value) else value
        if not env.get("KADRA_GATEWAY_SPOOL_DIR"):  # as gateway.spool.folder_for: a folder per broker address
            amqp = env.get("KADRA_AMQP_URI", "amqp://guest:guest@127.0.0.1:5672/")
            env["KADRA_GATEWAY_SPOOL_DIR"] = os.path.join(
                ROOT, ".kadra", "spool", "gateway-" + hashlib.sha256(amqp.encode()).hexdigest()[:12])
        return env

    def _state_folders(self) -> set[str]:
        folders = {self.env[k] for k in DIR_SETTINGS if self.env.get(k)}
        # A gateway past the first has its own spool folder (System.start_gateway).
        folders |= {f"{self.env['KADRA_GATEWAY_SPOOL_DIR']}-{n}" for n in range(2, self.replicas + 1)}
        folders |= {os.path.dirname(self.env[k]) for k in FILE_SETTINGS if self.env.get(k)}
        return folders

    def container_env(self, extra_env: dict | None = None) -> dict:
        """The KADRA_* settings a container of this system gets (not those choosing the image)."""
        return {k: v for k, v in dict(self.env, **(extra_env or {})).items()
                if k.startswith("KADRA_") and k not in ("KADRA_ROOT", "KADRA_IMAGE", "KADRA_IMAGE_ENGINE",
                                                         "KADRA_FROM_IMAGE", "KADRA_HEALTH_PORT_BASE")}

    def run_args(self, name: str, extra_env: dict | None = None) -> list[str]:
        """`podman run` options for one process of this system (without the image and command). The values
        of the settings come from podman's own environment (`-e NAME`), so no secret shows in a command line."""
        env = self.container_env(extra_env)
        args = ["run", "--rm", "--name", self.containers[name], "--label", f"kadra.system={self.tag}",
                "--network", "host", "--read-only", "--user", f"{UID}:{UID}", "--cap-drop", "ALL",
                "--security-opt", "no-new-privileges", "--stop-timeout", "20"]
        if engine() == "docker":
            args += ["--tmpfs", "/tmp:size=64m,mode=1777"]  # podman mounts one on /tmp with --read-only
        for folder in self.mounts:
            args += ["-v", f"{folder}:{folder}"]
        for key in sorted(env):
            args += ["-e", key]
        return args

    def _spawn(self, name: str, argv: list, extra_env: dict | None = None):
        if name == "mailsink":
            return super()._spawn(name, argv, extra_env)
        self.containers[name] = f"kadra-{self.tag}-{name}"
        subprocess.run(container_cmd("rm", "-f", self.containers[name]), capture_output=True, env=engine_env())
        command = [os.path.basename(argv[0]), *argv[1:]]  # the image's own kadra-service / kadra-gateway
        log = open(os.path.join(self.log_dir, f"{name}.log"), "ab")
        # Attached: SIGTERM to this process group reaches the container's PID 1 (podman proxies signals).
        self.procs[name] = subprocess.Popen(
            container_cmd(*self.run_args(name, extra_env), self.image, *command), cwd=ROOT,
            env=dict(engine_env(), **self.container_env(extra_env)),
            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        log.close()

    def start_service(self, name: str, process: str | None = None):
        process = process or name
        self._spawn(process, ["kadra-service", name], {"KADRA_HEALTH_PORT": str(self.health_ports[process])})

    def ensure_keys(self):
        """kadra-keys in a container of the image, as compose's first start runs it."""
        self.containers["kadra-keys"] = f"kadra-{self.tag}-keys"
        proc = subprocess.run(container_cmd(*self.run_args("kadra-keys"), self.image, "kadra-keys"), cwd=ROOT,
                              env=dict(engine_env(), **self.container_env()), capture_output=True, text=True,
                              timeout=120)
        self.containers.pop("kadra-keys")
        if proc.returncode != 0:
            raise RuntimeError(f"kadra-keys (container) failed: {proc.stderr.strip()}")
        return proc.stdout

    def stop(self, wait: float = 20.0):
        super().stop(wait)
        self.remove_containers()

    def stop_process(self, name: str, sig=signal.SIGTERM, wait: float = 20.0):
        super().stop_process(name, sig, wait)
        self.remove_containers([name])

    def remove_containers(self, names=None):
        """Whatever container of this system outlived its `podman run` (killed with SIGKILL)."""
        names = [self.containers.pop(n) for n in list(names or self.containers) if n in self.containers]
        if names:
            subprocess.run(container_cmd("rm", "-f", *(["-t", "0"] if engine() == "podman" else []), *names),
                           capture_output=True, env=engine_env(),
                           timeout=120)
