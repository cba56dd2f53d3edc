"""nameko DependencyProviders every service uses that are not about storage or contracts."""
from nameko.extensions import DependencyProvider

from kadra_defaults.tracing import REQUEST_ID_KEY, new_request_id, set_request_id


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
