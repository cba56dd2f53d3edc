"""What notify's RPC raises: DomainErrors (kadra_defaults.errors)."""
from kadra_defaults import errors


class InvalidInput(errors.InvalidInput):
    """The request's arguments are wrong; `errors` names the field."""
