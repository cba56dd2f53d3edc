#!/usr/bin/env bash
# make k8s-check: render every kustomize overlay under deploy/k8s and validate
# every object against the Kubernetes JSON schemas, offline.
#
# Needs nothing but python3 and Go on a fresh machine:
#   - Python: kubernetes-validate (pinned in deploy/tools/requirements.txt; the
#     wheel ships the schemas) is pip-installed into $VENV (default: .venv).
#   - kustomize $KUSTOMIZE_VERSION is built once from the Go module proxy and
#     kept in ~/.cache/kadra/kustomize-<version>/; later runs reuse it.
#     Set KUSTOMIZE=/path/to/kustomize to use another binary.
# Arguments go to deploy/tools/k8s_check.py (e.g. an overlay name: dev, prod;
# --kube-version 1.31; --render-dir DIR).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${VENV:-$ROOT/.venv}"
KUSTOMIZE_VERSION="${KUSTOMIZE_VERSION:-v5.8.2}"   # v5.8.2 needs Go >= 1.26
CACHE_DIR="${KADRA_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/kadra}"
REQUIREMENTS="$ROOT/deploy/tools/requirements.txt"

say() { printf 'k8s-check: %s\n' "$*" >&2; }
die() { say "$*"; exit 2; }

# --- Python + kubernetes-validate ------------------------------------------
if [ ! -x "$VENV/bin/python" ]; then
    command -v python3 >/dev/null || die "python3 not found"
    say "creating virtualenv $VENV"
    python3 -m venv "$VENV" || die "cannot create $VENV (apt-get install python3-venv?)"
fi
PY="$VENV/bin/python"

requirements_met() {
    "$PY" - "$REQUIREMENTS" <<'PYEOF'
import sys
from importlib.metadata import version, PackageNotFoundError
for line in open(sys.argv[1]):
    line = line.split("#", 1)[0].strip()
    if "==" not in line:
        continue
    name, want = (p.strip() for p in line.split("==", 1))
    try:
        if version(name) != want:
            sys.exit(1)
    except PackageNotFoundError:
        sys.exit(1)
import yaml  # noqa: F401  (PyYAML>=6)
PYEOF
}
if ! requirements_met 2>/dev/null; then
    say "installing $(grep -v '^#' "$REQUIREMENTS" | xargs) into $VENV"
    "$PY" -m pip install --quiet --disable-pip-version-check -r "$REQUIREMENTS" \
        || die "pip install -r $REQUIREMENTS failed"
fi

# --- kustomize ---------------------------------------------------------------
if [ -n "${KUSTOMIZE:-}" ]; then
    [ -x "$KUSTOMIZE" ] || die "KUSTOMIZE=$KUSTOMIZE is not executable"
else
    KUSTOMIZE="$CACHE_DIR/kustomize-$KUSTOMIZE_VERSION/kustomize"
    if [ ! -x "$KUSTOMIZE" ]; then
        command -v go >/dev/null || die "Go is needed once to build kustomize $KUSTOMIZE_VERSION (apt-get install golang-go, Go >= 1.26), or set KUSTOMIZE=/path/to/kustomize"
        say "building kustomize $KUSTOMIZE_VERSION from the Go module proxy (once; cached in $CACHE_DIR)"
        mkdir -p "$CACHE_DIR"
        tmp="$(mktemp -d "$CACHE_DIR/.kustomize-build.XXXXXX")"
        trap 'rm -rf "$tmp"' EXIT
        if ! GOTOOLCHAIN="${GOTOOLCHAIN:-local}" GOFLAGS="${GOFLAGS:-} -trimpath" GOBIN="$tmp/bin" \
                go install "sigs.k8s.io/kustomize/kustomize/v5@$KUSTOMIZE_VERSION" >&2; then
            die "building kustomize $KUSTOMIZE_VERSION failed (Go $(go env GOVERSION); v5.8.2 needs Go >= 1.26, KUSTOMIZE_VERSION=v5.7.1 builds with Go >= 1.22.7)"
        fi
        mkdir -p "$tmp/final"
        mv "$tmp/bin/kustomize" "$tmp/final/kustomize"
        # Atomic publish: a concurrent run either sees no directory or a complete one.
        if ! mv -T "$tmp/final" "$CACHE_DIR/kustomize-$KUSTOMIZE_VERSION" 2>/dev/null; then
            [ -x "$KUSTOMIZE" ] || die "could not install kustomize into $CACHE_DIR"
        fi
        rm -rf "$tmp"; trap - EXIT
    fi
fi

exec "$PY" "$ROOT/deploy/tools/k8s_check.py" --kustomize "$KUSTOMIZE" "$@"
