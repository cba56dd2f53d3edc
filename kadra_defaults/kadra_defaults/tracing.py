"""The request id that follows one request through the gateway, every RPC and every event."""
import contextvars
import uuid

from nameko.extensions import DependencyProvider

REQUEST_ID_KEY = "request_id"
_request_id = contextvars.ContextVar("kadra_request_id", default=None)


def current_request_id() -> str | None:
    """The request id of the work in hand, if any."""
    return _request_id.get()


def set_request_id(value: str | None) -> contextvars.Token:
    """Make `value` the current request id (per thread or green thread)."""
    return _request_id.set(value)


def new_request_id() -> str:
    """A fresh request id."""
    return uuid.uuid4().hex


class RequestId(DependencyProvider):
    """Puts the caller's request id (nameko context data) into the logging context of each worker.

    nameko carries context data in message headers through every RPC and
    event, so setting it once at the gateway is enough.
    """

    def worker_setup(self, worker_ctx):
        request_id = worker_ctx.context_data.get(REQUEST_ID_KEY)
        if not request_id:
            request_id = new_request_id()
            worker_ctx.context_data[REQUEST_ID_KEY] = request_id
        set_request_id(request_id)

    def worker_teardown(self, worker_ctx):
        set_request_id(None)

    def get_dependency(self, worker_ctx):
        return worker_ctx.context_data.get(REQUEST_ID_KEY)
