"""Errors notify's RPC raises (first argument: {"detail", "detail_pl", "errors", "status"})."""


class InvalidInput(Exception):
    """The request's arguments are wrong; maps to validation_failed (422)."""
