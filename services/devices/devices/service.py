"""The devices service: the one trusted device per account, its keys, PIN and login challenges."""
import secrets
from datetime import timedelta

from nameko.rpc import rpc

from kadra_defaults.events import utcnow
from kadra_defaults.health import HealthMixin
from kadra_defaults.tracing import RequestId

from devices.exceptions import DeviceNotFound
from devices.storage import devices_store

CHALLENGE_TTL = timedelta(minutes=2)


class DevicesService(HealthMixin):
    """RPC entry points of devices."""

    name = "devices"

    store = devices_store()
    request_id = RequestId()

    @rpc(expected_exceptions=(DeviceNotFound,))
    def issue_challenge(self, device_id: str) -> dict:
        """A single-use nonce for the device to sign."""
        if self.store.get_device(device_id) is None:
            raise DeviceNotFound(device_id)
        challenge = secrets.token_urlsafe(32)
        expires_at = utcnow() + CHALLENGE_TTL
        self.store.add_challenge(device_id, challenge, expires_at)
        return {"challenge": challenge, "expires_in": int(CHALLENGE_TTL.total_seconds())}
