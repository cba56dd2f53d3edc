"""The mail consumer: notify.mail -> render -> SMTP -> message log -> ack.

Runs inside the nameko process as green threads (pika's BlockingConnection works under eventlet's
monkey patching, see kadra_defaults.outbox): one loop (notify.loop) owns the pika connection (consume with a
bounded prefetch, publish to the retry and dead-letter queues with confirms, ack), and a few workers
render and send in parallel (notify.processing), each on its own pooled SMTP connection
(notify.smtp). A worker never touches pika; it hands its outcome to the loop, which acks only then:

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
import logging
import threading
import time

import eventlet.queue
from nameko.extensions import DependencyProvider
from pymongo.errors import PyMongoError

from kadra_defaults import settings
from kadra_defaults.contracts import mailbus
from kadra_defaults.storage import connect, retry_until_ready

from notify.claims import ALIVE_INTERVAL, SendClaims
from notify.journal import Journal, SentRecorder
from notify.loop import BrokerLoop
from notify.processing import Delivery, MailProcessor, Outcome
from notify.rendering import Renderer
from notify.smtp import SmtpPool, SmtpSettings
from notify.storage import NotifyStore

log = logging.getLogger("notify.consumer")

WORKER_WAIT = 5.0  # seconds an idle worker waits for a delivery before looking at the stop flag


class MailConsumer(BrokerLoop, DependencyProvider):
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

        self.claims = SendClaims(db)

        def prepare() -> int:
            NotifyStore.ensure_indexes(db)
            self.claims.renew()  # alive before the first claim: nobody takes this process's claims over
            # Sends a killed process journaled but never logged: in the log before anything is consumed.
            return self.journal.replay(store.record_sent_many)

        replayed = retry_until_ready(prepare, "notify indexes and journal replay")
        self.journal.open()
        self.pool = SmtpPool(smtp, size=self.concurrency)
        self.recorder = SentRecorder(store, self.journal, self._release)
        self.processor = MailProcessor(store, self.pool, Renderer(current.public_url),
                                       self.delays, recorder=self.recorder, claims=self.claims,
                                       on_takeover=lambda: self.journal.replay(store.record_sent_many))
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
                                                             identifier="mail_recorder"),
                         self.container.spawn_managed_thread(self._alive, identifier="mail_claims_alive")]
        for number in range(self.concurrency):
            self._workers.append(self.container.spawn_managed_thread(self._worker, identifier=f"mail_worker_{number}"))
        self._thread = self.container.spawn_managed_thread(self._run, identifier="mail_consumer")

    def stop(self):
        self._stopping.set()
        if self._thread is not None:
            self._thread.wait()
            self._thread = None
        for _ in self._workers:
            self._work.put_nowait(None)  # wakes the idle ones now, not after their WORKER_WAIT
        for worker in self._workers:
            worker.wait()
        self._workers = []
        self._helpers_stopping.set()  # the recorder writes what is journaled before it returns
        for helper in self._helpers:
            helper.wait()
        self._helpers = []
        try:
            self.claims.retire()  # work in hand is done: nothing of ours to wait for
        except PyMongoError:
            pass  # the liveness lapses by itself
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

    def _alive(self):
        """Renew this process's liveness (notify.claims) until it stops."""
        failing = False
        while not self._helpers_stopping.is_set():
            try:
                self.claims.renew()
                failing = False
            except PyMongoError as exc:
                if not failing:  # once per outage
                    log.warning("send-claim liveness not renewed", extra={"error": str(exc)[:300]})
                failing = True
            self._helpers_stopping.wait(ALIVE_INTERVAL)

    def get_dependency(self, worker_ctx):
        return self.processor.counts

    # --- workers: no pika here ---
    def _worker(self):
        while not self._stopping.is_set():
            try:
                delivery = self._work.get(timeout=WORKER_WAIT)
            except eventlet.queue.Empty:
                continue
            if delivery is None or self._stopping.is_set():
                return  # stopping (a None wakes a waiting worker); not started: the broker delivers it again
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
