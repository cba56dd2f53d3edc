"""The users service's database: the Mongo provider and its store."""
from kadra_defaults.mongo import Mongo, Store


class UsersStore(Store):
    """Companies, memberships, roles, invitations and the audit log in the users database."""


def users_store() -> Mongo:
    """The DependencyProvider that gives each worker a UsersStore."""
    return Mongo(UsersStore, service="users")
