"""A lost connection while acknowledging must not kill the service (kadra_defaults.nameko_fixes)."""
import pytest
from nameko.messaging import QueueConsumer

from kadra_defaults import nameko_fixes


class _Message:
    def __init__(self, error):
        self.error = error
        self.channel = type("Channel", (), {"connection": object()})()

    def ack(self):
        raise self.error

    requeue = ack


@pytest.mark.parametrize("error", [ConnectionResetError(104, "reset"), BrokenPipeError(32, "pipe")])
@pytest.mark.parametrize("method", ["ack_message", "requeue_message"])
def test_socket_errors_while_acknowledging_are_logged_not_raised(error, method, caplog):
    nameko_fixes.apply()
    getattr(QueueConsumer, method)(object.__new__(QueueConsumer), _Message(error))
    assert "the broker connection is gone" in caplog.text


def test_applying_twice_wraps_once():
    nameko_fixes.apply()
    nameko_fixes.apply()
    assert not hasattr(QueueConsumer.ack_message.__wrapped__, "__wrapped__")


def test_other_errors_still_raise():
    nameko_fixes.apply()
    with pytest.raises(ValueError):
        QueueConsumer.ack_message(object.__new__(QueueConsumer), _Message(ValueError("a bug")))


def test_a_reply_that_cannot_be_sent_is_logged_not_raised(caplog, monkeypatch):
    from kombu.exceptions import OperationalError
    from nameko.rpc import Responder

    def refuse(self, result, exc_info):
        raise OperationalError("[Errno 111] ECONNREFUSED")

    monkeypatch.setattr(Responder, "send_response", refuse)
    nameko_fixes.apply()
    assert Responder.send_response(object.__new__(Responder), {"ok": True}, None) == ({"ok": True}, None)
    assert "could not send an RPC reply" in caplog.text


def _queue(**flags):
    from kombu import Queue
    return Queue("rpc-users", **flags)


@pytest.mark.parametrize("kind, flags, expected", [
    ("quorum", dict(durable=True), {"x-queue-type": "quorum"}),
    ("quorum", dict(durable=True, queue_arguments={"x-expires": 300000}),   # a service's reply queue
     {"x-expires": 300000, "x-queue-type": "quorum"}),
    ("quorum", dict(durable=True, auto_delete=True), None),    # a reply queue: stays classic
    ("quorum", dict(durable=True, exclusive=True), None),      # a broadcast handler's queue
    ("quorum", dict(durable=False), None),
    ("classic", dict(durable=True), None),                     # the default: declared exactly as before
])
def test_nameko_queues_follow_the_queue_type_where_they_can(monkeypatch, kind, flags, expected):
    monkeypatch.setenv("KADRA_AMQP_QUEUE_TYPE", kind)
    queue = _queue(**flags)
    nameko_fixes.quorum_if_asked(queue)
    assert (queue.queue_arguments or None) == expected


def test_every_nameko_queue_declarer_is_wrapped_once():
    nameko_fixes.apply()
    nameko_fixes.apply()
    for provider in nameko_fixes.QUEUE_DECLARERS:
        assert hasattr(provider.setup, "__wrapped__") and not hasattr(provider.setup.__wrapped__, "__wrapped__")
