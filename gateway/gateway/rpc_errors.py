"""What an RPC call from the gateway (gateway/rpc.py) can fail with; gateway/errors.py turns each into its
problem answer (503 with Retry-After for the broker or a service out of reach, 504 for no answer in time, the
service's own 4xx for a RemoteError it names)."""

__all__ = ["BrokerUnavailable", "CallTimeout", "RemoteError", "RpcError", "ServiceUnavailable"]


class RpcError(Exception):
    """Base of what a call can raise."""


class BrokerUnavailable(RpcError):
    """The broker can't be reached."""


class _RecentlyFailed(BrokerUnavailable):
    """No connect was tried: one failed less than rpc.RECONNECT_PAUSE ago."""


class ServiceUnavailable(RpcError):
    """No service is bound to answer (it has never started, or its queue is gone)."""

    def __init__(self, service: str):
        super().__init__(service)
        self.service = service


class CallTimeout(RpcError):
    """The service didn't answer in time."""

    def __init__(self, service: str, method: str, timeout: float):
        super().__init__(f"{service}.{method} did not answer within {timeout:g}s")
        self.service = service
        self.method = method


class RemoteError(RpcError):
    """The service answered with an exception."""

    def __init__(self, exc_path: str, exc_type: str, value: str, exc_args: list | None = None):
        super().__init__(f"{exc_path}: {value}")
        self.exc_path = exc_path
        self.exc_type = exc_type
        self.value = value
        self.exc_args = exc_args or []
