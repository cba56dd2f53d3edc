"""The mail consumer's loop (notify/consumer.py): the one green thread that owns the pika connection. It
consumes notify.mail with a bounded prefetch and hands each delivery to the workers; it settles each outcome
they hand back — ack, publish to a retry or the dead-letter queue (with confirms) then ack, or nack with
requeue — and reconnects with backoff when the broker goes. On stop it cancels the consumer, gives the
unstarted deliveries back and settles the work in hand (bounded by KADRA_NOTIFY_STOP_GRACE)."""
from __future__ import annotations

import logging
import time

import eventlet.queue
import pika
import pika.exceptions

from kadra_defaults.contracts import mailbus
from notify.processing import Delivery

log = logging.getLogger("notify.consumer")

BROKER_ERRORS = (pika.exceptions.AMQPError, OSError)
MAX_BACKOFF = 10.0
IDLE_POLL = 0.5  # seconds the loop waits for the broker while nothing is in hand


class BrokerLoop:
    """Mixed into MailConsumer, whose state it shares: the work queue, the results, the counts in flight."""

    def _run(self):
        backoff = 0.5
        while not self._stopping.is_set():
            try:
                self._session()
                return
            except BROKER_ERRORS as exc:
                self._generation += 1  # every delivery of the lost channel comes again
                self._drop_work()
                if self._outage_since is None:
                    self._outage_since = time.monotonic()
                    log.warning("mail consumer: broker unavailable, reconnecting with backoff",
                                extra={"error": f"{type(exc).__name__}: {exc}"[:300]})
                else:
                    backoff = min(MAX_BACKOFF, backoff * 2)
                self._stopping.wait(backoff)

    def _drop_work(self):
        while True:
            try:
                self._work.get_nowait()
            except eventlet.queue.Empty:
                return

    def _session(self):
        connection = pika.BlockingConnection(mailbus.connection_parameters())
        try:
            channel = connection.channel()
            mailbus.declare_topology(channel)
            channel.basic_qos(prefetch_count=self.prefetch)
            publisher = connection.channel()
            publisher.confirm_delivery()
            self._generation += 1
            generation = self._generation
            self._results.clear()

            def on_message(_channel, method, properties, body):
                self._work.put_nowait(Delivery(generation, method.delivery_tag, properties, body,
                                               method.redelivered))

            consumer_tag = channel.basic_consume(mailbus.QUEUE, on_message, auto_ack=False)
            if self._outage_since is not None:
                log.warning("mail consumer: broker back",
                            extra={"outage_seconds": round(time.monotonic() - self._outage_since, 1)})
                self._outage_since = None
            log.info("mail consumer consuming", extra={"queue": mailbus.QUEUE})
            while not self._stopping.is_set():
                # Work in hand (queued, in flight, or done and waiting for its ack): look again in 5 ms. Idle:
                # pika returns at once when a delivery comes, so the long wait costs no latency, only wake-ups
                # (20 a second at 0.05 s were most of notify's CPU at rest).
                busy = self._results or self._in_flight or not self._work.empty()
                connection.process_data_events(time_limit=0.005 if busy else IDLE_POLL)
                self._settle(channel, publisher, generation)
            # Stopping: no new deliveries; unstarted ones go back; finish what is in hand and ack it.
            channel.basic_cancel(consumer_tag)
            self._drop_work()
            deadline = time.monotonic() + self.grace
            while self._in_flight and time.monotonic() < deadline:
                connection.process_data_events(time_limit=0.02)
                self._settle(channel, publisher, generation)
            self._settle(channel, publisher, generation)
            if self._in_flight:
                log.warning("mail consumer stopped with work in hand; it will be delivered again",
                            extra={"in_flight": self._in_flight})
        finally:
            self._generation += 1
            try:
                if connection.is_open:
                    connection.close()
            except Exception:  # closing a broken connection
                pass

    def _settle(self, channel, publisher, generation):
        while self._results:
            outcome = self._results.popleft()
            delivery = outcome.delivery
            if delivery.generation != generation:
                continue
            if outcome.kind in ("retry", "dead"):
                headers = dict(delivery.properties.headers or {})
                headers[mailbus.ATTEMPT_HEADER] = outcome.attempt if outcome.kind == "retry" else headers.get(
                    mailbus.ATTEMPT_HEADER, 0)
                if outcome.reason:
                    headers[mailbus.REASON_HEADER] = str(outcome.reason)[:500]
                properties = pika.BasicProperties(
                    delivery_mode=pika.DeliveryMode.Persistent,
                    content_type=delivery.properties.content_type or "application/json",
                    message_id=delivery.properties.message_id, type=delivery.properties.type, headers=headers)
                publisher.basic_publish("", outcome.queue, delivery.body, properties, mandatory=True)
                channel.basic_ack(delivery.tag)
            elif outcome.kind == "ack":
                channel.basic_ack(delivery.tag)
            else:  # requeue
                channel.basic_nack(delivery.tag, requeue=True)
