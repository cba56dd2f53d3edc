"""The notify service: e-mail: templates, SMTP, retries and the message log."""
from kadra_defaults.health import HealthMixin
from kadra_defaults.tracing import RequestId

from notify.storage import notify_store


class NotifyService(HealthMixin):
    """RPC entry points of notify."""

    name = "notify"

    store = notify_store()
    request_id = RequestId()
