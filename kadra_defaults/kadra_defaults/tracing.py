"""The request id that follows one request through the gateway, every RPC and every event.

Pure Python (the gateway imports it); the nameko provider that reads it from each call is
``kadra_defaults.providers.RequestId``.
"""
import contextvars
import uuid

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
