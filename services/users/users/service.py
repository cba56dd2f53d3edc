"""The users service: companies, memberships, roles, invitations and the audit log."""
from kadra_defaults.health import HealthMixin
from kadra_defaults.tracing import RequestId

from users.storage import users_store


class UsersService(HealthMixin):
    """RPC entry points of users."""

    name = "users"

    store = users_store()
    request_id = RequestId()
