"""The devices service: the one trusted device per account, its keys, PIN and login challenges."""
from kadra_defaults.health import HealthMixin
from kadra_defaults.tracing import RequestId

from devices.storage import devices_store


class DevicesService(HealthMixin):
    """RPC entry points of devices."""

    name = "devices"

    store = devices_store()
    request_id = RequestId()
