"""Two fixes to nameko 2.14.1, applied when the service defaults are imported.

Both are the same failure: a broker that goes away while a worker is
finishing makes nameko kill the whole service container.

1. Acknowledging (or requeueing) the request.
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

2. Sending the RPC reply. When the broker stays down longer than the
publisher's retries, kombu raises OperationalError out of the responder and
nameko kills the container (seen here: identity exited on a RabbitMQ restart
under load). The caller has a timeout of its own and answers 503/504; the
request is not acknowledged, so the broker delivers it again (at least once).
We log and go on.
"""
import logging

from amqp.exceptions import ConnectionError as AmqpConnectionError
from kombu.exceptions import OperationalError
from nameko.messaging import QueueConsumer
from nameko.rpc import Responder

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


def _tolerant_reply(send_response):
    def wrapper(self, result, exc_info):
        try:
            return send_response(self, result, exc_info)
        except _LOST as exc:
            log.warning("could not send an RPC reply: the broker is unavailable; the caller times out",
                        extra={"error": exc.__class__.__name__})
            return result, exc_info
    wrapper.__wrapped__ = send_response
    wrapper.__doc__ = send_response.__doc__
    return wrapper


def apply() -> None:
    """Idempotent: wrap QueueConsumer.ack_message, requeue_message and Responder.send_response once."""
    for name, what in (("ack_message", "acknowledge"), ("requeue_message", "requeue")):
        method = getattr(QueueConsumer, name)
        if not hasattr(method, "__wrapped__"):
            setattr(QueueConsumer, name, _tolerant(method, what))
    if not hasattr(Responder.send_response, "__wrapped__"):
        Responder.send_response = _tolerant_reply(Responder.send_response)


apply()
