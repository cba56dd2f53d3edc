"""A message that can never be sent is dead-lettered at once, never retried, never sent half-built."""
import json
import logging
from types import SimpleNamespace

import pytest

from kadra_defaults.outbox import mail_event
from notify.consumer import Delivery, MailConsumer, MailProcessor, Outcome
from notify.rendering import Renderer
from notify.smtp import PermanentFailure, TemporaryFailure, classify


class FakeStore:
    """The message log in memory (a unit test: no database here)."""

    def __init__(self):
        self.failures = []

    def get(self, event_id):
        return None

    def record_sent(self, event_id, fields, attempts):
        self.sent = (event_id, attempts)

    def record_failure(self, event_id, fields, **kwargs):
        self.failures.append((event_id, kwargs))


class FakePool:
    settings = SimpleNamespace(mail_from="Kadra <no-reply@kadra.local>", mail_address="no-reply@kadra.local")

    def __init__(self):
        self.sent = []

    def send(self, data, recipient, on_accepted):
        self.sent.append((data, recipient))
        on_accepted()


def _processor():
    store, pool = FakeStore(), FakePool()
    return MailProcessor(store, pool, Renderer("http://kadra.example"), (1.0, 5.0)), store, pool


def _delivery(full_name):
    envelope = mail_event("password_reset_requested", {
        "to": "eve@example.com", "full_name": full_name, "locale": "pl", "token": "t" * 43,
        "expires_at": "2030-01-01T00:00:00+00:00"})
    properties = SimpleNamespace(headers={}, content_type="application/json", message_id=envelope["id"],
                                 type=envelope["type"])
    return Delivery(1, 7, properties, json.dumps(envelope).encode(), False), envelope


@pytest.mark.parametrize("name", ["Eve\nX-A: 1", "Eve\r\nBcc: all@example.com", "Eve\u2028", "nul\x00"])
def test_a_name_that_would_split_a_header_is_dead_lettered_at_once_and_nothing_is_sent(name):
    processor, store, pool = _processor()
    delivery, envelope = _delivery(name)
    outcome = processor.process(delivery)
    assert outcome.kind == "dead" and outcome.queue == "notify.mail.dead"
    assert outcome.reason.startswith("message cannot be built: the To header")
    assert pool.sent == []
    assert store.failures == [(envelope["id"], {"status": "failed", "attempts": 1, "error": outcome.reason})]


def test_a_good_name_is_sent():
    processor, store, pool = _processor()
    delivery, _ = _delivery("Zażółć Gęślą")
    assert processor.process(delivery).kind == "ack"
    assert len(pool.sent) == 1 and store.failures == []


def test_a_template_that_fails_is_dead_lettered_not_retried():
    processor, store, pool = _processor()

    def broken(*args, **kwargs):
        raise TypeError("'NoneType' object is not subscriptable")

    processor.renderer = SimpleNamespace(render=broken)
    outcome = processor.process(_delivery("Ala")[0])
    assert outcome.kind == "dead" and "TypeError" in outcome.reason and pool.sent == []


def test_an_unexpected_error_in_a_worker_dead_letters_the_message_and_logs_once(caplog):
    consumer = MailConsumer()
    delivery, envelope = _delivery("Ala")
    processor, store, _ = _processor()

    def explode(_delivery):
        raise KeyError("surprise")

    processor.process = explode
    consumer.processor = processor
    outcome = consumer._outcome_of(delivery)
    assert isinstance(outcome, Outcome) and outcome.kind == "dead"
    assert outcome.reason.startswith("unexpected error: KeyError")
    assert store.failures and store.failures[0][0] == envelope["id"]
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1 and errors[0].exc_info is not None  # one line, with the traceback


def test_the_database_down_keeps_the_message_in_the_queue():
    from pymongo.errors import AutoReconnect

    consumer = MailConsumer()
    processor, _, _ = _processor()

    def down(_delivery):
        raise AutoReconnect("connection refused")

    processor.process = down
    consumer.processor = processor
    consumer.pause = lambda: None
    assert consumer._outcome_of(_delivery("Ala")[0]).kind == "requeue"


def test_an_error_that_is_not_smtp_or_network_is_permanent():
    assert isinstance(classify(UnicodeEncodeError("ascii", "ż", 0, 1, "no")), PermanentFailure)
    assert isinstance(classify(ConnectionRefusedError()), TemporaryFailure)
    assert isinstance(classify(TimeoutError()), TemporaryFailure)
