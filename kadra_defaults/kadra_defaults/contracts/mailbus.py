"""The mail topology on RabbitMQ, declared by ONE function that publishers and notify both call.

    kadra.mail (direct exchange, durable)
      └─ "mail" ─> notify.mail                      the queue notify consumes
    notify.mail.retry.<ms>ms  (one per retry delay)  x-message-ttl=<ms>, dead-letters back to
                                                     kadra.mail / "mail" when the delay is over
    notify.mail.dead                                 messages that can never be sent, or ran out of tries

Notify puts a failed message into a retry queue (default exchange, routing key = the queue's
name) with the header ``x-kadra-attempt``; the broker moves it back to ``notify.mail`` when its
TTL expires, so a retry never spins in a tight loop. Every queue is durable and every message is
persistent. Declaring the same queues with the same arguments is idempotent, so whoever starts
first creates them and no message is dropped because notify has not started yet.

``KADRA_AMQP_QUEUE_TYPE`` chooses ``classic`` (default) or ``quorum`` (production). Quorum
retry queues dead-letter ``at-least-once`` (needs ``x-overflow: reject-publish``).
``KADRA_NOTIFY_RETRY_DELAYS`` (seconds, comma separated) overrides the default delays; each
delay has its own queue, so changing them never clashes with queues declared before.
"""
from __future__ import annotations

import pika

from kadra_defaults import settings

EXCHANGE = "kadra.mail"
ROUTING_KEY = "mail"
QUEUE = "notify.mail"
DEAD_QUEUE = "notify.mail.dead"
ATTEMPT_HEADER = "x-kadra-attempt"
REASON_HEADER = "x-kadra-reason"

QUEUE_TYPES = ("classic", "quorum")


def queue_type() -> str:
    """KADRA_AMQP_QUEUE_TYPE (kadra_defaults.settings)."""
    return settings.current().amqp_queue_type


def retry_delays() -> tuple[float, ...]:
    """The growing delays (seconds) between tries; len(retry_delays()) + 1 tries in all."""
    return settings.current().notify_retry_delays


def retry_queue(delay_seconds: float) -> str:
    return f"{QUEUE}.retry.{int(round(delay_seconds * 1000))}ms"


def _arguments(kind: str, **extra) -> dict:
    arguments = {"x-queue-type": kind}
    arguments.update(extra)
    return arguments


def declare_topology(channel) -> None:
    """Declare the exchange and every mail queue (idempotent). Call before publishing or consuming."""
    kind = queue_type()
    channel.exchange_declare(exchange=EXCHANGE, exchange_type="direct", durable=True)
    channel.queue_declare(queue=QUEUE, durable=True, arguments=_arguments(kind))
    channel.queue_bind(queue=QUEUE, exchange=EXCHANGE, routing_key=ROUTING_KEY)
    channel.queue_declare(queue=DEAD_QUEUE, durable=True, arguments=_arguments(kind))
    for delay in retry_delays():
        extra = {
            "x-message-ttl": int(round(delay * 1000)),
            "x-dead-letter-exchange": EXCHANGE,
            "x-dead-letter-routing-key": ROUTING_KEY,
        }
        if kind == "quorum":
            extra.update({"x-dead-letter-strategy": "at-least-once", "x-overflow": "reject-publish"})
        channel.queue_declare(queue=retry_queue(delay), durable=True, arguments=_arguments(kind, **extra))


def connection_parameters(uri: str | None = None, *, heartbeat: int = 30,
                          socket_timeout: float = 5.0) -> list[pika.URLParameters]:
    """Parameters for a pika connection to Kadra's broker (KADRA_AMQP_URI), failing fast.

    One entry per broker address (KADRA_AMQP_URI may list a cluster's nodes, separated by ';'):
    ``pika.BlockingConnection`` tries them in order and connects to the first that answers.
    """
    found = []
    for address in settings.amqp_uris(uri or settings.current().amqp_uri):
        params = pika.URLParameters(address)
        params.heartbeat = heartbeat
        params.socket_timeout = socket_timeout
        params.stack_timeout = socket_timeout * 2
        params.blocked_connection_timeout = 30
        params.connection_attempts = 1
        found.append(params)
    return found


def message_properties(envelope: dict, attempt: int = 0, headers: dict | None = None) -> pika.BasicProperties:
    """Persistent JSON message carrying the envelope id as message_id."""
    all_headers = {ATTEMPT_HEADER: attempt}
    if headers:
        all_headers.update(headers)
    return pika.BasicProperties(
        delivery_mode=pika.DeliveryMode.Persistent,
        content_type="application/json",
        message_id=str(envelope.get("id", "")) if isinstance(envelope, dict) else None,
        type=str(envelope.get("type", "")) if isinstance(envelope, dict) else None,
        headers=all_headers,
    )
