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
