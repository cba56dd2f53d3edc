"""What the devices service raises; the gateway maps each to an HTTP answer (gateway/api/devices.py).

Each exception may carry, as its first argument, a dict
`{"detail", "detail_pl", "errors", "status", "headers", "extra"}` that the
gateway passes through to the problem+json body (gateway/errors.py).
"""


class DevicesError(Exception):
    """Base of the devices service's named errors."""


class InvalidInput(DevicesError):
    """A field is missing or wrong; `errors` names each field (422)."""


class DeviceNotFound(DevicesError):
    """No trusted device with that id, or not the caller's (404)."""


class DeviceAlreadyPaired(DevicesError):
    """The account has a trusted device and `replace` was not true (409, with the current device)."""


class DeviceBlocked(DevicesError):
    """Too many wrong PINs: the device is blocked until unblocked from the web (423)."""


class LoginRefused(DevicesError):
    """A bad signature, a reused, expired or foreign challenge, biometrics off, or a wrong PIN (401)."""


class PasswordRefused(DevicesError):
    """The account password given to confirm a web action is wrong (403)."""


class PinNotSet(DevicesError):
    """The device has no PIN yet: set one before a PIN login (409)."""


class Throttled(DevicesError):
    """identity refused to check the password now: too many attempts (429)."""
