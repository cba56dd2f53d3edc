"""The devices service's database: the Mongo provider and its store."""
from kadra_defaults.mongo import Mongo, Store


class DevicesStore(Store):
    """The one trusted device per account, its keys, PIN and login challenges in the devices database."""


def devices_store() -> Mongo:
    """The DependencyProvider that gives each worker a DevicesStore."""
    return Mongo(DevicesStore, service="devices")
