"""The notify service's database: the Mongo provider and its store."""
from kadra_defaults.mongo import Mongo, Store


class NotifyStore(Store):
    """E-mail: templates, SMTP, retries and the message log in the notify database."""


def notify_store() -> Mongo:
    """The DependencyProvider that gives each worker a NotifyStore."""
    return Mongo(NotifyStore, service="notify")
