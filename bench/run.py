"""`make bench`: every benchmark in one run on a running system, as ratios to baselines of the same run.

Starts its own Kadra (own vhost, databases, ports, SMTP sink — like the tests),
measures the baselines (bench/baselines.py), then the figures of each area
(bench/<area>_bench.py: run(ctx) -> rows), prints one table and writes it as
JSON to .kadra/bench/ (latest.json and a timestamped copy) for comparison
between runs. The machine is shared and noisy: run it more than once.
"""
import argparse
import importlib
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
import traceback
import uuid
from datetime import datetime, timezone

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path[:0] = [ROOT, HERE, os.path.join(ROOT, "scripts")]

import baselines as b  # noqa: E402
from system import SERVICES, System  # noqa: E402
from tests.support.infra import create_vhost, delete_vhost, free_port, wait_until  # noqa: E402
from tests.support.mailbox import Mailbox  # noqa: E402

AREAS = ("notify", "identity", "users", "devices")


def row(figure, value, unit, baseline=None, baseline_value=None, goal=None, ok=None, ratio=None):
    if ratio is None and baseline_value:
        ratio = value / baseline_value
    return {"figure": figure, "value": value, "unit": unit, "baseline": baseline, "baseline_value": baseline_value,
            "ratio": ratio, "goal": goal, "ok": ok}


def fmt(value):
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:,.2f}" if value < 100 else f"{value:,.0f}"
    return str(value)


def print_table(rows):
    headers = ("figure", "value", "baseline", "ratio", "goal", "met")
    lines = []
    for r in rows:
        base = f"{fmt(r['baseline_value'])} ({r['baseline']})" if r.get("baseline") else "-"
        met = "-" if r.get("ok") is None else ("yes" if r["ok"] else "NO")
        lines.append((r["figure"], f"{fmt(r['value'])} {r['unit']}", base, fmt(r.get("ratio")), r.get("goal") or "-", met))
    widths = [max(len(h), *(len(line[i]) for line in lines)) for i, h in enumerate(headers)]
    print("  ".join(h.ljust(w) for h, w in zip(headers, widths)))
    print("  ".join("-" * w for w in widths))
    for line in lines:
        print("  ".join(c.ljust(w) for c, w in zip(line, widths)))


def keys(folder):
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    key = Ed25519PrivateKey.generate()
    private, public = os.path.join(folder, "jwt.pem"), os.path.join(folder, "jwt.pub.pem")
    with open(private, "wb") as f:
        f.write(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                  serialization.NoEncryption()))
    with open(public, "wb") as f:
        f.write(key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
    return private, public


def bench_env(run_id: str, work: str, amqp: str, port: int, smtp_port: int, **extra) -> dict:
    """The environment of a bench's Kadra: its own vhost, databases (prefix kb<run_id>), ports, keys, sink."""
    private, public = keys(work)
    return dict(os.environ, KADRA_AMQP_URI=amqp, KADRA_MONGO_DB_PREFIX=f"kb{run_id}", KADRA_SMTP_HOST="127.0.0.1",
                KADRA_SMTP_PORT=str(smtp_port), KADRA_PUBLIC_URL=f"http://127.0.0.1:{port}",
                KADRA_JWT_PRIVATE_KEY_FILE=private, KADRA_JWT_PUBLIC_KEY_FILE=public, KADRA_LOG_LEVEL="WARNING",
                KADRA_ALLOW_CLOCK_CONTROL="1",
                # Every request of the bench comes from 127.0.0.1: the per-client limits stay on (their counting
                # is part of what is measured) but high enough never to be met.
                KADRA_LIMIT_SIGNUPS_PER_CLIENT_HOUR="1000000", KADRA_LIMIT_RESETS_PER_CLIENT_HOUR="1000000",
                **extra)


def bench_system(env: dict, work: str, port: int, smtp_port: int, replicas: int = 1) -> System:
    """A System for `env` (bench_env) with its own mail sink, health ports and logs under `work`."""
    mail_http = free_port()
    return System(env, os.path.join(work, "logs"), gateway_port=port,
                  health_ports={s: free_port() for s in SERVICES},
                  mailsink={"smtp": f"127.0.0.1:{smtp_port}", "http": f"127.0.0.1:{mail_http}",
                            "dir": os.path.join(work, "mail")},
                  replicas=replicas)


def measure_baselines(system: System, env: dict, work: str, *, quick: bool = False,
                      context: dict | None = None) -> tuple[list, dict]:
    """The machine's baselines and the gateway's /healthz beside them: (rows, ctx). `ctx` is what each area's
    run(ctx) reads; its "stop" lists the helper processes (a bare Flask hello, an echo service) to end with
    `stop_helpers(ctx)` once the areas that compare with them are measured."""
    amqp = env["KADRA_AMQP_URI"]
    mail_dir = system.mailsink["dir"]
    rows, helpers = [], []
    seconds = 4 if quick else 8
    try:
        idle = b.rss_mb([p.pid for n, p in system.procs.items() if n != "mailsink"]
                        + b.pids_of("beam.smp") + b.pids_of("ferretdb|mongod"))
        rows.append(row("whole system idle: RabbitMQ, database, 4 services, gateway", idle, "MB RSS",
                        goal="<= 1250 MB", ok=idle <= 1250))

        hello_port = free_port()
        helpers.append(b.start_hello(hello_port))
        wait_until(lambda: subprocess.run(["curl", "-sf", f"http://127.0.0.1:{hello_port}/hello"],
                                          capture_output=True).returncode == 0, 30, what="hello app")
        print("[bench] baseline: bare Flask hello under the gateway's gunicorn settings", flush=True)
        flask_hello = b.wrk(f"http://127.0.0.1:{hello_port}/hello", seconds=seconds)
        print("[bench] gateway /healthz", flush=True)
        healthz = b.wrk(f"{system.base_url}/healthz", seconds=seconds)
        rows.append(row("gateway GET /healthz", healthz["rps"], "req/s", "bare Flask hello", flask_hello["rps"],
                        goal="(overhead of the gateway's middleware)"))

        helpers.append(b.start_echo(amqp, os.path.join(system.log_dir, "echo.log")))
        from gateway.rpc import RpcClient

        probe = RpcClient(amqp, timeout=2)
        wait_until(lambda: not isinstance(probe.call_many([("bench_echo", "echo", (1,), {})])[0], Exception), 60,
                   what="echo service")
        probe.close()
        print("[bench] baseline: bare pika request/reply; echo RPC", flush=True)
        pika_rr = b.bare_pika_round_trip(amqp)
        one = b.echo_rpc_one_in_flight(amqp)
        many = b.echo_rpc_many_in_flight(amqp, seconds=seconds / 2)
        rows.append(row("echo RPC from the gateway's client, 1 in flight, p99", one["p99_ms"], "ms",
                        "bare pika request/reply p99", pika_rr["p99_ms"], goal="<= 3 ms", ok=one["p99_ms"] <= 3))
        rows.append(row("echo RPC from the gateway's client, 1 in flight, p50", one["p50_ms"], "ms",
                        "bare pika request/reply p50", pika_rr["p50_ms"]))
        rows.append(row("echo RPC, many in flight (4 processes x 8)", many["rps"], "calls/s", "echo RPC, 1 in flight",
                        one["rps"]))
        print("[bench] baseline: argon2id verify", flush=True)
        params = b.argon2_parameters()
        cores = os.cpu_count() or 1
        argon_one = b.argon2_verify_rate(1, seconds=seconds / 2, params=params)
        argon_all = b.argon2_verify_rate(cores, seconds=seconds / 2, params=params)
        rows.append(row(f"argon2id verify, {cores} processes (m={params['memory_cost'] // 1024} MiB, "
                        f"t={params['time_cost']}, p={params['parallelism']})", argon_all, "verify/s",
                        "1 process", argon_one))
        print("[bench] baseline: pika persistent publish-with-confirm -> consume -> ack", flush=True)
        confirm = b.pika_confirm_loop(amqp, messages=3000 if quick else 5000)
        rows.append(row("bare pika publish-with-confirm -> consume -> ack", confirm["rate"], "msg/s"))
    except BaseException:
        stop_helpers({"stop": helpers})
        raise
    # The sink's mailbox, open for the whole run: sign-ups read their confirmation links from it
    # (tests.support.signup finds it among the open mailboxes).
    mailbox = Mailbox(mail_dir)
    ctx = {"system": system, "base_url": system.base_url, "env": env, "amqp_uri": amqp, "mail_dir": mail_dir,
           "mailbox": mailbox, "quick": quick, "seconds": seconds, "work": work, "stop": helpers,
           "baselines": {"flask_hello_rps": flask_hello["rps"], "flask_hello_port": hello_port,
                         "echo_rpc_rps_one": one["rps"], "echo_rpc_rps_many": many["rps"],
                         "echo_rpc_p99_ms": one["p99_ms"], "argon2_verify_one": argon_one,
                         "argon2_verify_all": argon_all, "argon2_params": params,
                         "pika_confirm_rps": confirm["rate"]}, **(context or {})}
    return rows, ctx


def measure_area(area: str, ctx: dict) -> tuple[list, list]:
    """One area's figures (bench/<area>_bench.py's run(ctx)): (rows, notes); a failure is a note, not a crash."""
    try:
        module = importlib.import_module(f"{area}_bench")
    except ImportError:
        return [], [f"{area}: no benchmark yet (bench/{area}_bench.py)"]
    print(f"[bench] {area}", flush=True)
    try:
        return module.run(ctx), []
    except Exception:
        return [], [f"{area}: benchmark failed:\n{traceback.format_exc()}"]


def stop_helpers(ctx: dict) -> None:
    for proc in ctx.get("stop", ()):
        b.stop(proc)


def measure(system: System, env: dict, work: str, *, quick: bool = False, only=None,
            context: dict | None = None) -> tuple[list, list]:
    """Every figure of `make bench` on a started, ready system: (rows, notes)."""
    rows, ctx = measure_baselines(system, env, work, quick=quick, context=context)
    notes = []
    try:
        for area in AREAS:
            if only is None or area in only:
                more, said = measure_area(area, ctx)
                rows.extend(more)
                notes.extend(said)
    finally:
        stop_helpers(ctx)
    return rows, notes


def drop_databases(env: dict) -> None:
    from pymongo import MongoClient

    client = MongoClient(env.get("KADRA_MONGO_URI") or "mongodb://127.0.0.1:27017/", serverSelectionTimeoutMS=3000,
                         socketTimeoutMS=30000)
    for service in SERVICES:  # by name: listing databases is slow on FerretDB
        client.drop_database(f"{env['KADRA_MONGO_DB_PREFIX']}_{service}")
    client.close()


def write_report(report: dict, name: str = "bench") -> str:
    """`report` as JSON in .kadra/bench/ (<name>-<stamp>.json and <name>-latest.json; `make bench`: latest.json)."""
    out_dir = os.path.join(ROOT, ".kadra", "bench")
    os.makedirs(out_dir, exist_ok=True)
    stamp = report["when"]
    latest = "latest.json" if name == "bench" else f"{name}-latest.json"
    for file in (f"{name}-{stamp}.json", latest):
        with open(os.path.join(out_dir, file), "w") as f:
            json.dump(report, f, indent=2, default=str)
    return os.path.join(out_dir, latest)


def main() -> int:
    parser = argparse.ArgumentParser(description="Kadra benchmarks")
    parser.add_argument("--only", nargs="*", default=None, help="areas to run (default: all that exist)")
    parser.add_argument("--quick", action="store_true", help="shorter runs (noisier)")
    args = parser.parse_args()
    run_id = uuid.uuid4().hex[:8]
    work = tempfile.mkdtemp(prefix="kadra-bench-")
    vhost = f"kadra-bench-{run_id}"
    create_vhost(vhost)
    amqp = f"amqp://guest:guest@127.0.0.1:5672/{vhost}"
    smtp_port, port = free_port(), free_port()
    env = bench_env(run_id, work, amqp, port, smtp_port)
    # KADRA_REPLICAS=2: two processes of every service behind the gateway the load goes to (a second
    # gateway runs too, idle: the load generators address one), to compare with one of each.
    replicas = int(os.environ.get("KADRA_REPLICAS") or 1)
    system = bench_system(env, work, port, smtp_port, replicas)
    rows, extra = [], []
    try:
        print(f"[bench] starting the system, {replicas} process(es) of every service (logs in {system.log_dir})",
              flush=True)
        system.start()
        system.wait_ready(120)
        time.sleep(3)
        rows, extra = measure(system, env, work, quick=args.quick, only=args.only)
    finally:
        system.stop()
        delete_vhost(vhost)
        drop_databases(env)

    print()
    print_table(rows)
    for note in extra:
        print(f"\n[bench] {note}")
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    report = {"when": stamp, "machine": {"cpus": os.cpu_count(), "platform": platform.platform()}, "replicas": replicas,
              "rows": rows,
              "notes": extra}
    print(f"\n[bench] written to {write_report(report)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
