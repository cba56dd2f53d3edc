#!/usr/bin/env python3
"""Render every kustomize overlay and validate each object offline.

Called by scripts/k8s_check.sh (which provides a kustomize binary and a
Python with kubernetes-validate). Validation uses the JSON schemas shipped
inside the kubernetes-validate wheel, in strict mode (unknown fields are
errors), for every Kubernetes version given with --kube-version. A few
checks the schemas cannot express (e.g. a container without an image) are
added on top.

Exit status: 0 all valid, 1 an object is invalid, 2 an overlay does not render
or the tool is misused.
"""
from __future__ import annotations

import argparse
import collections
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import yaml

try:
    import kubernetes_validate
    from kubernetes_validate import utils as kv
except ImportError:  # pragma: no cover - the shell wrapper installs it
    sys.exit("k8s-check: kubernetes-validate is not installed "
             "(pip install -r deploy/tools/requirements.txt)")

POD_TEMPLATE_KINDS = {"Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job"}


def obj_name(obj: dict) -> str:
    meta = obj.get("metadata") or {}
    ns = meta.get("namespace")
    name = meta.get("name", "<no name>")
    return f"{obj.get('kind', '<no kind>')}/{name}" + (f" (namespace {ns})" if ns else "")


def render(kustomize: str, directory: Path) -> list[dict]:
    proc = subprocess.run([kustomize, "build", str(directory)],
                          capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(proc.stderr.strip() or f"kustomize exited {proc.returncode}")
    return [d for d in yaml.safe_load_all(proc.stdout) if d]


def load_file(path: Path) -> list[dict]:
    with open(path) as f:
        return [d for d in yaml.safe_load_all(f) if d]


def pod_spec(obj: dict) -> dict | None:
    kind = obj.get("kind")
    spec = obj.get("spec") or {}
    if kind in POD_TEMPLATE_KINDS:
        return ((spec.get("template") or {}).get("spec")) or {}
    if kind == "CronJob":
        return (((spec.get("jobTemplate") or {}).get("spec") or {})
                .get("template") or {}).get("spec") or {}
    if kind == "Pod":
        return spec
    return None


def extra_checks(obj: dict) -> list[str]:
    """What the OpenAPI schemas leave optional but a workload cannot run without."""
    problems = []
    spec = pod_spec(obj)
    if spec is not None:
        containers = spec.get("containers") or []
        if not containers:
            problems.append("spec.template.spec.containers: no container")
        for group in ("initContainers", "containers"):
            for i, c in enumerate(spec.get(group) or []):
                if not isinstance(c, dict):
                    continue
                if not c.get("image"):
                    problems.append(f"spec.template.spec.{group}.{i}: container "
                                    f"{c.get('name', '?')!r} has no image")
    return problems


def validate(obj: dict, versions: list[str]) -> list[str]:
    if not isinstance(obj, dict) or "apiVersion" not in obj or "kind" not in obj:
        return ["not a Kubernetes object (apiVersion/kind missing)"]
    problems = []
    for version in versions:
        try:
            kv.validate(obj, version, strict=True)
        except kv.ValidationError as e:
            path = ".".join(str(p) for p in e.path) or "<root>"
            problems.append(f"k8s {e.version}: {path}: {e.message}")
        except kv.SchemaNotFoundError as e:
            problems.append(f"k8s {version}: {e.message}")
        except kv.VersionNotSupportedError as e:
            raise SystemExit(f"k8s-check: kubernetes-validate {kubernetes_validate.__version__} "
                             f"has no schemas for Kubernetes {e.version}")
    return problems + extra_checks(obj)


def targets(k8s_dir: Path, wanted: list[str]) -> list[tuple[str, Path]]:
    found = []
    base = k8s_dir / "base"
    if (base / "kustomization.yaml").exists():
        found.append(("base", base))
    overlays = k8s_dir / "overlays"
    if overlays.is_dir():
        for d in sorted(overlays.iterdir()):
            if (d / "kustomization.yaml").exists():
                found.append((f"overlays/{d.name}", d))
    if wanted:
        found = [t for t in found if t[0] in wanted or t[0].split("/")[-1] in wanted]
    return found


def main(argv: list[str] | None = None) -> int:
    repo = Path(__file__).resolve().parents[2]
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--kustomize", default=os.environ.get("KUSTOMIZE", "kustomize"))
    ap.add_argument("--k8s-dir", type=Path, default=repo / "deploy" / "k8s")
    ap.add_argument("--kube-version", action="append", dest="versions",
                    help="Kubernetes version(s) to validate against "
                         "(default: $KADRA_K8S_VERSIONS or '1.30 1.37')")
    ap.add_argument("--render-dir", type=Path,
                    help="also write each rendered overlay there as <name>.yaml")
    ap.add_argument("--json", type=Path, help="write the summary as JSON there")
    ap.add_argument("only", nargs="*", help="overlay names (default: base and every overlay)")
    args = ap.parse_args(argv)

    versions = args.versions or os.environ.get("KADRA_K8S_VERSIONS", "1.30 1.37").split()
    k8s_dir = args.k8s_dir.resolve()
    todo = targets(k8s_dir, args.only)
    if not todo:
        print(f"k8s-check: no kustomization found under {k8s_dir}", file=sys.stderr)
        return 2

    started = time.monotonic()
    errors: list[str] = []
    render_failed = False
    summary = {}
    print(f"k8s-check: kubernetes-validate {kubernetes_validate.__version__}, "
          f"strict schemas for Kubernetes {', '.join(versions)} (offline)")
    for label, directory in todo:
        try:
            objs = render(args.kustomize, directory)
        except RuntimeError as e:
            errors.append(f"{label}: kustomize build failed:\n    " +
                          str(e).replace("\n", "\n    "))
            render_failed = True
            continue
        if args.render_dir:
            args.render_dir.mkdir(parents=True, exist_ok=True)
            (args.render_dir / (label.replace("/", "_") + ".yaml")).write_text(
                yaml.safe_dump_all(objs, sort_keys=False))
        sources = [(label, objs)]
        # Documented shapes that are not part of the build (e.g. prod Secrets).
        for example in sorted(directory.glob("*.example.yaml")):
            sources.append((f"{label}/{example.name}", load_file(example)))
        for source, items in sources:
            kinds = collections.Counter(o.get("kind", "?") for o in items)
            bad = 0
            for obj in items:
                for problem in validate(obj, versions):
                    bad += 1
                    errors.append(f"{source}: {obj_name(obj)}: {problem}")
            summary[source] = {"objects": len(items), "kinds": dict(sorted(kinds.items())),
                               "errors": bad}

    width = max(len(s) for s in summary) if summary else 10
    print(f"{'source':<{width}}  objects  errors  kinds")
    for source, s in summary.items():
        kinds = ", ".join(f"{k}={n}" for k, n in s["kinds"].items())
        print(f"{source:<{width}}  {s['objects']:>7}  {s['errors']:>6}  {kinds}")
    elapsed = time.monotonic() - started
    if args.json:
        args.json.write_text(json.dumps({"versions": versions, "sources": summary,
                                         "errors": errors, "seconds": round(elapsed, 2)},
                                        indent=2))
    if errors:
        print(f"\nk8s-check: FAILED, {len(errors)} problem(s):", file=sys.stderr)
        for e in errors:
            print(f"  - {e}", file=sys.stderr)
        return 2 if render_failed else 1
    total = sum(s["objects"] for s in summary.values())
    print(f"k8s-check: OK, {total} objects valid in {len(summary)} source(s) "
          f"in {elapsed:.1f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
