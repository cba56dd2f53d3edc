"""deploy/: `make k8s-check` (scripts/k8s_check.sh) and the invariants of what it renders.

The check runs once per session on the real tree (rendering every overlay into
a temp dir); the broken-manifest cases render a single overlay against one
Kubernetes version to stay quick. kustomize is built once and cached in
~/.cache/kadra/ by the script itself.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "k8s_check.sh"
K8S = ROOT / "deploy" / "k8s"
OURS = ("gateway", "identity", "users", "devices", "notify")


def run_check(*args: str, timeout: int = 600) -> subprocess.CompletedProcess:
    # Install into (and run with) the interpreter running the tests.
    env = dict(os.environ, VENV=sys.prefix)
    return subprocess.run(["bash", str(SCRIPT), *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="session")
def checked(tmp_path_factory):
    out = tmp_path_factory.mktemp("k8s-rendered")
    proc = run_check("--render-dir", str(out), "--json", str(out / "summary.json"))
    assert proc.returncode == 0, f"k8s-check failed on the real tree:\n{proc.stdout}\n{proc.stderr}"
    return proc, out


@pytest.fixture(scope="session")
def rendered(checked):
    import yaml  # installed by the check script if it was missing
    _, out = checked
    docs = {}
    for name in ("base", "overlays_dev", "overlays_prod"):
        path = out / f"{name}.yaml"
        assert path.exists(), f"{name} was not rendered"
        docs[name.split("_")[-1]] = [d for d in yaml.safe_load_all(path.read_text()) if d]
    return docs


def overlays(rendered):
    return [(n, rendered[n]) for n in ("dev", "prod")]


def workloads(objs):
    return [o for o in objs if o["kind"] in ("Deployment", "StatefulSet")]


def is_ours(obj) -> bool:
    labels = obj["spec"]["template"]["metadata"].get("labels", {})
    return labels.get("app.kubernetes.io/part-of") == "kadra" and \
        labels.get("kadra.io/tier") in ("gateway", "service")


def selector_matches(selector: dict, labels: dict) -> bool:
    for k, v in (selector.get("matchLabels") or {}).items():
        if labels.get(k) != v:
            return False
    for expr in selector.get("matchExpressions") or []:
        op, key, values = expr["operator"], expr["key"], expr.get("values", [])
        if op == "In" and labels.get(key) not in values:
            return False
        if op == "NotIn" and labels.get(key) in values:
            return False
        if op == "Exists" and key not in labels:
            return False
        if op == "DoesNotExist" and key in labels:
            return False
    return True


# --------------------------------------------------------------- the check itself

def test_real_overlays_pass_with_summary(checked):
    proc, out = checked
    assert "k8s-check: OK" in proc.stdout
    for source in ("base", "overlays/dev", "overlays/prod"):
        assert source in proc.stdout
    summary = json.loads((out / "summary.json").read_text())
    assert summary["errors"] == []
    assert summary["sources"]["overlays/prod"]["kinds"]["Deployment"] == 5
    assert summary["sources"]["overlays/dev"]["kinds"]["StatefulSet"] == 2


def _break(tmp_path, rel: str, old: str, new: str) -> Path:
    tree = tmp_path / "k8s"
    shutil.copytree(K8S, tree)
    path = tree / rel
    text = path.read_text()
    assert old in text, f"{old!r} not in {rel}"
    path.write_text(text.replace(old, new, 1))
    return tree


@pytest.mark.parametrize("rel, old, new, overlay, expect", [
    ("base/users.yaml", "  replicas: 2\n", '  replicas: "two"\n',
     "base", ["Deployment/kadra-users", "spec.replicas", "'two' is not of type"]),
    ("base/devices.yaml", "          image: kadra\n", "",
     "prod", ["Deployment/kadra-devices", "has no image"]),
    ("base/notify.yaml", "  revisionHistoryLimit: 5\n",
     "  revisionHistoryLimit: 5\n  replicaz: 3\n",
     "prod", ["Deployment/kadra-notify", "'replicaz' was unexpected"]),
    ("overlays/dev/mongodb.yaml", "        - name: mongodb\n          image: mongo:7\n",
     "        - name: mongodb\n          image: mongo:7\n          bogus: true\n",
     "dev", ["StatefulSet/mongodb", "'bogus' was unexpected"]),
])
def test_broken_manifest_fails_naming_the_object(tmp_path, rel, old, new, overlay, expect):
    tree = _break(tmp_path, rel, old, new)
    proc = run_check("--k8s-dir", str(tree), "--kube-version", "1.30", overlay)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "FAILED" in proc.stderr
    for fragment in expect:
        assert fragment in proc.stderr, proc.stderr


def test_unrenderable_overlay_fails(tmp_path):
    tree = _break(tmp_path, "overlays/prod/kustomization.yaml",
                  "  - ../../base\n", "  - ../../base\n  - missing.yaml\n")
    proc = run_check("--k8s-dir", str(tree), "--kube-version", "1.30", "prod")
    assert proc.returncode == 2
    assert "overlays/prod: kustomize build failed" in proc.stderr


# --------------------------------------------------------------- invariants

def test_every_container_is_hardened_and_sized(rendered):
    for name, objs in overlays(rendered):
        for w in workloads(objs):
            pod = w["spec"]["template"]["spec"]
            pod_sc = pod.get("securityContext", {})
            assert pod_sc.get("seccompProfile", {}).get("type") == "RuntimeDefault", w["metadata"]["name"]
            for c in pod["containers"]:
                where = f"{name}: {w['kind']}/{w['metadata']['name']}/{c['name']}"
                sc = {**pod_sc, **c.get("securityContext", {})}
                assert sc.get("runAsNonRoot") is True, where
                assert sc.get("allowPrivilegeEscalation") is False, where
                assert sc.get("capabilities", {}).get("drop") == ["ALL"], where
                res = c.get("resources", {})
                for kind in ("requests", "limits"):
                    assert {"cpu", "memory"} <= set(res.get(kind, {})), f"{where}: {kind}"
                assert "livenessProbe" in c and "readinessProbe" in c, where
                if is_ours(w):
                    assert sc.get("runAsUser") == 10001, where
                    assert sc.get("readOnlyRootFilesystem") is True, where
                    assert "startupProbe" in c, where
                    mounts = {m["mountPath"] for m in c.get("volumeMounts", [])}
                    assert "/tmp" in mounts, where


def test_probes_hit_health_endpoints(rendered):
    for name, objs in overlays(rendered):
        for w in filter(is_ours, workloads(objs)):
            c = w["spec"]["template"]["spec"]["containers"][0]
            port = "http" if w["metadata"]["name"] == "kadra-gateway" else "health"
            assert c["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": port}
            assert c["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": port}
            assert w["spec"]["template"]["spec"]["terminationGracePeriodSeconds"] >= 30
            assert c["lifecycle"]["preStop"]["exec"]["command"][0] == "sleep"


def test_gateway_and_services_have_hpa_and_pdb(rendered):
    for name, objs in overlays(rendered):
        ours = [w for w in workloads(objs) if is_ours(w)]
        assert sorted(w["metadata"]["name"] for w in ours) == sorted(f"kadra-{n}" for n in OURS)
        hpas = [o for o in objs if o["kind"] == "HorizontalPodAutoscaler"]
        pdbs = [o for o in objs if o["kind"] == "PodDisruptionBudget"]
        for w in ours:
            n = w["metadata"]["name"]
            assert any(h["apiVersion"] == "autoscaling/v2" and
                       h["spec"]["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": n}
                       for h in hpas), f"{name}: no HPA for {n}"
            labels = w["spec"]["template"]["metadata"]["labels"]
            assert any(selector_matches(p["spec"]["selector"], labels) for p in pdbs), \
                f"{name}: no PDB for {n}"


def test_prod_has_no_broker_or_database_and_uses_quorum_queues(rendered):
    prod = rendered["prod"]
    assert not [o for o in prod if o["kind"] in ("StatefulSet", "PersistentVolumeClaim")]
    for w in workloads(prod):
        for c in w["spec"]["template"]["spec"]["containers"]:
            assert "rabbitmq" not in c["image"] and "mongo" not in c["image"]
    assert not [o for o in prod if o["kind"] == "Secret"], "prod must use existing Secrets"
    cm = next(o for o in prod if o["kind"] == "ConfigMap")
    assert cm["data"]["KADRA_AMQP_QUEUE_TYPE"] == "quorum"
    # gunicorn would otherwise start 2 workers per CPU of the node, not of the pod.
    assert int(cm["data"]["KADRA_GATEWAY_WORKERS"]) <= 4
    hpa = {o["metadata"]["name"]: o["spec"] for o in prod if o["kind"] == "HorizontalPodAutoscaler"}
    dev_hpa = {o["metadata"]["name"]: o["spec"] for o in rendered["dev"]
               if o["kind"] == "HorizontalPodAutoscaler"}
    for n in hpa:
        assert hpa[n]["maxReplicas"] > dev_hpa[n]["maxReplicas"]


def test_dev_has_broker_database_and_mailpit(rendered):
    dev = rendered["dev"]
    sts = {o["metadata"]["name"]: o for o in dev if o["kind"] == "StatefulSet"}
    assert set(sts) == {"rabbitmq", "mongodb"}
    for s in sts.values():
        assert s["spec"]["volumeClaimTemplates"], "dev StatefulSets keep data on a PVC"
    assert "mongo:7" in sts["mongodb"]["spec"]["template"]["spec"]["containers"][0]["image"]
    assert "management" in sts["rabbitmq"]["spec"]["template"]["spec"]["containers"][0]["image"]
    assert any(o["kind"] == "Deployment" and o["metadata"]["name"] == "mailpit" for o in dev)
    for s in (o for o in dev if o["kind"] == "Secret"):
        assert s["metadata"]["labels"]["kadra.io/dev-only"] == "true"


def test_network_policies(rendered):
    for name, objs in overlays(rendered):
        pols = [o for o in objs if o["kind"] == "NetworkPolicy"]
        pods = {w["metadata"]["name"]: w["spec"]["template"]["metadata"]["labels"]
                for w in workloads(objs)}
        gateway = pods["kadra-gateway"]
        services = [pods[f"kadra-{n}"] for n in OURS[1:]]
        assert any(p["spec"]["podSelector"] == {} and
                   set(p["spec"]["policyTypes"]) == {"Ingress", "Egress"} and
                   not p["spec"].get("ingress") and not p["spec"].get("egress")
                   for p in pols), f"{name}: no default deny"

        def allows(labels, direction, port):
            for p in pols:
                if not selector_matches(p["spec"]["podSelector"], labels):
                    continue
                for rule in p["spec"].get(direction, []):
                    ports = [x.get("port") for x in rule.get("ports", [])]
                    if not ports or port in ports:
                        yield rule

        # Ingress from anywhere: the gateway's public port only, never a service or the management port.
        assert any("from" not in r for r in allows(gateway, "ingress", 8000))
        assert not any("from" not in r for r in allows(gateway, "ingress", 9000)), "metrics would be public"
        scrape = [f for r in allows(gateway, "ingress", 9000) for f in r["from"]]
        assert scrape and all(f == {"namespaceSelector": {"matchLabels": {"kadra.io/scrape-metrics": "true"}}}
                              for f in scrape), scrape
        for s in services:
            assert not any("from" not in r for r in allows(s, "ingress", 8080))
            assert list(allows(s, "egress", 5672)) and list(allows(s, "egress", 27017))
        assert list(allows(gateway, "egress", 5672)), "gateway needs RabbitMQ for RPC"
        assert not list(allows(gateway, "egress", 27017)), "gateway must never reach MongoDB"
        notify = pods["kadra-notify"]
        assert list(allows(notify, "egress", 587))
        assert not list(allows(pods["kadra-identity"], "egress", 587))
        if name == "dev":
            db = pods["mongodb"]
            froms = [f for r in allows(db, "ingress", 27017) for f in r.get("from", [{}])]
            assert froms and all(not selector_matches(f.get("podSelector", {}), gateway) for f in froms)


def test_secrets_are_referenced_not_inlined(rendered):
    for name, objs in overlays(rendered):
        for w in filter(is_ours, workloads(objs)):
            for c in w["spec"]["template"]["spec"]["containers"]:
                for e in c.get("env", []):
                    if any(s in e["name"] for s in ("URI", "SECRET", "PASSWORD", "USER")):
                        assert "valueFrom" in e, f"{name}: {e['name']} inlined"
            vols = {v["name"]: v for v in w["spec"]["template"]["spec"].get("volumes", [])}
            secrets = sorted(v["secret"]["secretName"] for v in vols.values() if "secret" in v)
            expected = {"kadra-gateway": ["kadra-jwt-public"],  # never a private key
                        "kadra-identity": ["kadra-jwt-keys", "kadra-jwt-public"]}.get(w["metadata"]["name"], [])
            assert secrets == expected, f"{name}: {w['metadata']['name']} mounts {secrets}"
            for v in vols.values():
                # whole Secrets: a key added or a signing-kid changed reaches the running pod
                assert "items" not in v.get("secret", {}), f"{name}: {v['name']} mounts chosen keys only"
            for c in w["spec"]["template"]["spec"]["containers"]:
                assert not any("subPath" in m for m in c.get("volumeMounts", [])), "a subPath mount never updates"


def test_the_gateway_s_metrics_are_on_the_management_port_only(rendered):
    for name, objs in overlays(rendered):
        gateway = next(w for w in workloads(objs) if w["metadata"]["name"] == "kadra-gateway")
        pod = gateway["spec"]["template"]
        ports = {p["name"]: p["containerPort"] for p in pod["spec"]["containers"][0]["ports"]}
        assert ports == {"http": 8000, "management": 9000}
        assert pod["metadata"]["annotations"]["prometheus.io/port"] == "9000"
        services = {o["metadata"]["name"]: o for o in objs if o["kind"] == "Service"}
        assert [p["targetPort"] for p in services["kadra-gateway"]["spec"]["ports"]] == ["http"]
        assert [p["targetPort"] for p in services["kadra-gateway-management"]["spec"]["ports"]] == ["management"]
        config = next(o for o in objs if o["kind"] == "ConfigMap" and o["metadata"]["name"].startswith("kadra-config"))
        assert config["data"]["KADRA_MANAGEMENT_PORT"] == "9000"


def test_dev_makes_its_keys_on_first_start_and_holds_none(rendered):
    dev = rendered["dev"]
    job = next(o for o in dev if o["kind"] == "Job")
    pod = job["spec"]["template"]["spec"]
    assert pod["containers"][0]["args"][:2] == ["kadra-keys", "kubernetes"]
    assert pod["serviceAccountName"] == "kadra-keys" and pod["containers"][0]["securityContext"]["runAsNonRoot"]
    role = next(o for o in dev if o["kind"] == "Role" and o["metadata"]["name"] == "kadra-keys")
    for rule in role["rules"]:
        assert rule["resources"] == ["secrets"]
        assert rule["verbs"] == ["create"] or rule["resourceNames"] == ["kadra-jwt-keys", "kadra-jwt-public"]
    for secret in (o for o in dev if o["kind"] == "Secret"):
        assert not secret["metadata"]["name"].startswith("kadra-jwt"), "the keys come from the Job, not git"
    # the Job may reach the API server; the default deny holds for the rest
    pols = [o for o in dev if o["kind"] == "NetworkPolicy"
            and selector_matches(o["spec"]["podSelector"], job["spec"]["template"]["metadata"]["labels"])]
    assert any(p["metadata"]["name"] == "kadra-keys-apiserver-egress" for p in pols)


def test_no_private_key_is_in_the_repository():
    """A private key in git proves nothing about who signed a token (only placeholders may be)."""
    import re

    pem = re.compile(r"-----BEGIN ([A-Z ]*)PRIVATE KEY-----(.*?)-----END", re.S)
    tracked = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True).stdout
    for rel in tracked.decode().split("\0"):
        path = ROOT / rel
        if not rel or not path.is_file() or path.stat().st_size > 1_000_000:
            continue
        text = path.read_bytes().decode("utf-8", "replace")
        for match in pem.finditer(text):
            body = re.sub(r"\s", "", match.group(2))
            assert len(body) < 40, f"{rel} holds a private key"


# --------------------------------------------------------------- image and compose

def test_dockerfile_shape():
    text = (ROOT / "deploy/docker/Dockerfile").read_text()
    stages = text.split("\nFROM ")
    assert len(stages) == 3, "builder + final"
    final = stages[-1]
    assert final.startswith("${PYTHON_IMAGE} AS final") and "ARG PYTHON_IMAGE=python:3.11-slim" in text
    assert "USER 10001" in final
    assert "ENTRYPOINT" in final
    assert "COPY --from=builder /opt/venv /opt/venv" in final
    for forbidden in ("apt-get", "build-essential", "gcc", "pip install"):
        assert forbidden not in final, f"{forbidden} in the final stage"
    for pkg in ("./kadra_defaults", "./services/identity", "./services/users",
                "./services/devices", "./services/notify", "./gateway"):
        assert pkg in stages[1]
    assert (ROOT / "deploy/docker/Dockerfile.dockerignore").exists()
    assert os.access(ROOT / "deploy/docker/entrypoint.sh", os.X_OK)


def test_entrypoint_execs_the_command(tmp_path):
    out = subprocess.run(["sh", str(ROOT / "deploy/docker/entrypoint.sh"), "echo", "hi"],
                         capture_output=True, text=True)
    assert out.returncode == 0 and out.stdout == "hi\n"


def test_compose_file():
    import yaml
    compose = yaml.safe_load((ROOT / "deploy/compose.yaml").read_text())
    svcs = compose["services"]
    assert set(svcs) == {"mongodb", "rabbitmq", "mailpit", "kadra-keys", *OURS}
    assert svcs["mongodb"]["image"] == "mongo:7"
    assert "management" in svcs["rabbitmq"]["image"]
    assert "8025:8025" in " ".join(svcs["mailpit"]["ports"])
    assert svcs["gateway"]["ports"] == ["127.0.0.1:8000:8000", "127.0.0.1:9000:9000"]
    for name, s in svcs.items():
        # nothing is published beyond this machine
        assert all(str(p).startswith("127.0.0.1:") for p in s.get("ports", [])), (name, s.get("ports"))
        assert "healthcheck" in s or name == "kadra-keys", name
    for name in OURS:
        s = svcs[name]
        assert s["image"] == "kadra:dev"
        assert s["build"] == {"context": "..", "dockerfile": "deploy/docker/Dockerfile"}
        assert s["user"] == "10001:10001" and s["read_only"] is True
        assert all(d["condition"] == ("service_completed_successfully" if other == "kadra-keys" else "service_healthy")
                   for other, d in s["depends_on"].items())
        assert "mongodb" not in s["depends_on"] if name == "gateway" else "mongodb" in s["depends_on"]
    assert svcs["gateway"]["command"] == ["kadra-gateway"]
    assert svcs["identity"]["command"] == ["kadra-service", "identity"]
    assert "KADRA_MONGO_URI" not in svcs["gateway"]["environment"]
    # the keys: made on first start into volumes, never a file of the repository
    assert "secrets" not in compose
    keys = svcs["kadra-keys"]
    assert keys["command"] == ["kadra-keys"] and keys["restart"] == "no"
    assert {"identity", "gateway"} <= {n for n, s in svcs.items() if "kadra-keys" in s.get("depends_on", {})}
    assert [v.split(":")[0] for v in svcs["gateway"]["volumes"]] == ["jwt-public"]
    assert all(v.endswith(":ro") for v in svcs["gateway"]["volumes"] + svcs["identity"]["volumes"])
    assert {v.split(":")[0] for v in svcs["identity"]["volumes"]} == {"jwt-private", "jwt-public"}
    assert {"jwt-private", "jwt-public"} <= set(compose["volumes"])
