"""`make kube-play`: the dev overlay, as kustomize renders it, run with `podman kube play`, checked, taken down.

    .venv/bin/python scripts/kube_play.py [--keep]

1. `kustomize build deploy/k8s/overlays/dev` (the kustomize `make k8s-check` builds once into ~/.cache/kadra).
2. What podman 4.3 runs is kept: the five Kadra Deployments (image: the one `make image` built) and the ConfigMap.
   Left out, and listed when it runs: what podman's kube play does not do (Services, NetworkPolicies,
   HorizontalPodAutoscalers, PodDisruptionBudgets, ServiceAccounts, Roles, RoleBindings, the Namespace, the Job),
   and the dev backends whose images no registry here serves (the rabbitmq and mongodb StatefulSets, mailpit):
   the pods use this machine's RabbitMQ (a vhost of their own), database (a prefix of their own) and a mail sink
   started here. Changed, and listed: the pods share the host's network (no Services to find each other by), so
   every port is a free one; httpGet probes become the same request made by the image's python in a shell line
   (podman turns a probe into a health check run inside the container, `/bin/sh -c` on its words, and the image
   has no curl); the containers' `ports` go (podman refuses port mappings on the host's network); Secret values are written in
   place (podman 4.3 reads no Secret objects); the token key ring Secrets are host folders filled by
   `kadra-keys` run from the image (the Job's `kadra-keys kubernetes` needs the Kubernetes API).
3. Every probe of every container (startup, liveness, readiness) is run in its container and must pass, then a
   smoke journey goes through the gateway: sign-up by the e-mailed link, login, an invitation e-mail at the sink.
4. `podman kube down`, the vhost, the databases and the sink go (unless --keep).
"""
import argparse
import base64
import json
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
import uuid

import requests
import yaml

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from image_system import IMAGE, _give_to_container, container_cmd, engine_env  # noqa: E402
from system import ROOT, SERVICES, free_port  # noqa: E402

sys.path.insert(0, ROOT)
from tests.support.infra import create_vhost, delete_vhost  # noqa: E402
from tests.support.mailbox import Mailbox  # noqa: E402
from tests.support.users import Person, accept, invitation_token, invite, login, sign_up, unique_email, PASSWORD  # noqa: E402,E501

CACHE = os.environ.get("KADRA_CACHE_DIR") or os.path.join(os.path.expanduser("~"), ".cache", "kadra")
KUSTOMIZE_VERSION = os.environ.get("KUSTOMIZE_VERSION", "v5.8.2")
OVERLAY = os.path.join(ROOT, "deploy", "k8s", "overlays", "dev")
PROBES = ("startupProbe", "livenessProbe", "readinessProbe")


def say(message: str) -> None:
    print(f"[kube-play] {message}", flush=True)


def render() -> list[dict]:
    kustomize = os.environ.get("KUSTOMIZE") or os.path.join(CACHE, f"kustomize-{KUSTOMIZE_VERSION}", "kustomize")
    if not os.access(kustomize, os.X_OK):  # make k8s-check builds it once (Go module proxy)
        subprocess.run([os.path.join(ROOT, "scripts", "k8s_check.sh"), "dev"], check=True, cwd=ROOT)
    out = subprocess.run([kustomize, "build", OVERLAY], check=True, capture_output=True, text=True).stdout
    return [doc for doc in yaml.safe_load_all(out) if doc]


def probe_command(probe: dict, port: int) -> str:
    """The httpGet probe as a shell command: podman 4.3 makes an exec probe a health check that runs
    `/bin/sh -c` on the probe's words joined by spaces, so the probe is written as one shell line."""
    get = probe["httpGet"]
    url = f"http://127.0.0.1:{port}{get.get('path', '/')}"
    timeout = probe.get("timeoutSeconds", 1)
    return f"python -c \"import urllib.request; urllib.request.urlopen('{url}', timeout={timeout})\""


def adapt(objects: list[dict], *, vhost: str, prefix: str, smtp_port: int, keys: str) -> tuple[list, list, dict]:
    """(objects podman runs, [(kind/name, why left out)], {container: {probe: command}})."""
    secrets = {o["metadata"]["name"]: {k: base64.b64decode(v).decode() for k, v in (o.get("data") or {}).items()}
               for o in objects if o["kind"] == "Secret"}
    kept, left_out, probes = [], [], {}
    ports = {name: free_port() for name in (*SERVICES, "http", "management")}
    for obj in objects:
        kind, name = obj["kind"], obj["metadata"]["name"]
        if kind == "ConfigMap" and name.startswith("kadra-config"):
            obj["metadata"].pop("namespace", None)
            obj["data"].update({
                "KADRA_SMTP_HOST": "127.0.0.1", "KADRA_SMTP_PORT": str(smtp_port), "KADRA_MONGO_DB_PREFIX": prefix,
                "KADRA_PUBLIC_URL": f"http://127.0.0.1:{ports['http']}", "KADRA_GATEWAY_PORT": str(ports["http"]),
                "KADRA_MANAGEMENT_PORT": str(ports["management"]), "KADRA_GATEWAY_WORKERS": "2"})
            # Each service's own port is in its env; podman 4.3 lets envFrom win over env (Kubernetes: env wins).
            obj["data"].pop("KADRA_HEALTH_PORT", None)
            kept.append(obj)
        elif kind == "Deployment" and name.startswith("kadra-"):
            kept.append(obj)
            obj["metadata"].pop("namespace", None)
            if obj["spec"].get("replicas", 1) > 1:
                left_out.append((f"{kind}/{name}: replicas {obj['spec']['replicas']} -> 1",
                                 "on the host network a second pod would bind the same ports (make test runs "
                                 "two of everything as processes: tests/e2e/test_replicas.py)"))
                obj["spec"]["replicas"] = 1
            spec = obj["spec"]["template"]["spec"]
            spec["hostNetwork"] = True
            for field in ("serviceAccountName", "topologySpreadConstraints"):
                spec.pop(field, None)
            for volume in spec.get("volumes", []):
                if "secret" in volume:  # the key ring Secrets: host folders kadra-keys filled
                    which = "public" if volume["secret"]["secretName"].endswith("public") else "private"
                    volume.pop("secret")
                    volume["hostPath"] = {"path": os.path.join(keys, which), "type": "Directory"}
            for container in spec["containers"]:
                container["image"] = IMAGE
                component = name.removeprefix("kadra-")
                env = []
                for item in container.get("env", []):
                    ref = item.get("valueFrom", {}).get("secretKeyRef")
                    if ref:
                        item = {"name": item["name"], "value": secrets[ref["name"]][ref["key"]]}
                    env.append(item)
                env = [e for e in env if e["name"] not in ("KADRA_AMQP_URI", "KADRA_MONGO_URI")]
                env += [{"name": "KADRA_AMQP_URI", "value": f"amqp://guest:guest@127.0.0.1:5672/{vhost}"},
                        {"name": "KADRA_MONGO_URI", "value": "mongodb://127.0.0.1:27017/"}]
                named = {"http": ports["http"], "management": ports["management"]}
                if component in SERVICES:
                    env.append({"name": "KADRA_HEALTH_PORT", "value": str(ports[component])})
                    named = {"health": ports[component]}
                container["env"] = env
                container.pop("ports", None)  # on the host's network: podman refuses port mappings there
                probes[(name, container["name"])] = {}
                for probe_name in PROBES:
                    probe = container.get(probe_name)
                    if not probe:
                        continue
                    port = probe["httpGet"]["port"]
                    command = probe_command(probe, named[port] if isinstance(port, str) else port)
                    probe.pop("httpGet")
                    probe["exec"] = {"command": [command]}
                    probes[(name, container["name"])][probe_name] = command
        else:
            why = ("a backend whose image no registry here serves; this machine's runs instead"
                   if name in ("rabbitmq", "mongodb", "mailpit") or kind == "Secret"
                   else "not run by podman kube play")
            if kind == "Secret":
                why = "its values are written into the pods' env (podman 4.3 reads no Secret objects)"
            if kind == "Job":
                why = "kadra-keys kubernetes needs the API; kadra-keys ran from the image into host folders"
            left_out.append((f"{kind}/{name}", why))
    return kept, left_out, {"ports": ports, "probes": probes}


def smoke_journey(base: str, mail: str, company: str, say=say) -> None:
    """Through the gateway at `base`: sign-up by the e-mailed link (read from the sink's folder `mail`), login,
    an invitation e-mail at the sink, its acceptance and the new member's login. AssertionError when not."""
    api = requests.Session()
    api.url = lambda path: base + path
    box = Mailbox(mail)
    owner, company_id = sign_up(api, company_name=company, mailbox=box)
    say(f"sign-up by the e-mailed link and login: account {owner.account_id}, company {company_id}")
    email = unique_email("smoke")
    response = invite(api, owner, company_id, email, "employee")
    assert response.status_code == 201, response.text
    token = invitation_token(box, email)
    say(f"invitation e-mail to {email} at the sink ({mail})")
    response = accept(api, token, full_name="Kasia Dymna")
    assert response.status_code == 200, response.text
    member = login(api, Person(email=email, password=PASSWORD, full_name="Kasia Dymna"))
    me = api.get(api.url("/api/v1/me"), headers=member.auth)
    assert me.status_code == 200 and me.json()["email"] == email, me.text
    say("invitation accepted and the new member logged in")


def podman(*args: str, check: bool = True, timeout: float = 300) -> subprocess.CompletedProcess:
    proc = subprocess.run(container_cmd(*args), capture_output=True, text=True, env=engine_env(), timeout=timeout)
    if check and proc.returncode != 0:
        raise RuntimeError(f"podman {shlex.join(args)}: {proc.stderr.strip() or proc.stdout.strip()}")
    return proc


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keep", action="store_true", help="leave the pods running (podman kube down FILE stops)")
    args = parser.parse_args()
    started = time.monotonic()
    build = subprocess.run([os.path.join(ROOT, "scripts", "image.sh"), "build"], cwd=ROOT, capture_output=True,
                           text=True)
    if build.returncode != 0:
        say(f"make image failed:\n{build.stderr[-3000:]}")
        return 1
    say(" ".join(line for line in build.stderr.splitlines() if line.startswith("[image] built")))
    run = uuid.uuid4().hex[:8]
    state = tempfile.mkdtemp(prefix=f"kadra-kube-{run}-", dir=os.path.join(ROOT, ".kadra")
                             if os.path.isdir(os.path.join(ROOT, ".kadra")) else None)
    keys, mail = os.path.join(state, "keys"), os.path.join(state, "mail")
    for folder in (os.path.join(keys, "private"), os.path.join(keys, "public")):
        os.makedirs(folder)
    _give_to_container(keys)
    vhost, prefix = f"kadra-kube-{run}", f"kk{run}"
    smtp_port, sink_http = free_port(), free_port()
    sink = subprocess.Popen([sys.executable, os.path.join(ROOT, "scripts", "mailsink.py"), "--smtp",
                             f"127.0.0.1:{smtp_port}", "--http", f"127.0.0.1:{sink_http}", "--dir", mail],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    create_vhost(vhost)
    manifest = os.path.join(state, "kube-play.yaml")
    code = 1
    try:
        kept, left_out, info = adapt(render(), vhost=vhost, prefix=prefix, smtp_port=smtp_port, keys=keys)
        with open(manifest, "w") as f:
            yaml.safe_dump_all(kept, f, sort_keys=False)
        say(f"rendered {OVERLAY.removeprefix(ROOT + '/')}: {len(kept)} objects run "
            f"({', '.join(o['kind'] + '/' + o['metadata']['name'] for o in kept)}), written to {manifest}")
        say(f"left out ({len(left_out)}):")
        for what, why in left_out:
            print(f"    {what:45} {why}")
        podman("run", "--rm", "--network", "none", "--read-only", "--user", "10001:10001",
               "-v", f"{keys}:{keys}", "-e", f"KADRA_JWT_KEYS_DIR={keys}/private",
               "-e", f"KADRA_JWT_PUBLIC_KEYS_DIR={keys}/public", IMAGE, "kadra-keys")
        say(f"kadra-keys (from the image): key ring in {keys}/private, published keys in {keys}/public")
        play = podman("kube", "play", manifest)
        say("podman kube play: " + " ".join(play.stdout.split()))
        names = podman("ps", "--format", "{{.Names}}").stdout.split()
        probes = {}
        for (deployment, container), commands in info["probes"].items():
            (found,) = [n for n in names if n.startswith(f"{deployment}-pod") and n.endswith(f"-{container}")]
            probes[found] = commands
        deadline = time.monotonic() + 150
        passed: dict[str, set] = {c: set() for c in probes}
        while any(passed[c] != set(probes[c]) for c in probes):
            if time.monotonic() > deadline:
                failing = {c: sorted(set(probes[c]) - passed[c]) for c in probes if set(probes[c]) - passed[c]}
                logs = "".join(f"--- {c} ---\n" + podman("logs", "--tail", "8", c, check=False).stdout
                               for c in failing)
                raise RuntimeError(f"probes not passing within 150 s: {failing}\n{logs}")
            for container, commands in probes.items():
                state_ = podman("inspect", "--format", "{{.State.Status}}", container, check=False).stdout.strip()
                if state_ not in ("running", ""):
                    logs = podman("logs", "--tail", "20", container, check=False)
                    raise RuntimeError(f"{container} is {state_}:\n{logs.stdout}{logs.stderr}")
                for probe_name, command in commands.items():
                    if probe_name not in passed[container] and \
                            podman("exec", container, "/bin/sh", "-c", command, check=False,
                                   timeout=30).returncode == 0:
                        passed[container].add(probe_name)
            time.sleep(1)
        for container in probes:
            health = podman("healthcheck", "run", container, check=False)
            status = podman("inspect", "--format", "{{.State.Health.Status}}", container, check=False).stdout.strip()
            user = podman("inspect", "--format", "{{.Config.User}} ro={{.HostConfig.ReadonlyRootfs}}",
                          container).stdout.strip()
            say(f"{container:32} probes passed: {', '.join(sorted(passed[container]))}; "
                f"podman healthcheck: {status or 'none'} (exit {health.returncode}); user {user}")
            if health.returncode != 0:
                config = podman("inspect", "--format", "{{json .Config.Healthcheck}}", container, check=False)
                raise RuntimeError(f"podman healthcheck run {container} failed: {health.stdout}{health.stderr} "
                                   f"(its health check: {config.stdout.strip()})")
        say(f"all {len(probes)} containers up with passing probes in {time.monotonic() - started:.0f} s")

        smoke_journey(f"http://127.0.0.1:{info['ports']['http']}", mail, company="Kube Play Sp. z o.o.")
        say(f"smoke journey passed ({time.monotonic() - started:.0f} s in all)")
        code = 0
    except (RuntimeError, AssertionError, subprocess.CalledProcessError) as error:
        say(f"FAILED: {error}")
    finally:
        if args.keep and code == 0:
            say(f"left running: gateway {info['ports']['http']}; stop with "
                f"CONTAINERS_CONF={engine_env()['CONTAINERS_CONF']} podman kube down {manifest}")
        else:
            if os.path.exists(manifest):
                podman("kube", "down", manifest, check=False)
            delete_vhost(vhost)
            from tests.conftest import _drop_databases
            _drop_databases(prefix)
            sink.terminate()
            sink.wait(10)
            shutil.rmtree(state, ignore_errors=True)
            say("taken down (podman kube down, vhost, databases, mail sink)")
    return code


if __name__ == "__main__":
    sys.exit(main())
