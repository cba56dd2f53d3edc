"""The devices service's database: the Mongo provider and its store."""
import hashlib

from kadra_defaults.mongo import Mongo, Store


class DevicesStore(Store):
    """Trusted devices and their login challenges in the devices database."""

    @classmethod
    def ensure_indexes(cls, db) -> None:
        db.trusted_devices.create_index("account_id", unique=True)
        db.challenges.create_index("device_id")

    def get_device(self, device_id: str) -> dict | None:
        return self.db.trusted_devices.find_one({"_id": device_id})

    def add_challenge(self, device_id: str, challenge: str, expires_at) -> None:
        """Keep only a hash of the nonce; it is consumed atomically on login."""
        digest = hashlib.sha256(challenge.encode()).hexdigest()
        self.db.challenges.insert_one({"_id": digest, "device_id": device_id, "expires_at": expires_at})


def devices_store() -> Mongo:
    """The DependencyProvider that gives each worker a DevicesStore."""
    return Mongo(DevicesStore, service="devices")
