"""One delivery in, one Outcome out: validate, deduplicate, render, send, log. No pika here.

The consume loop (notify.consumer, whose docstring says which failure leads where) hands each
delivery to ``MailProcessor.process`` on a worker green thread and settles the Outcome it gets:
``ack``, ``retry`` (to the retry queue of the next delay) or ``dead`` (to notify.mail.dead, with the
reason); ``requeue`` is the loop's own, for a database that is down. An Outcome with ``wait_for`` is
acked only once that event's send is in the message log (notify.journal).
"""
from __future__ import annotations

import collections
import contextlib
import datetime as dt
import json
import logging
import threading
import time

from marshmallow import ValidationError
from prometheus_client import Counter
from pymongo.errors import PyMongoError

from kadra_defaults import clock
from kadra_defaults.contracts import mailbus
from kadra_defaults.contracts.events import EnvelopeSchema
from kadra_defaults.contracts.mail import MAIL_EVENTS, load_payload, redact

from notify.claims import SendClaims
from notify.journal import SentRecorder
from notify.message import Unbuildable, build, wire_bytes
from notify.rendering import Renderer, UnknownTemplate
from notify.smtp import PermanentFailure, SmtpPool, TemporaryFailure
from notify.storage import NotifyStore

log = logging.getLogger(__name__)
# Prometheus (served on the service's /metrics): e-mails sent, retried, dead-lettered, skipped as duplicates.
EMAILS = Counter("kadra_emails_total", "E-mails by outcome", ["outcome"])


class Delivery:
    """One message as the loop received it: its channel's generation, delivery tag, properties, body."""

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


class MailProcessor:
    """Turns one delivery into an Outcome (no pika here): validate, dedup, render, send, log."""

    def __init__(self, store: NotifyStore, pool: SmtpPool, renderer: Renderer, delays: tuple[float, ...],
                 recorder: SentRecorder | None = None, claims: SendClaims | None = None, on_takeover=None):
        self.store = store
        self.claims = claims
        self.on_takeover = on_takeover  # replays dead processes' journals into the log (notify.journal)
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

    def _duplicate(self, delivery, event_id, fields, doc) -> Outcome:
        self.counts["duplicate"] += 1
        EMAILS.labels("duplicate").inc()
        log.info("e-mail event already handled, nothing sent", extra={
            "event_id": event_id, "event_type": fields["type"], "status": doc["status"],
            "redelivered": delivery.redelivered})
        return Outcome(delivery, "ack", wait_for=event_id if self.recorder is not None else None)

    def _held_elsewhere(self, delivery, event_id, fields, retries_done) -> Outcome:
        """Another worker holds the event's claim: look again after the first retry delay, attempt unchanged."""
        self.counts["held"] += 1
        EMAILS.labels("held_elsewhere").inc()
        if not self.delays:
            return Outcome(delivery, "requeue")
        log.info("e-mail event being sent by another worker, looked at again later", extra={
            "event_id": event_id, "event_type": fields["type"], "retry_in_seconds": self.delays[0]})
        return Outcome(delivery, "retry", queue=mailbus.retry_queue(self.delays[0]), attempt=retries_done)

    def _send(self, delivery, envelope, payload, fields, retries_done) -> Outcome:
        event_id = envelope["id"]
        if self.recorder is not None and self.recorder.pending(event_id):
            doc = {"status": "sent"}  # journaled, its log write still on the way
        else:
            # The message log by the event's id: one key look-up.
            doc = self.store.get(event_id)
        if doc is not None and doc.get("status") in ("sent", "failed"):
            return self._duplicate(delivery, event_id, fields, doc)
        claim = None
        if self.claims is not None:
            claim = self.claims.take(event_id)
            if claim is None:
                return self._held_elsewhere(delivery, event_id, fields, retries_done)
            if claim.taken_over and self.on_takeover is not None:
                # Its holder died: what it sent may be in its journal, not yet in the log.
                self.on_takeover()
                doc = self.store.get(event_id)
                if doc is not None and doc.get("status") in ("sent", "failed"):
                    return self._duplicate(delivery, event_id, fields, doc)
        outcome = self._claimed_send(delivery, envelope, payload, fields, retries_done, doc)
        if claim is not None and outcome.kind != "ack":
            claim.release()  # nothing was sent: a retry may be taken by any worker at once
        return outcome

    def _claimed_send(self, delivery, envelope, payload, fields, retries_done, doc) -> Outcome:
        event_id = envelope["id"]
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

