"""Notify's benchmark: e-mails/s and event -> SMTP-accept delay, against a bare pika loop.

`run(env)` is called by `make bench` (bench/run.py). `env` is the environment of the running real
parts (KADRA_AMQP_URI's host, KADRA_MONGO_URI); this function makes its own vhost, database prefix,
SMTP sink (scripts/mailsink.py) and notify process, and removes them afterwards.

Figures (2,000 events each):
- throughput: 2,000 events published at once (persistent, confirmed, the way the outbox relay
  publishes), e-mails/s from the first publish to the last SMTP acceptance;
- delay p50/p99: 2,000 events published at a steady rate (half the measured throughput, at most
  200/s), from publish to SMTP acceptance (the sink writes the file before it answers 250);
- baseline: a bare pika loop in the same run on the same broker: persistent publish with confirms
  -> consume with manual ack, one message at a time, same counts.

    .venv/bin/python bench/notify_bench.py          # prints the rows
"""
from __future__ import annotations

import json
import os
import sys
import tempfile
import threading
import time
import uuid
from urllib.parse import urlsplit, urlunsplit

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

import pika  # noqa: E402

N = 2000
GOAL_RATIO = 0.2
GOAL_P99 = 1.0


def _percentile(values, q):
    values = sorted(values)
    if not values:
        return float("nan")
    index = min(len(values) - 1, max(0, int(round(q * (len(values) - 1)))))
    return values[index]


def _vhost_uri(base_uri: str, vhost: str) -> str:
    parts = urlsplit(base_uri)
    return urlunsplit((parts.scheme, parts.netloc, "/" + vhost, "", ""))


def bare_pika(uri: str, n: int = N, rate: float | None = None) -> dict:
    """Persistent publish with confirms -> consume -> ack; returns msgs/s and delay percentiles."""
    queue = f"bench.bare.{uuid.uuid4().hex[:8]}"
    setup = pika.BlockingConnection(pika.URLParameters(uri))
    setup.channel().queue_declare(queue, durable=True)
    delays, done = [], threading.Event()

    def consume():
        connection = pika.BlockingConnection(pika.URLParameters(uri))
        channel = connection.channel()
        channel.basic_qos(prefetch_count=32)

        def on_message(ch, method, properties, body):
            delays.append(time.time() - float(body))
            ch.basic_ack(method.delivery_tag)
            if len(delays) >= n:
                ch.stop_consuming()

        channel.basic_consume(queue, on_message)
        done.set()
        channel.start_consuming()
        connection.close()

    consumer = threading.Thread(target=consume, daemon=True)
    consumer.start()
    done.wait(10)
    connection = pika.BlockingConnection(pika.URLParameters(uri))
    channel = connection.channel()
    channel.confirm_delivery()
    started = time.time()
    for i in range(n):
        if rate:
            pause = started + i / rate - time.time()
            if pause > 0:
                time.sleep(pause)
        channel.basic_publish("", queue, repr(time.time()).encode(), pika.BasicProperties(delivery_mode=2))
    consumer.join(120)
    took = time.time() - started
    connection.close()
    setup.channel().queue_delete(queue)
    setup.close()
    return {"per_second": n / took, "p50": _percentile(delays, 0.5), "p99": _percentile(delays, 0.99)}


_seen: dict[str, tuple[str, float]] = {}


def _accept_times(folder: str) -> dict[str, float]:
    """{event id: when the sink wrote it}. Each file is read once: re-reading thousands of them every
    0.2 s took a tenth to a third of a core from the notify process being measured."""
    for name in os.listdir(folder):
        path = os.path.join(folder, name)
        if not name.endswith(".eml") or path in _seen:
            continue  # (a file still being written has no header yet: read again next time)
        with open(path, "rb") as f:
            for line in f:
                if not line.strip():
                    break
                if line.lower().startswith(b"x-kadra-event-id:"):
                    _seen[path] = (line.split(b":", 1)[1].strip().decode(), os.stat(path).st_mtime)
                    break
    prefix = os.path.join(folder, "")
    return {found[0]: found[1] for path, found in _seen.items() if path.startswith(prefix)}


def notify_pipeline(base_env: dict, n: int = N, db_prefix: str | None = None, rate: float | None = None) -> dict:
    """`db_prefix`: the databases notify keeps its log in (bench/scale.py: the seeded ones, kept); else a new
    prefix, dropped afterwards. `rate`: the steady rate of the delay figures (events/s); else half the measured
    throughput, at most 200/s."""
    from kadra_defaults.outbox import Publisher
    from tests.support.notify import MailSink, NotifyProcess, Vhost, notify_env, reset_event

    old = dict(os.environ)
    os.environ.update({k: v for k, v in base_env.items() if k.startswith("KADRA_")})
    vhost = Vhost("kadra-bench-notify")
    folder = tempfile.mkdtemp(prefix="kadra-bench-mail-")
    sink = MailSink(folder).start()
    prefix = db_prefix or f"kb{uuid.uuid4().hex[:8]}"
    # The database of the system being measured (bench/scale.py: its private FerretDB with the seeded log;
    # notify_env's default is the machine's shared one, where the seeded figure measured an empty log).
    mongo = base_env.get("KADRA_MONGO_URI") or "mongodb://127.0.0.1:27017/"
    notify = NotifyProcess(notify_env(vhost.uri, prefix, sink.port, KADRA_LOG_LEVEL="WARNING",
                                      KADRA_MONGO_URI=mongo), os.path.join(folder, "notify.log"))
    publisher = Publisher(vhost.uri)
    try:
        notify.start().wait_consuming()
        warm = [reset_event(i, domain="bench.example") for i in range(20)]
        for e in warm:
            publisher.publish(e)
        _wait_for(folder, {e["id"] for e in warm}, 60)

        # throughput: everything at once
        burst = [reset_event(i, domain="bench.example") for i in range(n)]
        started = time.time()
        for e in burst:
            publisher.publish(e)
        accepted = _wait_for(folder, {e["id"] for e in burst}, 300)
        burst_rate = n / (max(accepted[e["id"]] for e in burst) - started)

        # delay at a steady rate
        rate = rate or min(200.0, burst_rate / 2)
        steady = [reset_event(i, domain="bench.example") for i in range(n)]
        published_at = {}
        started = time.time()
        for i, e in enumerate(steady):
            pause = started + i / rate - time.time()
            if pause > 0:
                time.sleep(pause)
            published_at[e["id"]] = time.time()
            publisher.publish(e)
        accepted = _wait_for(folder, set(published_at), 300)
        delays = [accepted[i] - published_at[i] for i in published_at]
        return {"per_second": burst_rate, "rate": rate, "p50": _percentile(delays, 0.5),
                "p99": _percentile(delays, 0.99)}
    finally:
        publisher.close()
        notify.stop()
        sink.stop()
        vhost.delete()
        try:
            from pymongo import MongoClient

            if db_prefix is None:
                MongoClient(mongo).drop_database(
                    f"{prefix}_notify")
        except Exception:
            pass
        os.environ.clear()
        os.environ.update(old)


def _wait_for(folder: str, ids: set, timeout: float) -> dict[str, float]:
    deadline = time.time() + timeout
    while True:
        accepted = _accept_times(folder)
        if ids <= set(accepted):
            return accepted
        if time.time() > deadline:
            raise RuntimeError(f"only {len(ids & set(accepted))} of {len(ids)} e-mails within {timeout}s")
        time.sleep(0.2)


def run(env: dict | None = None) -> list[dict]:
    """Rows for `make bench`: {figure, value, unit, baseline, baseline_value, ratio, goal}.

    `env` is the KADRA_* environment, or bench/run.py's context (whose "env" holds it; its
    "notify_db_prefix", when set, names the databases notify's log goes to: bench/scale.py's seeded ones; its
    "notify_rate", when set, is the steady rate of the delay figures: bench/scale.py compares two systems' delays
    at the same load, not each at half its own throughput of that round).
    """
    db_prefix = rate = None
    if env and "env" in env and isinstance(env["env"], dict):
        db_prefix, rate = env.get("notify_db_prefix"), env.get("notify_rate")
        env = env["env"]
    env = dict(env or os.environ)
    from tests.support.notify import Vhost

    base_uri = env.get("KADRA_AMQP_URI", "amqp://guest:guest@127.0.0.1:5672/")
    vhost = Vhost("kadra-bench-bare")
    try:
        bare = bare_pika(_vhost_uri(base_uri, vhost.name))
    finally:
        vhost.delete()
    mail = notify_pipeline(env, db_prefix=db_prefix, rate=rate)
    bare_steady = None
    vhost = Vhost("kadra-bench-bare")
    try:
        bare_steady = bare_pika(_vhost_uri(base_uri, vhost.name), rate=mail["rate"])
    finally:
        vhost.delete()
    baseline = "bare pika: persistent publish + confirm -> consume -> ack"
    return [
        {"figure": f"notify e-mails/s, {N} events, event -> SMTP 250", "value": round(mail["per_second"], 1),
         "unit": "e-mails/s", "baseline": baseline, "baseline_value": round(bare["per_second"], 1),
         "ratio": round(mail["per_second"] / bare["per_second"], 3), "goal": f">= {GOAL_RATIO} of baseline",
         "ok": mail["per_second"] / bare["per_second"] >= GOAL_RATIO},
        {"figure": f"notify delay p50 at {mail['rate']:.0f} events/s", "value": round(mail["p50"] * 1000, 1),
         "unit": "ms", "baseline": baseline + " (same rate)", "baseline_value": round(bare_steady["p50"] * 1000, 1),
         "ratio": round(mail["p50"] / bare_steady["p50"], 2) if bare_steady["p50"] else None, "goal": "-"},
        {"figure": f"notify delay p99 at {mail['rate']:.0f} events/s", "value": round(mail["p99"] * 1000, 1),
         "unit": "ms", "baseline": baseline + " (same rate)", "baseline_value": round(bare_steady["p99"] * 1000, 1),
         "ratio": round(mail["p99"] / bare_steady["p99"], 2) if bare_steady["p99"] else None,
         "goal": f"<= {GOAL_P99 * 1000:.0f} ms", "ok": mail["p99"] <= GOAL_P99},
    ]


if __name__ == "__main__":
    for row in run():
        print(json.dumps(row, ensure_ascii=False))
