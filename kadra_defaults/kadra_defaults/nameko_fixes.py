"""Fixes to nameko 2.14.1, applied when the service defaults are imported.

The first two are the same failure: a broker that goes away while a worker is
finishing makes nameko kill the whole service container. The third makes
nameko's own queues honour KADRA_AMQP_QUEUE_TYPE.

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

3. Quorum queues. nameko declares its RPC queues (`rpc-<service>`), its
event handler queues (`evt-<source>-<event>--<service>.<method>`) and a
service's own reply queue (`rpc.reply-<service>-<uuid>`: durable, expires 5
minutes after its last consumer) as classic queues whatever
KADRA_AMQP_QUEUE_TYPE says. A broker node that dies takes them (and what
they hold) with it, and a durable classic queue whose node is down cannot
even be declared again elsewhere (NOT_FOUND), so the consumer stays stuck.
With KADRA_AMQP_QUEUE_TYPE=quorum we add `x-queue-type: quorum` to every
durable, non-exclusive, non-auto-delete queue nameko declares, as the mail
queues do (contracts/mailbus.py). Why declaration arguments and not the broker: a
policy cannot change a queue's type; a vhost default queue type (RabbitMQ
3.10 has it, set only when the vhost is made: `rabbitmqctl add_vhost
--default-queue-type quorum`) depends on how the operator made the vhost and
cannot be given to `/` after the fact. Reply queues (nameko's
`rpc.reply-*`, the gateway's, the feed's) are exclusive or auto-delete: a
quorum queue can be neither, and they live only as long as their connection,
so they stay classic (nameko's standalone proxies, the gateway's RPC client
and feed). With `classic` (the default) nothing changes.
"""
import logging

from amqp.exceptions import ConnectionError as AmqpConnectionError
from kombu.exceptions import OperationalError
from nameko.events import EventHandler
from nameko.messaging import QueueConsumer
from nameko.rpc import ReplyListener, Responder, RpcConsumer

from kadra_defaults import settings

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


def quorum_if_asked(queue) -> None:
    """Make a kombu Queue a quorum queue when KADRA_AMQP_QUEUE_TYPE=quorum and it can be one."""
    if settings.current().amqp_queue_type != "quorum":
        return
    if not queue.durable or queue.exclusive or queue.auto_delete:
        return  # a reply or broadcast queue: it cannot be a quorum queue, and dies with its connection
    queue.queue_arguments = dict(queue.queue_arguments or {}, **{"x-queue-type": "quorum"})


QUEUE_DECLARERS = (RpcConsumer, EventHandler, ReplyListener)


def _declares_quorum(setup):
    def wrapper(self):
        result = setup(self)
        quorum_if_asked(self.queue)
        return result
    wrapper.__wrapped__ = setup
    wrapper.__doc__ = setup.__doc__
    return wrapper


def apply() -> None:
    """Idempotent: wrap QueueConsumer.ack_message, requeue_message, Responder.send_response and the
    setup of RpcConsumer, EventHandler and ReplyListener (their queue's type) once."""
    for provider in QUEUE_DECLARERS:
        if not hasattr(provider.setup, "__wrapped__"):
            provider.setup = _declares_quorum(provider.setup)
    for name, what in (("ack_message", "acknowledge"), ("requeue_message", "requeue")):
        method = getattr(QueueConsumer, name)
        if not hasattr(method, "__wrapped__"):
            setattr(QueueConsumer, name, _tolerant(method, what))
    if not hasattr(Responder.send_response, "__wrapped__"):
        Responder.send_response = _tolerant_reply(Responder.send_response)


apply()
