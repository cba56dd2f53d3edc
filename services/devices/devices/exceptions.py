"""What the devices service raises; the gateway maps each to an HTTP answer (gateway/errors.py)."""


class DeviceNotFound(Exception):
    """No trusted device with that id (or not the caller's)."""
