"""The identity service: accounts, passwords, sessions and one-time tokens."""
from kadra_defaults.health import HealthMixin
from kadra_defaults.tracing import RequestId

from identity.storage import identity_store


class IdentityService(HealthMixin):
    """RPC entry points of identity."""

    name = "identity"

    store = identity_store()
    request_id = RequestId()
