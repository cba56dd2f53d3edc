"""Helpers for the notify suites: a vhost of their own, the mail queues, an SMTP sink that can go down."""
from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import uuid

import pika

from tests.support.infra import ROOT, create_vhost, delete_vhost, free_port, wait_until
from tests.support.mailbox import Mailbox

MAILSINK = os.path.join(ROOT, "scripts", "mailsink.py")


def amqp_uri(vhost: str) -> str:
    return f"amqp://guest:guest@127.0.0.1:5672/{vhost}"


class Vhost:
    """A RabbitMQ vhost made for one test module (deleted afterwards)."""

    def __init__(self, prefix: str = "kadra-notify"):
        self.name = f"{prefix}-{uuid.uuid4().hex[:8]}"
        create_vhost(self.name)
        self.uri = amqp_uri(self.name)

    def delete(self) -> None:
        delete_vhost(self.name)

    def channel(self):
        connection = pika.BlockingConnection(pika.URLParameters(self.uri))
        return connection, connection.channel()

    def depth(self, queue: str) -> int:
        """Messages ready in a queue (0 when it does not exist)."""
        connection = pika.BlockingConnection(pika.URLParameters(self.uri))
        try:
            channel = connection.channel()
            return channel.queue_declare(queue=queue, passive=True).method.message_count
        except pika.exceptions.ChannelClosedByBroker:
            return 0
        finally:
            if connection.is_open:
                connection.close()

    def drain(self, queue: str, limit: int = 10000) -> list[tuple[dict, bytes]]:
        """Take every ready message out of a queue: [(headers, body)]."""
        out = []
        connection = pika.BlockingConnection(pika.URLParameters(self.uri))
        try:
            channel = connection.channel()
            while len(out) < limit:
                method, properties, body = channel.basic_get(queue, auto_ack=True)
                if method is None:
                    break
                out.append((dict(properties.headers or {}), body))
        finally:
            connection.close()
        return out

    def publish_raw(self, body: bytes, exchange: str = "kadra.mail", routing_key: str = "mail",
                    headers: dict | None = None) -> None:
        """Publish any bytes (malformed events too) persistently with a confirm."""
        connection = pika.BlockingConnection(pika.URLParameters(self.uri))
        try:
            channel = connection.channel()
            channel.confirm_delivery()
            channel.basic_publish(exchange, routing_key, body,
                                  pika.BasicProperties(delivery_mode=2, headers=headers or {}), mandatory=True)
        finally:
            connection.close()


def consumers(vhost: str, queue: str) -> int:
    """Consumers of a queue, from the management API (0 when the queue does not exist)."""
    import base64
    import urllib.error
    import urllib.parse
    import urllib.request

    url = f"http://127.0.0.1:15672/api/queues/{urllib.parse.quote(vhost, safe='')}/{urllib.parse.quote(queue)}"
    request = urllib.request.Request(url)
    request.add_header("Authorization", "Basic " + base64.b64encode(b"guest:guest").decode())
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return int(json.loads(response.read()).get("consumers") or 0)
    except (urllib.error.URLError, OSError, ValueError):
        return 0


def listening(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex((host, port)) == 0


class MailSink:
    """scripts/mailsink.py on a port of our choosing, in a subprocess we can stop and start again."""

    def __init__(self, folder: str, port: int | None = None):
        self.folder = folder
        os.makedirs(folder, exist_ok=True)
        self.host = "127.0.0.1"
        self.port = port or free_port()
        self.http_port = free_port()
        self.mailbox = Mailbox(folder)
        self.proc = None

    def start(self, timeout: float = 15) -> "MailSink":
        if self.proc is not None and self.proc.poll() is None:
            return self
        self.proc = subprocess.Popen(
            [sys.executable, MAILSINK, "--smtp", f"{self.host}:{self.port}",
             "--http", f"127.0.0.1:{self.http_port}", "--dir", self.folder],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_until(lambda: listening(self.port), timeout, what=f"SMTP sink on port {self.port}")
        return self

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None
        wait_until(lambda: not listening(self.port), 10, what=f"SMTP sink on port {self.port} down")

    def message_ids(self) -> list[str]:
        """The X-Kadra-Event-Id of every received e-mail (duplicates kept)."""
        ids = []
        for name in sorted(n for n in os.listdir(self.folder) if n.endswith(".eml")):
            with open(os.path.join(self.folder, name), "rb") as f:
                for line in f:
                    if not line.strip():
                        break
                    if line.lower().startswith(b"x-kadra-event-id:"):
                        ids.append(line.split(b":", 1)[1].strip().decode())
                        break
        return ids


def dumps(envelope: dict) -> bytes:
    return json.dumps(envelope).encode()


def wait_for_count(predicate_count, expected: int, timeout: float, what: str) -> int:
    deadline = time.monotonic() + timeout
    value = predicate_count()
    while value < expected and time.monotonic() < deadline:
        time.sleep(0.2)
        value = predicate_count()
    if value < expected:
        raise AssertionError(f"{what}: {value} of {expected} within {timeout}s")
    return value


class NotifyProcess:
    """The notify service as a real process (`kadra-service notify`) with the environment we give it."""

    def __init__(self, env: dict, log_path: str):
        self.env = env
        self.log_path = log_path
        self.proc = None
        self.starts = 0

    def start(self) -> "NotifyProcess":
        log = open(self.log_path, "ab")
        self.proc = subprocess.Popen([os.path.join(os.path.dirname(sys.executable), "kadra-service"), "notify"],
                                     cwd=ROOT, env=dict(self.env, KADRA_ROOT=ROOT), stdout=log,
                                     stderr=subprocess.STDOUT, start_new_session=True)
        log.close()
        self.starts += 1
        return self

    def wait_consuming(self, timeout: float = 60) -> None:
        """Until this process consumes notify.mail (the broker's management API says so)."""
        vhost = self.env["KADRA_AMQP_URI"].rsplit("/", 1)[1]

        def consuming():
            if self.proc.poll() is not None:
                raise AssertionError(f"notify exited with {self.proc.returncode}:\n{self.tail()}")
            return consumers(vhost, "notify.mail") >= 1
        wait_until(consuming, timeout, what="notify consuming")

    def signal(self, sig) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, sig)

    def stop(self, timeout: float = 30) -> int:
        import signal as _signal

        if self.proc is None:
            return 0
        self.signal(_signal.SIGTERM)
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.signal(_signal.SIGKILL)
            self.proc.wait()
        return self.proc.returncode

    def kill(self) -> None:
        import signal as _signal

        self.signal(_signal.SIGKILL)
        if self.proc is not None:
            self.proc.wait(10)

    def lines(self) -> list[dict]:
        out = []
        if not os.path.exists(self.log_path):
            return out
        with open(self.log_path, "rb") as f:
            for raw in f:
                try:
                    out.append(json.loads(raw))
                except ValueError:
                    continue
        return out

    def raw_log(self) -> str:
        with open(self.log_path, "rb") as f:
            return f.read().decode(errors="replace")

    def tail(self, n: int = 30) -> str:
        return "\n".join(self.raw_log().splitlines()[-n:])


class NotifyWorld:
    """A notify of one's own: a vhost, an SMTP sink, a database prefix, the notify process (not started
    yet) and a publisher of mail events; `close()` takes it all down, its database too."""

    def __init__(self, vhost_prefix: str, mongo, mail_dir, log_path, **env):
        from kadra_defaults.outbox import Publisher

        self.mongo = mongo
        self.vhost = Vhost(vhost_prefix)
        self.sink = MailSink(str(mail_dir)).start()
        self.prefix = f"ktn{uuid.uuid4().hex[:8]}"
        self.notify = NotifyProcess(notify_env(self.vhost.uri, self.prefix, self.sink.port, **env), str(log_path))
        self.publisher = Publisher(self.vhost.uri)
        self.log = mongo[f"{self.prefix}_notify"].messages

    def close(self) -> None:
        self.publisher.close()
        self.notify.stop()
        self.sink.stop()
        self.vhost.delete()
        self.mongo.drop_database(f"{self.prefix}_notify")


def notify_env(vhost_uri: str, prefix: str, smtp_port: int, **extra) -> dict:
    env = dict(os.environ)
    env.update({
        "KADRA_AMQP_URI": vhost_uri,
        "KADRA_MONGO_URI": "mongodb://127.0.0.1:27017/",
        "KADRA_MONGO_DB_PREFIX": prefix,
        "KADRA_SMTP_HOST": "127.0.0.1",
        "KADRA_SMTP_PORT": str(smtp_port),
        "KADRA_SMTP_TLS": "none",
        "KADRA_PUBLIC_URL": "http://127.0.0.1:8000",
        "KADRA_HEALTH_PORT": str(free_port()),
        "KADRA_LOG_LEVEL": "INFO",
    })
    env.update({k: str(v) for k, v in extra.items()})
    return env


def rpc(vhost_uri: str, service: str, method: str, *args, **kwargs):
    """One nameko RPC call from the test process."""
    from nameko.standalone.rpc import ClusterRpcProxy

    with ClusterRpcProxy({"AMQP_URI": vhost_uri, "serializer": "json"}, timeout=15) as cluster:
        return getattr(getattr(cluster, service), method)(*args, **kwargs)


def reset_event(i: int = 0, domain: str = "example.com", locale: str = "en") -> dict:
    """A valid password_reset_requested envelope (its own id and recipient)."""
    from kadra_defaults.outbox import mail_event

    return mail_event("password_reset_requested", {
        "to": f"user{i}-{uuid.uuid4().hex[:6]}@{domain}", "locale": locale,
        "token": "secret-" + uuid.uuid4().hex, "expires_at": "2030-01-01T10:00:00+00:00"})
