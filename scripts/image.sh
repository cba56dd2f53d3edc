#!/usr/bin/env bash
# make image: build the Kadra image from deploy/docker/Dockerfile.
#   scripts/image.sh [build|base|base-name|tools [COMMAND...]|name]
#
# With a Docker engine (docker info answers) and KADRA_IMAGE_ENGINE unset, Docker builds the Dockerfile
# on the official python:3.11-slim image, as an operator does. Otherwise podman (installed from Debian
# here when missing, with runc and debootstrap) builds it on a local base image: Debian bookworm with
# python3.11, made once with debootstrap from the Debian mirror apt already uses and imported with
# `podman import`. The base is tagged with a digest of what makes it (this script's base part) and its
# root filesystem is cached in ~/.cache/kadra, so it is made once per machine and a new podman store
# imports it in seconds. The build prints the image's size and how long it took.
#
# Settings: KADRA_IMAGE (default localhost/kadra:dev), KADRA_IMAGE_ENGINE (docker|podman),
# KADRA_CACHE_DIR (default ~/.cache/kadra), KADRA_DEBIAN_MIRROR (default: apt's own).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CACHE="${KADRA_CACHE_DIR:-$HOME/.cache/kadra}"
IMAGE="${KADRA_IMAGE:-localhost/kadra:dev}"
export CONTAINERS_CONF="${CONTAINERS_CONF:-$ROOT/deploy/podman/containers.conf}"

# What makes the base: change any of it and a new base (a new tag) is made.
BASE_SUITE=bookworm
BASE_PACKAGES=python3.11,python3.11-venv,python3-distutils,ca-certificates
BASE_KEY="$(printf '%s\n' "$BASE_SUITE" "$BASE_PACKAGES" "$(sed -n '/^# >>> base/,/^# <<< base/p' "$0")" \
  | sha256sum | cut -c1-12)"
BASE_IMAGE="localhost/kadra-base:$BASE_SUITE-py3.11-$BASE_KEY"

say() { printf '[image] %s\n' "$*" >&2; }
die() { say "$*"; exit 1; }

engine() {
  if [ -n "${KADRA_IMAGE_ENGINE:-}" ]; then echo "$KADRA_IMAGE_ENGINE"; return; fi
  if command -v docker >/dev/null && docker info >/dev/null 2>&1; then echo docker; else echo podman; fi
}

tools() {  # podman, runc and debootstrap (and any command named) from Debian's package of that name, once
  local missing=() tool
  for tool in podman runc debootstrap "$@"; do command -v "$tool" >/dev/null || missing+=("$tool"); done
  [ ${#missing[@]} -eq 0 ] && return 0
  [ "$(id -u)" -eq 0 ] || die "needs ${missing[*]} (apt-get install ${missing[*]} as root)"
  say "installing ${missing[*]} from Debian (once)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null
  apt-get install -y -qq "${missing[@]}" >/dev/null
}

mirror() {
  if [ -n "${KADRA_DEBIAN_MIRROR:-}" ]; then echo "$KADRA_DEBIAN_MIRROR"; return; fi
  local uri
  uri="$(grep -h -m1 '^URIs:' /etc/apt/sources.list.d/debian.sources 2>/dev/null | awk '{print $2}')" || true
  [ -n "$uri" ] || uri="$(grep -h -m1 -E '^deb +http' /etc/apt/sources.list 2>/dev/null | awk '{print $2}')" || true
  echo "${uri:-http://deb.debian.org/debian}"
}

# >>> base (what makes the base image; its text is part of the base's tag)
base() {
  if podman image exists "$BASE_IMAGE"; then say "base: $BASE_IMAGE (cached)"; return 0; fi
  local tarball="$CACHE/kadra-base-$BASE_SUITE-py3.11-$BASE_KEY.tar"
  mkdir -p "$CACHE"
  if [ ! -s "$tarball" ]; then
    [ "$(id -u)" -eq 0 ] || die "debootstrap needs root to make the base image once"
    local start=$SECONDS rootfs
    rootfs="$(mktemp -d "$CACHE/.base-rootfs.XXXXXX")"
    trap 'rm -rf "$rootfs" "$tarball.tmp"' EXIT
    say "base: debootstrap $BASE_SUITE ($BASE_PACKAGES) from $(mirror), once (about a minute)"
    debootstrap --variant=minbase --include="$BASE_PACKAGES" "$BASE_SUITE" "$rootfs" "$(mirror)" \
      >"$CACHE/debootstrap.log" 2>&1 || die "debootstrap failed; see $CACHE/debootstrap.log"
    # `python` as the official python image has it; no apt lists, caches or logs in the image.
    ln -sf python3.11 "$rootfs/usr/bin/python"
    ln -sf python3.11 "$rootfs/usr/bin/python3"
    rm -rf "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/cache/apt/*.bin "$rootfs"/var/cache/apt/archives/*.deb \
      "$rootfs"/var/log/* "$rootfs"/debootstrap
    tar --numeric-owner -C "$rootfs" -cf "$tarball.tmp" .
    mv "$tarball.tmp" "$tarball"
    rm -rf "$rootfs"; trap - EXIT
    say "base: made in $((SECONDS - start)) s, cached as $tarball"
  fi
  podman import --change 'CMD ["/bin/bash"]' --change 'ENV LANG=C.UTF-8' "$tarball" "$BASE_IMAGE" >/dev/null
  say "base: imported $BASE_IMAGE"
}
# <<< base

build() {
  local start=$SECONDS eng
  eng="$(engine)"
  if [ "$eng" = docker ]; then
    say "building $IMAGE with Docker on python:3.11-slim"
    DOCKER_BUILDKIT=1 docker build -f "$ROOT/deploy/docker/Dockerfile" -t "$IMAGE" "$ROOT"
    say "built $IMAGE in $((SECONDS - start)) s, size $(docker image inspect -f '{{.Size}}' "$IMAGE" | numfmt --to=si)B"
    return
  fi
  tools
  base
  local mounts=()
  # pip inside the build reaches the package index as this machine's pip does.
  [ -f /etc/pip.conf ] && mounts+=(-v /etc/pip.conf:/etc/pip.conf:ro)
  [ -d /etc/ssl/certs ] && mounts+=(-v /etc/ssl/certs:/etc/ssl/certs:ro)
  say "building $IMAGE with podman on $BASE_IMAGE"
  podman build --network host "${mounts[@]}" --layers \
    --build-arg "PYTHON_IMAGE=$BASE_IMAGE" \
    --ignorefile "$ROOT/deploy/docker/Dockerfile.dockerignore" \
    -f "$ROOT/deploy/docker/Dockerfile" -t "$IMAGE" "$ROOT" >&2
  local size
  size="$(podman image inspect --format '{{.Size}}' "$IMAGE")"
  say "built $IMAGE in $((SECONDS - start)) s, size $(numfmt --to=si "$size")B ($size bytes)"
}

case "${1:-build}" in
  build) build ;;
  base) tools; base ;;
  base-name) tools; base; echo "$BASE_IMAGE" ;;
  tools) shift; tools "$@" ;;
  name) echo "$IMAGE" ;;
  *) echo "usage: $0 [build|base|base-name|tools|name]" >&2; exit 2 ;;
esac
