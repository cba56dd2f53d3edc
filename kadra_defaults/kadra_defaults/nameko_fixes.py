"""One fix to nameko 2.14.1, applied when the service defaults are imported.

nameko's QueueConsumer acks (or requeues) a message after its worker finished,
and ignores only amqp's ConnectionError when the connection is gone. When the
broker restarts under load, the socket write raises an OSError
(ConnectionResetError, BrokenPipeError) instead, the worker thread dies with
it, and nameko kills the whole service container. Seen here in the reliability
suite: the users service exited on a RabbitMQ restart while handling RPCs.

The broker has already taken the message back when its connection died, so it
will deliver it again; there is nothing to ack. We log and go on, as nameko
does for amqp's ConnectionError (compare nameko issue #511, the same failure
with RecoverableConnectionError, fixed upstream the same way).
"""
import logging

from amqp.exceptions import ConnectionError as AmqpConnectionError
from kombu.exceptions import OperationalError
from nameko.messaging import QueueConsumer

log = logging.getLogger(__name__)

_LOST = (AmqpConnectionError, OperationalError, OSError)


def _tolerant(method, what):
    def wrapper(self, message):
        try:
            return method(self, message)
        except _LOST as exc:
            log.warning(f"could not {what} a message: the broker connection is gone; it will redeliver",
                        extra={"error": exc.__class__.__name__})
    wrapper.__wrapped__ = method
    wrapper.__doc__ = method.__doc__
    return wrapper


def apply() -> None:
    """Idempotent: wrap QueueConsumer.ack_message and requeue_message once."""
    for name, what in (("ack_message", "acknowledge"), ("requeue_message", "requeue")):
        method = getattr(QueueConsumer, name)
        if not hasattr(method, "__wrapped__"):
            setattr(QueueConsumer, name, _tolerant(method, what))


apply()
