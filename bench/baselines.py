"""Baselines every figure of `make bench` is compared with, measured in the same run.

- a bare Flask route under the gateway's gunicorn settings (wrk: requests/s);
- a bare nameko echo RPC through the gateway's RPC client (one call in flight: p50/p99; many: calls/s);
- a bare pika request/reply round trip with no nameko in between (p99: the broker's own floor);
- a pure argon2id verify at identity's parameters (per second, one process and one per core);
- a bare pika persistent publish-with-confirm -> consume -> ack loop (messages/s).
"""
import json
import multiprocessing
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import threading
import time
import uuid

import pika

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.dirname(sys.executable)

# identity's password hashing parameters (OWASP minimum: m=19 MiB, t=2, p=1);
# identity.passwords overrides these when it exists, so the baseline follows the product.
ARGON2 = {"time_cost": 2, "memory_cost": 19 * 1024, "parallelism": 1}


def argon2_parameters() -> dict:
    try:
        from identity import passwords  # noqa: F401  (written by the identity service)

        params = getattr(passwords, "ARGON2_PARAMETERS", None)
        if params:
            return dict(params)
    except ImportError:
        pass
    return dict(ARGON2)


def percentile(values, p):
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    k = (len(ordered) - 1) * p / 100
    f = int(k)
    c = min(f + 1, len(ordered) - 1)
    return ordered[f] + (ordered[c] - ordered[f]) * (k - f)


def ensure_wrk() -> str:
    path = shutil.which("wrk")
    if path:
        return path
    print("[bench] installing wrk from Debian (once)", flush=True)
    subprocess.run(["apt-get", "install", "-y", "-qq", "wrk"], check=False,
                   env=dict(os.environ, DEBIAN_FRONTEND="noninteractive"), stdout=subprocess.DEVNULL)
    path = shutil.which("wrk")
    if not path:
        subprocess.run(["apt-get", "update", "-qq"], check=False, stdout=subprocess.DEVNULL)
        subprocess.run(["apt-get", "install", "-y", "-qq", "wrk"], check=True,
                       env=dict(os.environ, DEBIAN_FRONTEND="noninteractive"), stdout=subprocess.DEVNULL)
        path = shutil.which("wrk")
    return path


def wrk(url: str, seconds: int = 8, connections: int = 16, threads: int = 2, headers: dict | None = None,
        script: str | None = None) -> dict:
    """Run wrk and return requests/s and latency percentiles (ms)."""
    argv = [ensure_wrk(), f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--latency"]
    for key, value in (headers or {}).items():
        argv += ["-H", f"{key}: {value}"]
    if script:
        argv += ["-s", script]
    out = subprocess.run(argv + [url], capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    lat = {}
    for p in ("50", "99"):
        m = re.search(rf"\s{p}(?:\.000)?%\s+([\d.]+)(us|ms|s)", out)
        if m:
            value, unit = float(m.group(1)), m.group(2)
            lat[p] = value / 1000 if unit == "us" else value * 1000 if unit == "s" else value
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {"rps": rps, "p50_ms": lat.get("50"), "p99_ms": lat.get("99"),
            "non2xx": int(non2xx.group(1)) if non2xx else 0, "raw": out}


def start_hello(port: int, workers: int | None = None) -> subprocess.Popen:
    """The bare Flask app under the gateway's own gunicorn settings (its management port a free one: two of
    them run at once in `make bench-scale`, one per system)."""
    from tests.support.infra import free_port

    env = dict(os.environ, KADRA_GATEWAY_PORT=str(port), KADRA_MANAGEMENT_PORT=str(free_port()),
               PYTHONPATH=os.path.join(ROOT, "bench"),
               PROMETHEUS_MULTIPROC_DIR=f"/tmp/kadra-bench-hello-{port}")
    if workers:
        env["KADRA_GATEWAY_WORKERS"] = str(workers)
    return subprocess.Popen([os.path.join(BIN, "gunicorn"), "-c", "python:gateway.gunicorn_conf",
                             "hello_app:create_app()"], cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)


def start_echo(amqp_uri: str, log_path: str) -> subprocess.Popen:
    env = dict(os.environ, PYTHONPATH=os.path.join(ROOT, "bench"))
    log = open(log_path, "ab")
    return subprocess.Popen([os.path.join(BIN, "nameko"), "run", "--broker", amqp_uri, "echo_service:EchoService"],
                            cwd=os.path.join(ROOT, "bench"), env=env, stdout=log, stderr=subprocess.STDOUT,
                            start_new_session=True)


def stop(proc: subprocess.Popen):
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)


def echo_rpc_one_in_flight(amqp_uri: str, calls: int = 2000) -> dict:
    """The gateway's RPC client against the bare echo service, one call at a time."""
    from gateway.rpc import RpcClient

    client = RpcClient(amqp_uri, timeout=5)
    for _ in range(200):  # warm up
        client.call("bench_echo", "echo", 1)
    times = []
    for i in range(calls):
        started = time.perf_counter()
        client.call("bench_echo", "echo", i)
        times.append((time.perf_counter() - started) * 1000)
    client.close()
    return {"rps": calls / (sum(times) / 1000), "p50_ms": percentile(times, 50), "p99_ms": percentile(times, 99)}


def _echo_worker(amqp_uri, seconds, out):
    from gateway.rpc import RpcClient

    client = RpcClient(amqp_uri, timeout=5)
    client.call("bench_echo", "echo", 0)
    n = 0
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        client.call_many([("bench_echo", "echo", (i,), {}) for i in range(8)])
        n += 8
    out.put(n)


def echo_rpc_many_in_flight(amqp_uri: str, processes: int = 4, seconds: float = 5.0) -> dict:
    """Several client processes, 8 calls in flight each: the echo RPC rate."""
    queue = multiprocessing.Queue()
    procs = [multiprocessing.Process(target=_echo_worker, args=(amqp_uri, seconds, queue)) for _ in range(processes)]
    for p in procs:
        p.start()
    total = sum(queue.get(timeout=seconds + 60) for _ in procs)
    for p in procs:
        p.join()
    return {"rps": total / seconds}


def _pika_echo_server(amqp_uri, queue, ready, stop_flag):
    conn = pika.BlockingConnection(pika.URLParameters(amqp_uri))
    ch = conn.channel()
    ch.queue_declare(queue, auto_delete=True)

    def on_request(channel, method, props, body):
        channel.basic_publish("", props.reply_to, body, pika.BasicProperties(correlation_id=props.correlation_id))

    ch.basic_consume(queue, on_request, auto_ack=True)
    ready.set()
    while not stop_flag.is_set():
        conn.process_data_events(time_limit=0.1)
    conn.close()


def bare_pika_round_trip(amqp_uri: str, calls: int = 2000) -> dict:
    """Request/reply over plain pika, the server in its own process: the broker's floor."""
    queue = f"bench.rr.{uuid.uuid4().hex}"
    ready, stop_flag = multiprocessing.Event(), multiprocessing.Event()
    server = multiprocessing.Process(target=_pika_echo_server, args=(amqp_uri, queue, ready, stop_flag))
    server.start()
    ready.wait(10)
    conn = pika.BlockingConnection(pika.URLParameters(amqp_uri))
    ch = conn.channel()
    reply = ch.queue_declare("", exclusive=True).method.queue
    answers = {}
    ch.basic_consume(reply, lambda c, m, p, b: answers.__setitem__(p.correlation_id, b), auto_ack=True)
    times = []
    for i in range(calls + 200):
        cid = str(i)
        started = time.perf_counter()
        ch.basic_publish("", queue, b"{}", pika.BasicProperties(reply_to=reply, correlation_id=cid))
        while cid not in answers:
            conn.process_data_events(time_limit=1)
        if i >= 200:
            times.append((time.perf_counter() - started) * 1000)
    conn.close()
    stop_flag.set()
    server.join(5)
    return {"p50_ms": percentile(times, 50), "p99_ms": percentile(times, 99)}


def _argon2_worker(params, seconds, out):
    from argon2 import PasswordHasher

    hasher = PasswordHasher(**params)
    digest = hasher.hash("correct horse battery staple 42")
    n = 0
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        hasher.verify(digest, "correct horse battery staple 42")
        n += 1
    out.put(n)


def argon2_verify_rate(processes: int, seconds: float = 5.0, params: dict | None = None) -> float:
    """Pure argon2id verifies per second in `processes` processes."""
    params = params or argon2_parameters()
    queue = multiprocessing.Queue()
    procs = [multiprocessing.Process(target=_argon2_worker, args=(params, seconds, queue)) for _ in range(processes)]
    for p in procs:
        p.start()
    total = sum(queue.get(timeout=seconds + 60) for _ in procs)
    for p in procs:
        p.join()
    return total / seconds


def pika_confirm_loop(amqp_uri: str, messages: int = 5000) -> dict:
    """Persistent publish with confirms -> consume -> ack, on plain pika: messages/s end to end."""
    queue = f"bench.confirm.{uuid.uuid4().hex}"
    done = threading.Event()
    received = [0]
    consumer_ready = threading.Event()

    def consumer():
        conn = pika.BlockingConnection(pika.URLParameters(amqp_uri))
        ch = conn.channel()
        ch.queue_declare(queue, durable=True)
        ch.basic_qos(prefetch_count=50)

        def on_message(channel, method, props, body):
            channel.basic_ack(method.delivery_tag)
            received[0] += 1
            if received[0] >= messages:
                done.set()

        ch.basic_consume(queue, on_message)
        consumer_ready.set()
        while not done.is_set():
            conn.process_data_events(time_limit=0.1)
        ch.queue_delete(queue)
        conn.close()

    thread = threading.Thread(target=consumer, daemon=True)
    thread.start()
    consumer_ready.wait(10)
    conn = pika.BlockingConnection(pika.URLParameters(amqp_uri))
    ch = conn.channel()
    ch.confirm_delivery()
    started = time.perf_counter()
    for i in range(messages):
        ch.basic_publish("", queue, json.dumps({"n": i}).encode(), pika.BasicProperties(delivery_mode=2))
    done.wait(300)
    elapsed = time.perf_counter() - started
    conn.close()
    thread.join(10)
    return {"rate": messages / elapsed}


def rss_mb(pids) -> float:
    """Resident memory of these processes and all their descendants, in MB."""
    seen = set()
    stack = list(pids)
    total_kb = 0
    while stack:
        pid = stack.pop()
        if pid in seen:
            continue
        seen.add(pid)
        try:
            with open(f"/proc/{pid}/status") as f:
                m = re.search(r"VmRSS:\s+(\d+) kB", f.read())
                total_kb += int(m.group(1)) if m else 0
            with open(f"/proc/{pid}/task/{pid}/children") as f:
                stack.extend(int(c) for c in f.read().split())
        except (FileNotFoundError, ProcessLookupError):
            continue
    return total_kb / 1024


def pids_of(pattern: str) -> list[int]:
    out = subprocess.run(["pgrep", "-f", pattern], capture_output=True, text=True).stdout
    return [int(p) for p in out.split()]
