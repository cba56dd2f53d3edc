"""The identity service's database: the Mongo provider and its store."""
from kadra_defaults.mongo import Mongo, Store


class IdentityStore(Store):
    """Accounts, passwords, sessions and one-time tokens in the identity database."""


def identity_store() -> Mongo:
    """The DependencyProvider that gives each worker a IdentityStore."""
    return Mongo(IdentityStore, service="identity")
