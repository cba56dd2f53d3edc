#!/usr/bin/env bash
# Bring Kadra's real parts up on this machine, idempotently: a second run finds
# them up and does nothing.
#   scripts/infra.sh up|down|status|restart [rabbitmq|mongo|all]
#   scripts/infra.sh cluster up|down|status     a three-node RabbitMQ cluster beside the single node
#                                               (scripts/rabbit_cluster.sh; ports 5681-5683)
# RabbitMQ comes from Debian's rabbitmq-server (with the management plugin);
# the database is a real mongod when one is on PATH, else FerretDB v1 (SQLite
# backend) built once with the machine's Go and cached in ~/.cache/kadra.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
STATE="${KADRA_STATE_DIR:-$ROOT/.kadra}"
CACHE="${KADRA_CACHE_DIR:-$HOME/.cache/kadra}"
FERRETDB_VERSION="v1.24.2"
# The binary's name carries a digest of what builds it, so a change there builds a new one.
FERRETDB_BIN="$CACHE/ferretdb-$FERRETDB_VERSION-$(cat "$ROOT"/scripts/ferretdb/{main.go,go.mod,build.sh,id_range.py} \
  | sha256sum | cut -c1-12)"
MONGO_HOST=127.0.0.1
MONGO_PORT="${KADRA_MONGO_PORT:-27017}"
mkdir -p "$STATE/run" "$STATE/log" "$STATE/data"

say() { printf '[infra] %s\n' "$*"; }
port_open() { (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null; }
wait_port() {  # host port seconds what
  local i
  for ((i = 0; i < $3 * 5; i++)); do port_open "$1" "$2" && return 0; sleep 0.2; done
  say "$4 did not open $1:$2 within $3 s"; return 1
}

# RabbitMQ

rabbit_up_already() { port_open 127.0.0.1 5672 && port_open 127.0.0.1 15672; }

rabbitmq_install() {
  command -v rabbitmq-server >/dev/null && return 0
  say "installing rabbitmq-server from Debian (once)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null
  apt-get install -y -qq rabbitmq-server >/dev/null
}

rabbitmq_up() {
  if rabbit_up_already; then say "rabbitmq: already up"; return 0; fi
  rabbitmq_install
  rabbitmq-plugins enable --offline rabbitmq_management >/dev/null
  if ! rabbitmq-diagnostics -q -t 3 ping >/dev/null 2>&1; then
    say "rabbitmq: starting"
    rabbitmq-server -detached >/dev/null 2>&1 || true
  fi
  local i
  for ((i = 0; i < 120; i++)); do
    rabbitmq-diagnostics -q -t 3 ping >/dev/null 2>&1 && break
    sleep 0.5
  done
  rabbitmqctl -q await_startup >/dev/null 2>&1 || true
  wait_port 127.0.0.1 5672 60 rabbitmq
  wait_port 127.0.0.1 15672 60 "rabbitmq management"
  say "rabbitmq: up (amqp :5672, management :15672)"
}

rabbitmq_down() {
  if rabbitmq-diagnostics -q -t 3 ping >/dev/null 2>&1; then
    say "rabbitmq: stopping"
    rabbitmqctl -q stop >/dev/null 2>&1 || true
  fi
  local i
  for ((i = 0; i < 100; i++)); do port_open 127.0.0.1 5672 || break; sleep 0.2; done
  say "rabbitmq: down"
}

rabbitmq_status() { rabbit_up_already && echo "rabbitmq: up" || echo "rabbitmq: down"; }

# MongoDB-compatible server

ferretdb_build() {
  [ -x "$FERRETDB_BIN" ] && return 0
  command -v go >/dev/null || { say "neither mongod nor go is on PATH: can't provide a database"; return 1; }
  say "building FerretDB $FERRETDB_VERSION once into $FERRETDB_BIN (about a minute)"
  mkdir -p "$CACHE"
  local start=$SECONDS
  # A build of its own name, renamed into place: two first runs at once (a clone and a worktree)
  # both build, and the later rename replaces an identical binary instead of failing.
  local tmp="$FERRETDB_BIN.tmp.$$"
  "$ROOT/scripts/ferretdb/build.sh" "$tmp"
  mv -f "$tmp" "$FERRETDB_BIN"
  say "FerretDB built in $((SECONDS - start)) s"
}

# The FerretDB this checkout started (its pid file) runs an older build of scripts/ferretdb: the path of the
# binary it runs differs from the one this checkout's build makes. (A server another checkout started has
# no pid file here and is left alone.)
ferretdb_stale() {
  local pidfile="$STATE/run/mongo.pid" running
  command -v mongod >/dev/null && return 1
  [ -f "$pidfile" ] || return 1
  running="$(readlink "/proc/$(cat "$pidfile")/exe" 2>/dev/null)" || return 1
  [[ "$running" == */ferretdb-* ]] && [ "$running" != "$FERRETDB_BIN" ]
}

mongo_up() {
  if port_open "$MONGO_HOST" "$MONGO_PORT" && ferretdb_stale; then
    ferretdb_build
    say "database: FerretDB on :$MONGO_PORT is an older build of scripts/ferretdb; restarting it with this one"
    mongo_down
  fi
  if port_open "$MONGO_HOST" "$MONGO_PORT"; then say "database: already up on :$MONGO_PORT"; return 0; fi
  if command -v mongod >/dev/null; then
    mkdir -p "$STATE/data/mongod"
    say "database: starting mongod"
    mongod --dbpath "$STATE/data/mongod" --bind_ip "$MONGO_HOST" --port "$MONGO_PORT" \
      --fork --logpath "$STATE/log/mongod.log" --pidfilepath "$STATE/run/mongo.pid" >/dev/null
  else
    ferretdb_build
    say "database: starting FerretDB (SQLite, data in $STATE/data/ferretdb)"
    nohup "$FERRETDB_BIN" --listen "$MONGO_HOST:$MONGO_PORT" --data "$STATE/data/ferretdb" \
      >>"$STATE/log/ferretdb.log" 2>&1 </dev/null &
    echo $! >"$STATE/run/mongo.pid"
  fi
  wait_port "$MONGO_HOST" "$MONGO_PORT" 30 database
  say "database: up on :$MONGO_PORT"
}

mongo_down() {
  local pidfile="$STATE/run/mongo.pid"
  if [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; then
    say "database: stopping"
    kill -TERM "$(cat "$pidfile")" || true
    local i
    for ((i = 0; i < 100; i++)); do kill -0 "$(cat "$pidfile")" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$(cat "$pidfile")" 2>/dev/null || true
  fi
  rm -f "$pidfile"
  say "database: down"
}

mongo_status() { port_open "$MONGO_HOST" "$MONGO_PORT" && echo "database: up" || echo "database: down"; }

action="${1:-up}"
if [ "$action" = cluster ]; then exec "$ROOT/scripts/rabbit_cluster.sh" "${2:-status}"; fi
target="${2:-all}"
case "$target" in
  rabbitmq | mongo) parts=("$target") ;;
  all) parts=(rabbitmq mongo) ;;
  *) echo "usage: $0 up|down|status|restart [rabbitmq|mongo|all]" >&2; exit 2 ;;
esac
for part in "${parts[@]}"; do
  case "$action" in
    up) "${part}_up" ;;
    down) "${part}_down" ;;
    status) "${part}_status" ;;
    restart) "${part}_down"; "${part}_up" ;;
    *) echo "usage: $0 up|down|status|restart [rabbitmq|mongo|all]" >&2; exit 2 ;;
  esac
done
