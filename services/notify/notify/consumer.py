"""The mail consumer: notify.mail -> render -> SMTP -> message log -> ack.

Runs inside the nameko process as green threads (pika's BlockingConnection works under eventlet's
monkey patching, see kadra_defaults.outbox): one loop owns the pika connection (consume with a
bounded prefetch, publish to the retry and dead-letter queues with confirms, ack), and a few workers
render and send in parallel, each on its own pooled SMTP connection. A worker never touches pika;
it hands its outcome to the loop, which acks only then:

- sent (the SMTP server answered 250, the send is in the local journal, then in the message log
  as ``sent``; the log writes are batched, see notify.journal)  -> ack
- temporary failure (refused, lost connection, 4xx)              -> publish to the next retry queue
  (1 s, 5 s, 30 s, 2 min, 10 min by default; TTL + dead-letter back to notify.mail), then ack
- permanent failure (malformed envelope, unknown event type or template, invalid payload, a message
  that cannot be built such as a name holding a line break, 5xx, any unexpected error) or no
  tries left                                                       -> publish to notify.mail.dead
  with the reason in a header and in the log line, log ``failed``, then ack
- the database down                                                -> nack with requeue after a pause
- an event whose log already says ``sent`` (a second delivery)   -> ack, nothing sent

On SIGTERM nameko stops this provider: consuming stops, unstarted deliveries are not acked (the
broker gives them back), work in hand finishes (bounded) and is acked, then the connection closes.
A SIGKILL between the SMTP server's 250 and the journal write re-sends that one e-mail once: the 250
and the journal write happen under one process-wide lock, so at most one e-mail is in that window.
What is journaled but not yet in the message log is replayed into it when notify starts again,
before it consumes (notify.journal), and is known in memory until then, so a second copy of the
event is not sent meanwhile.
"""
from __future__ import annotations

import collections
import contextlib
import datetime as dt
import json
import logging
import threading
import time

import eventlet.queue
import pika
import pika.exceptions
from marshmallow import ValidationError
from prometheus_client import Counter
from nameko.extensions import DependencyProvider
from pymongo.errors import PyMongoError

from kadra_defaults import clock, settings
from kadra_defaults.contracts import mailbus
from kadra_defaults.contracts.events import EnvelopeSchema
from kadra_defaults.contracts.mail import MAIL_EVENTS, load_payload, redact
from kadra_defaults.storage import connect

from notify.journal import Journal
from notify.rendering import Renderer, UnknownTemplate
from notify.message import Unbuildable, build, wire_bytes
from notify.smtp import PermanentFailure, SmtpPool, SmtpSettings, TemporaryFailure
from notify.storage import NotifyStore

log = logging.getLogger("notify.consumer")
# Prometheus (served on the service's /metrics): e-mails sent, retried, dead-lettered, skipped as duplicates.
EMAILS = Counter("kadra_emails_total", "E-mails by outcome", ["outcome"])

BROKER_ERRORS = (pika.exceptions.AMQPError, OSError)
MAX_BACKOFF = 10.0


class Delivery:
    __slots__ = ("generation", "tag", "properties", "body", "redelivered")

    def __init__(self, generation, tag, properties, body, redelivered):
        self.generation = generation
        self.tag = tag
        self.properties = properties
        self.body = body
        self.redelivered = redelivered


class Outcome:
    """What the loop must do with a delivery: ack, retry (publish to a retry queue) or dead-letter."""

    __slots__ = ("delivery", "kind", "queue", "attempt", "reason", "wait_for")

    def __init__(self, delivery, kind, queue=None, attempt=0, reason=None, wait_for=None):
        self.delivery = delivery
        self.kind = kind
        self.queue = queue
        self.attempt = attempt
        self.reason = reason
        self.wait_for = wait_for  # an event id whose send is journaled: ack once it is in the message log


class SentRecorder:
    """Accepted e-mails: in the journal at once (under the commit lock), in the message log in batches.

    ``accepted`` runs under the SMTP pool's commit lock right after the 250: one file write. The
    writer thread puts what accumulated into the message log with one insert and then releases the
    outcomes (acks) that waited for it. Until then ``pending`` knows the event was sent, so a second
    copy of it is not sent (and its ack, too, waits for the write).
    """

    def __init__(self, store: NotifyStore, journal: Journal, release, batch: int = 256):
        self.store = store
        self.journal = journal
        self.release = release
        self.batch = batch
        self._waiting: dict[str, list[Outcome]] = {}  # journaled, not yet in the message log
        self._queue = eventlet.queue.LightQueue()

    def accepted(self, event_id: str, fields: dict, attempts: int) -> bool:
        """Record a send; True when it is journaled (the log write comes later), False when logged now."""
        record = {"event_id": event_id, "fields": fields, "attempts": attempts, "sent_at": clock.now()}
        try:
            self.journal.append(record)
        except OSError as exc:  # no journal (disk full?): write the message log here, under the lock
            log.error("journal write failed; writing the message log directly", extra={
                "event_id": event_id, "error": str(exc)[:300]})
            self.store.record_sent(event_id, fields, attempts)
            return False
        self._waiting[event_id] = []
        self._queue.put(record)
        return True

    def after(self, event_id: str, outcome: Outcome) -> bool:
        """Hold `outcome` until `event_id`'s send is in the message log; False if it already is."""
        waiting = self._waiting.get(event_id)
        if waiting is None:
            return False
        waiting.append(outcome)
        return True

    def pending(self, event_id: str) -> bool:
        return event_id in self._waiting

    def run(self, stopping: threading.Event) -> None:
        records, backoff = [], 0.1
        while True:
            if not records:
                try:
                    records.append(self._queue.get(timeout=0.2))
                except eventlet.queue.Empty:
                    if stopping.is_set():
                        return
                    continue
            while len(records) < self.batch:
                try:
                    records.append(self._queue.get_nowait())
                except eventlet.queue.Empty:
                    break
            try:
                self.store.record_sent_many(records)
            except PyMongoError as exc:  # journaled: nothing is lost, the acks wait
                log.warning("message log write failed; the journal keeps the sends, retrying", extra={
                    "records": len(records), "error": str(exc)[:300]})
                if stopping.is_set():
                    return  # left in the journal; the next start replays it
                time.sleep(backoff)
                backoff = min(5.0, backoff * 2)
                continue
            backoff = 0.1
            for record in records:
                for outcome in self._waiting.pop(record["event_id"], ()):
                    self.release(outcome)
            records = []
            if not self._waiting:
                self.journal.empty()

    @property
    def clean(self) -> bool:
        return not self._waiting


class MailProcessor:
    """Turns one delivery into an Outcome (no pika here): validate, dedup, render, send, log."""

    def __init__(self, store: NotifyStore, pool: SmtpPool, renderer: Renderer, delays: tuple[float, ...],
                 recorder: SentRecorder | None = None):
        self.store = store
        self.recorder = recorder
        self.pool = pool
        self.renderer = renderer
        self.delays = delays
        self._in_hand: dict[str, threading.Event] = {}
        self.counts = collections.Counter()

    @contextlib.contextmanager
    def _exclusive(self, event_id: str):
        """One worker per event id at a time (a redelivery may overtake the first copy)."""
        while True:
            busy = self._in_hand.get(event_id)
            if busy is None:
                break
            busy.wait(30)
        done = self._in_hand[event_id] = threading.Event()
        try:
            yield
        finally:
            self._in_hand.pop(event_id, None)
            done.set()

    def process(self, delivery: Delivery) -> Outcome:
        headers = delivery.properties.headers or {}
        try:
            retries_done = int(headers.get(mailbus.ATTEMPT_HEADER, 0) or 0)
        except (TypeError, ValueError):
            retries_done = 0
        try:
            raw = json.loads(delivery.body)
            envelope = EnvelopeSchema().load(raw)
        except (ValueError, ValidationError) as exc:
            detail = exc.messages if isinstance(exc, ValidationError) else str(exc)[:200]
            return self._dead(delivery, None, {}, f"malformed envelope: {detail}", 0)
        event_id, event_type = envelope["id"], envelope["type"]
        event = MAIL_EVENTS.get(event_type)
        payload = envelope["payload"]
        fields = {"type": event_type, "template": event.template if event else None,
                  "locale": payload.get("locale") if isinstance(payload.get("locale"), str) else None,
                  "recipient": payload.get("to") if isinstance(payload.get("to"), str) else None}
        if event is None:
            return self._dead(delivery, event_id, fields, f"unknown event type (no template): {event_type!r}", 0)
        try:
            loaded = load_payload(event_type, payload)
        except ValidationError as exc:
            return self._dead(delivery, event_id, fields, f"invalid payload: {redact(exc.messages)}", 0)
        fields["locale"], fields["recipient"] = loaded["locale"], loaded["to"]
        with self._exclusive(event_id):
            return self._send(delivery, envelope, loaded, fields, retries_done)

    def _send(self, delivery, envelope, payload, fields, retries_done) -> Outcome:
        event_id = envelope["id"]
        if self.recorder is not None and self.recorder.pending(event_id):
            doc = {"status": "sent"}  # journaled, its log write still on the way
        else:
            # One find_one per event: on FerretDB an `_id: {$in: [...]}` query scans the whole collection
            # (85 ms at 5,000 documents, measured), while an `_id` equality uses the primary key (< 1 ms).
            doc = self.store.get(event_id)
        if doc is not None and doc.get("status") in ("sent", "failed"):
            self.counts["duplicate"] += 1
            EMAILS.labels("duplicate").inc()
            log.info("e-mail event already handled, nothing sent", extra={
                "event_id": event_id, "event_type": fields["type"], "status": doc["status"],
                "redelivered": delivery.redelivered})
            return Outcome(delivery, "ack", wait_for=event_id if self.recorder is not None else None)
        attempts = (doc.get("attempts", 0) if doc else 0) + 1
        try:
            rendered = self.renderer.render(envelope["type"], payload, envelope["occurred_at"])
            message = self._message(envelope, payload, rendered)
        except UnknownTemplate as exc:
            return self._dead(delivery, event_id, fields, f"unknown template: {exc}", attempts)
        except Unbuildable as exc:
            return self._dead(delivery, event_id, fields, f"message cannot be built: {exc}", attempts)
        except Exception as exc:  # a template that fails on this payload: it would fail every time
            return self._dead(delivery, event_id, fields,
                              f"message cannot be built: {type(exc).__name__}: {exc}"[:300], attempts)
        started = time.monotonic()
        recorded, journaled = [], []

        def on_accepted():
            if self.recorder is not None:
                if self.recorder.accepted(event_id, fields, attempts):
                    journaled.append(True)
            else:
                self.store.record_sent(event_id, fields, attempts)
            recorded.append(True)

        try:
            self.pool.send(message, payload["to"], on_accepted)
        except TemporaryFailure as exc:
            return self._temporary(delivery, event_id, fields, str(exc), attempts, retries_done)
        except PermanentFailure as exc:
            return self._dead(delivery, event_id, fields, f"SMTP refused: {exc}", attempts)
        except PyMongoError as exc:
            if not recorded:  # accepted by SMTP, the log write failed: never send it again
                self._record_sent_eventually(event_id, fields, attempts, exc)
        self.counts["sent"] += 1
        EMAILS.labels("sent").inc()
        log.info("e-mail sent", extra={
            "event_id": event_id, "event_type": fields["type"], "template": fields["template"],
            "locale": fields["locale"], "attempts": attempts,
            "smtp_ms": round((time.monotonic() - started) * 1000, 1)})
        return Outcome(delivery, "ack", wait_for=event_id if journaled else None)

    def _record_sent_eventually(self, event_id, fields, attempts, first_error) -> None:
        log.error("e-mail accepted by SMTP but the log write failed; retrying the write",
                  extra={"event_id": event_id, "error": str(first_error)[:300]})
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            time.sleep(1)
            try:
                self.store.record_sent(event_id, fields, attempts)
                return
            except PyMongoError:
                continue

    def _temporary(self, delivery, event_id, fields, error, attempts, retries_done) -> Outcome:
        if retries_done < len(self.delays):
            delay = self.delays[retries_done]
            next_try = clock.now() + dt.timedelta(seconds=delay)
            self._log_failure(event_id, fields, status="retrying", attempts=attempts, error=error,
                              next_try_at=next_try)
            self.counts["retrying"] += 1
            EMAILS.labels("retried").inc()
            log.warning("e-mail not sent, will retry", extra={
                "event_id": event_id, "event_type": fields["type"], "attempts": attempts,
                "retry_in_seconds": delay, "error": error})
            return Outcome(delivery, "retry", queue=mailbus.retry_queue(delay), attempt=retries_done + 1)
        return self._dead(delivery, event_id, fields, f"no tries left after {attempts}: {error}", attempts)

    def _dead(self, delivery, event_id, fields, reason, attempts, exc_info=None) -> Outcome:
        if event_id is not None:
            self._log_failure(event_id, fields, status="failed", attempts=attempts, error=reason)
        self.counts["failed"] += 1
        EMAILS.labels("dead_lettered").inc()
        log.error("e-mail event dead-lettered", exc_info=exc_info, extra={
            "event_id": event_id, "event_type": fields.get("type"), "reason": reason, "attempts": attempts})
        return Outcome(delivery, "dead", queue=mailbus.DEAD_QUEUE, reason=reason)

    def _log_failure(self, event_id, fields, **kwargs) -> None:
        try:
            self.store.record_failure(event_id, fields, **kwargs)
        except PyMongoError as exc:  # the queues still carry the message; the log catches up next try
            log.warning("message log write failed", extra={"event_id": event_id, "error": str(exc)[:300]})

    def _message(self, envelope, payload, rendered) -> bytes:
        smtp = self.pool.settings
        return wire_bytes(build(envelope, payload, rendered, smtp.mail_from, smtp.mail_address))

    def dead_unexpected(self, delivery: Delivery, exc: Exception) -> Outcome:
        """A failure that is neither the network, SMTP nor the database: the message can never be sent."""
        try:
            event_id = json.loads(delivery.body).get("id")
        except (ValueError, AttributeError):
            event_id = None
        event_id = event_id if isinstance(event_id, str) else None
        return self._dead(delivery, event_id, {}, f"unexpected error: {type(exc).__name__}: {exc}"[:300], 0,
                          exc_info=exc)


class MailConsumer(DependencyProvider):
    """Consumes notify.mail in the service process; the worker gets nothing from it but its counters."""

    def __init__(self):
        self.prefetch = None
        self.concurrency = None
        self._stopping = threading.Event()
        self._helpers_stopping = threading.Event()
        self._thread = None
        self._workers = []
        self._helpers = []
        self.journal = None

    def setup(self):
        current = settings.current()
        self.prefetch = current.notify_prefetch
        self.concurrency = current.notify_concurrency
        self.grace = current.notify_stop_grace
        self.delays = mailbus.retry_delays()
        mailbus.queue_type()  # a bad KADRA_AMQP_QUEUE_TYPE stops the start, not the first message
        smtp = SmtpSettings.from_env()
        self.client = connect()
        db = self.client[current.database_name("notify")]
        store = NotifyStore(db)
        self.journal = Journal(current.database_name("notify"))
        deadline = time.monotonic() + 60
        while True:
            try:
                NotifyStore.ensure_indexes(db)
                # Sends a killed process journaled but never logged: in the log before anything is consumed.
                replayed = self.journal.replay(store.record_sent_many)
                break
            except PyMongoError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(2)
        self.journal.open()
        self.pool = SmtpPool(smtp, size=self.concurrency)
        self.recorder = SentRecorder(store, self.journal, self._release)
        self.processor = MailProcessor(store, self.pool, Renderer(current.public_url),
                                       self.delays, recorder=self.recorder)
        self._work = eventlet.queue.LightQueue()
        self._outage_since = None
        self._results = collections.deque()
        self._in_flight = 0
        self._generation = 0
        self._stopping.clear()
        self._helpers_stopping.clear()
        log.info("mail consumer configured", extra={
            "smtp": repr(smtp), "prefetch": self.prefetch, "concurrency": self.concurrency,
            "retry_delays": list(self.delays), "queue_type": mailbus.queue_type(),
            "journal": self.journal.path, "journal_replayed": replayed})

    def start(self):
        self._helpers = [self.container.spawn_managed_thread(lambda: self.recorder.run(self._helpers_stopping),
                                                             identifier="mail_recorder")]
        for number in range(self.concurrency):
            self._workers.append(self.container.spawn_managed_thread(self._worker, identifier=f"mail_worker_{number}"))
        self._thread = self.container.spawn_managed_thread(self._run, identifier="mail_consumer")

    def stop(self):
        self._stopping.set()
        if self._thread is not None:
            self._thread.wait()
            self._thread = None
        for worker in self._workers:
            worker.wait()
        self._workers = []
        self._helpers_stopping.set()  # the recorder writes what is journaled before it returns
        for helper in self._helpers:
            helper.wait()
        self._helpers = []
        self._close_clients(remove_journal=self.recorder.clean)

    def kill(self):
        self._stopping.set()
        self._helpers_stopping.set()
        for thread in [self._thread, *self._workers, *self._helpers]:
            if thread is not None:
                thread.kill()
        self._thread, self._workers, self._helpers = None, [], []
        self._close_clients(remove_journal=False)

    def _close_clients(self, remove_journal):
        if self.journal is not None:
            self.journal.close(remove=remove_journal)  # kept: the next start replays it
        self.pool.close()
        if self.client is not None:
            self.client.close()
            self.client = None

    def get_dependency(self, worker_ctx):
        return self.processor.counts

    # --- workers: no pika here ---
    def _worker(self):
        while not self._stopping.is_set():
            try:
                delivery = self._work.get(timeout=0.5)
            except eventlet.queue.Empty:
                continue
            if self._stopping.is_set():
                return  # not started: left unacked, the broker delivers it again
            if delivery.generation != self._generation:
                continue  # its channel is gone; the broker delivers it again
            self._in_flight += 1
            outcome = self._outcome_of(delivery)
            if outcome.wait_for is not None and self.recorder.after(outcome.wait_for, outcome):
                continue  # acked once its send is in the message log (SentRecorder releases it)
            self._release(outcome)

    def _outcome_of(self, delivery: Delivery) -> Outcome:
        """What to do with a delivery. Only the database being down keeps it in the queue: any other
        failure would fail again on every redelivery and hold the queue for everybody, so the message
        goes to the dead-letter queue at once, with its reason, logged once."""
        try:
            return self.processor.process(delivery)
        except PyMongoError as exc:
            log.warning("mail processing: the database is unavailable; the message stays in the queue",
                        extra={"error": f"{type(exc).__name__}: {exc}"[:300]})
            self.pause()
            return Outcome(delivery, "requeue")
        except Exception as exc:
            try:
                return self.processor.dead_unexpected(delivery, exc)
            except Exception:  # never leave a delivery without an outcome
                return Outcome(delivery, "dead", queue=mailbus.DEAD_QUEUE, reason=f"unexpected error: {exc!r}"[:300])

    def pause(self) -> None:
        time.sleep(1)

    def _release(self, outcome):
        """A delivery's outcome is final: the loop settles it (ack, retry, dead letter)."""
        self._in_flight -= 1
        self._results.append(outcome)

    # --- the loop: owns the pika connection ---
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
                connection.process_data_events(time_limit=0.005 if self._results or self._in_flight else 0.05)
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
