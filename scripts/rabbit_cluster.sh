#!/usr/bin/env bash
# A three-node RabbitMQ cluster on this machine, beside (never instead of) the single node on
# 5672/15672/25672, idempotently:
#   scripts/rabbit_cluster.sh up|down|status
# Nodes kc1@localhost, kc2@localhost, kc3@localhost; AMQP on 5681-5683, management on 15681-15683,
# Erlang distribution on 25681-25683 (KADRA_CLUSTER_BASE_PORT moves them all: AMQP = base + n,
# management = base + 10000 + n, distribution = base + 20000 + n). State (data, logs, pid files)
# under .kadra/cluster. The nodes join kc1; every node runs the management plugin.
# Clients reach the cluster with the address list that `up` prints (KADRA_AMQP_URI, ';' between
# addresses) and KADRA_AMQP_QUEUE_TYPE=quorum.
# Debian's scripts switch to the rabbitmq user, so the node folders belong to it; the nodes share
# the machine's Erlang cookie. Nodes are stopped by their pid file, one by one, never by name.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
STATE="${KADRA_STATE_DIR:-$ROOT/.kadra}/cluster"
BASE="${KADRA_CLUSTER_BASE_PORT:-5680}"
NODES=(1 2 3)

say() { printf '[cluster] %s\n' "$*"; }
port_open() { (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null; }
node() { echo "kc$1@localhost"; }
amqp_port() { echo $((BASE + $1)); }
mgmt_port() { echo $((BASE + 10000 + $1)); }
dist_port() { echo $((BASE + 20000 + $1)); }
pidfile() { echo "$STATE/kc$1/kc$1.pid"; }
ctl() { local n=$1; shift; rabbitmqctl -q -n "$(node "$n")" "$@"; }

node_env() {  # n: the environment one node starts (and is reached) with
  local n=$1 dir="$STATE/kc$1"
  export RABBITMQ_NODENAME RABBITMQ_NODE_PORT RABBITMQ_DIST_PORT RABBITMQ_MNESIA_BASE RABBITMQ_LOG_BASE
  export RABBITMQ_PID_FILE RABBITMQ_ENABLED_PLUGINS_FILE RABBITMQ_CONFIG_FILE
  RABBITMQ_NODENAME="$(node "$n")"
  RABBITMQ_NODE_PORT="$(amqp_port "$n")"
  RABBITMQ_DIST_PORT="$(dist_port "$n")"
  RABBITMQ_MNESIA_BASE="$dir/mnesia"
  RABBITMQ_LOG_BASE="$dir/log"
  RABBITMQ_PID_FILE="$(pidfile "$n")"
  RABBITMQ_ENABLED_PLUGINS_FILE="$dir/enabled_plugins"
  RABBITMQ_CONFIG_FILE="$dir/rabbitmq.conf"
}

running() { local p; p="$(pidfile "$1")"; [ -f "$p" ] && kill -0 "$(cat "$p")" 2>/dev/null; }
pinged() { rabbitmq-diagnostics -q -t 3 -n "$(node "$1")" ping >/dev/null 2>&1; }

start_node() {
  local n=$1 dir="$STATE/kc$1"
  if running "$n" && pinged "$n"; then say "$(node "$n"): already up"; return 0; fi
  if port_open 127.0.0.1 "$(amqp_port "$n")"; then
    say "port $(amqp_port "$n") is taken by something else"; return 1
  fi
  mkdir -p "$dir/mnesia" "$dir/log"
  echo "[rabbitmq_management]." >"$dir/enabled_plugins"
  printf 'listeners.tcp.default = %s\nmanagement.tcp.port = %s\n' "$(amqp_port "$n")" "$(mgmt_port "$n")" \
    >"$dir/rabbitmq.conf"
  chown -R rabbitmq:rabbitmq "$dir"
  say "$(node "$n"): starting (amqp :$(amqp_port "$n"), management :$(mgmt_port "$n"))"
  (node_env "$n"; rabbitmq-server -detached >/dev/null 2>&1) || true
}

await_node() {
  local n=$1 i
  for ((i = 0; i < 120; i++)); do pinged "$n" && break; sleep 0.5; done
  ctl "$n" await_startup --timeout 60 >/dev/null 2>&1 || { say "$(node "$n") did not start; see $STATE/kc$n/log"; return 1; }
  for ((i = 0; i < 150; i++)); do port_open 127.0.0.1 "$(amqp_port "$n")" && port_open 127.0.0.1 "$(mgmt_port "$n")" && return 0; sleep 0.2; done
  say "$(node "$n"): ports $(amqp_port "$n")/$(mgmt_port "$n") did not open"; return 1
}

member() {  # n: is node n in kc1's cluster (running)?
  ctl 1 cluster_status --formatter json 2>/dev/null | python3 -c '
import json, sys
status = json.load(sys.stdin)
sys.exit(0 if sys.argv[1] in status.get("running_nodes", []) else 1)' "$(node "$1")"
}

join_node() {
  local n=$1
  if member "$n"; then say "$(node "$n"): in the cluster"; return 0; fi
  say "$(node "$n"): joining $(node 1)"
  ctl "$n" stop_app >/dev/null 2>&1
  ctl "$n" reset >/dev/null 2>&1
  ctl "$n" join_cluster "$(node 1)" >/dev/null 2>&1
  ctl "$n" start_app >/dev/null 2>&1
  member "$n" || { say "$(node "$n") did not join"; return 1; }
}

uris() {
  local n out=""
  for n in "${NODES[@]}"; do out+="${out:+;}amqp://guest:guest@127.0.0.1:$(amqp_port "$n")/"; done
  echo "$out"
}

up() {
  command -v rabbitmq-server >/dev/null || { say "rabbitmq-server is not installed (scripts/infra.sh up installs it)"; return 1; }
  local n
  for n in "${NODES[@]}"; do start_node "$n"; done
  for n in "${NODES[@]}"; do await_node "$n"; done
  for n in "${NODES[@]:1}"; do join_node "$n"; done
  say "up: $(node 1), $(node 2), $(node 3) clustered"
  say "KADRA_AMQP_URI='$(uris)' KADRA_AMQP_QUEUE_TYPE=quorum"
}

down() {
  local n p pid i
  for n in "${NODES[@]}"; do
    p="$(pidfile "$n")"
    if running "$n"; then
      pid="$(cat "$p")"  # read once: the node removes its pid file as it stops
      say "$(node "$n"): stopping (pid $pid)"
      kill -TERM "$pid" || true
      for ((i = 0; i < 300; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      kill -KILL "$pid" 2>/dev/null || true
    fi
    rm -f "$p"
    say "$(node "$n"): down"
  done
}

status() {
  local n
  for n in "${NODES[@]}"; do
    if running "$n" && pinged "$n"; then echo "$(node "$n"): up (amqp :$(amqp_port "$n"), management :$(mgmt_port "$n"))"
    else echo "$(node "$n"): down"; fi
  done
  if running 1 && pinged 1; then
    echo "running in $(node 1)'s cluster: $(ctl 1 cluster_status --formatter json 2>/dev/null | python3 -c '
import json, sys; print(", ".join(sorted(json.load(sys.stdin).get("running_nodes", []))))')"
    echo "KADRA_AMQP_URI='$(uris)'"
  fi
}

case "${1:-status}" in
  up) up ;;
  down) down ;;
  status) status ;;
  uris) uris ;;
  *) echo "usage: $0 up|down|status|uris" >&2; exit 2 ;;
esac
