"""The devices service's database: trusted devices and login challenges.

Invariants held by the database itself, not by read-then-write:
- one trusted device per account: a unique index on `account_id`;
- a challenge is consumed at most once: `find_one_and_update` on `used_at: None`;
- wrong PINs are counted only while fewer than MAX_WRONG_PINS: the
  increment's filter says so, so 20 concurrent wrong PINs count exactly 5.
  A device is blocked exactly when `failed_pins >= MAX_WRONG_PINS`.
"""
import hashlib
from datetime import datetime, timedelta

from pymongo import ReturnDocument
from pymongo.errors import DuplicateKeyError  # noqa: F401  (re-exported for the service)

from kadra_defaults.mongo import Mongo, Store
from kadra_defaults.outbox import OUTBOX, PENDING, outbox_fields, with_outbox

MAX_WRONG_PINS = 5
# Spent and expired challenges are kept this long (for the log's sake), then swept.
CHALLENGE_RETENTION = timedelta(hours=1)
# Collections whose documents may carry e-mail envelopes for the outbox relay.
OUTBOX_COLLECTIONS = ("trusted_devices", "removed_devices")


def challenge_digest(challenge: str) -> str:
    """Challenges are stored as their SHA-256 only."""
    return hashlib.sha256(challenge.encode("utf-8")).hexdigest()


def is_blocked(device: dict) -> bool:
    return device.get("failed_pins", 0) >= MAX_WRONG_PINS


class DevicesStore(Store):
    """Trusted devices and their login challenges in the devices database."""

    @classmethod
    def ensure_indexes(cls, db) -> None:
        db.trusted_devices.create_index("account_id", unique=True, name="one_device_per_account")
        db.challenges.create_index("device_id")
        db.challenges.create_index("expires_at")
        db.removed_devices.create_index("account_id")

    # trusted devices

    def insert_device(self, device: dict, *envelopes: dict) -> None:
        """Store a new trusted device with its e-mails (one write); DuplicateKeyError when the account has one."""
        self.db.trusted_devices.insert_one({**device, **outbox_fields(*envelopes)})

    def get_device(self, device_id: str) -> dict | None:
        return self.db.trusted_devices.find_one({"_id": device_id})

    def device_of_account(self, account_id: str) -> dict | None:
        return self.db.trusted_devices.find_one({"account_id": account_id})

    def delete_device(self, device_id: str, now: datetime, reason: str, account_id: str | None = None) -> dict | None:
        """Remove the device (only the account's, when given); the removed document, or None if already gone.

        The removed device is kept in `removed_devices` (history), with any e-mail
        still waiting in its outbox, so the relay publishes it all the same.
        """
        query = {"_id": device_id}
        if account_id is not None:
            query["account_id"] = account_id
        device = self.db.trusted_devices.find_one_and_delete(query)
        if device is not None:
            pending = device.pop(OUTBOX, None) or []
            device.pop(PENDING, None)
            device.pop("pin_hash", None)
            self.db.removed_devices.insert_one({**device, "_id": f"{device['_id']}-{int(now.timestamp() * 1e6)}",
                                                "device_id": device["_id"], "removed_at": now, "reason": reason,
                                                **outbox_fields(*pending)})
        return device

    def set_pin_hash(self, device_id: str, pin_hash: str, expected: str | None, now: datetime) -> bool:
        """Replace the PIN hash only if it is still `expected` (None: first PIN); False if it changed meanwhile."""
        result = self.db.trusted_devices.update_one(
            {"_id": device_id, "pin_hash": expected, "failed_pins": {"$lt": MAX_WRONG_PINS}},
            {"$set": {"pin_hash": pin_hash, "pin_set_at": now, "failed_pins": 0}})
        return result.matched_count == 1

    def set_biometric_key(self, device_id: str, public_key: str | None, now: datetime) -> bool:
        result = self.db.trusted_devices.update_one(
            {"_id": device_id}, {"$set": {"biometric_key": public_key, "biometrics_changed_at": now}})
        return result.matched_count == 1

    def count_wrong_pin(self, device_id: str) -> int | None:
        """Count one wrong PIN; the new count, or None when the device is already blocked (or gone)."""
        device = self.db.trusted_devices.find_one_and_update(
            {"_id": device_id, "failed_pins": {"$lt": MAX_WRONG_PINS}},
            {"$inc": {"failed_pins": 1}}, return_document=ReturnDocument.AFTER)  # (FerretDB: no projection here)
        return None if device is None else device["failed_pins"]

    def mark_blocked(self, device_id: str, now: datetime, *envelopes: dict) -> None:
        """Note when the device got blocked, with the notice e-mail (one write)."""
        self.db.trusted_devices.update_one({"_id": device_id}, with_outbox({"$set": {"blocked_at": now}}, *envelopes))

    def record_login(self, device_id: str, now: datetime, reset_wrong_pins: bool) -> bool:
        """Note a successful login unless the device got blocked meanwhile; False when blocked (or gone)."""
        update = {"last_used_at": now}
        if reset_wrong_pins:
            update["failed_pins"] = 0
        result = self.db.trusted_devices.update_one(
            {"_id": device_id, "failed_pins": {"$lt": MAX_WRONG_PINS}}, {"$set": update})
        return result.matched_count == 1

    def unblock(self, device_id: str, now: datetime) -> bool:
        result = self.db.trusted_devices.update_one(
            {"_id": device_id}, {"$set": {"failed_pins": 0, "blocked_at": None, "unblocked_at": now}})
        return result.matched_count == 1

    # challenges

    def add_challenge(self, device_id: str, challenge: str, expires_at: datetime) -> None:
        """Keep only a hash of the nonce; it is consumed atomically on login."""
        self.db.challenges.insert_one({"_id": challenge_digest(challenge), "device_id": device_id,
                                       "expires_at": expires_at, "used_at": None})

    def consume_challenge(self, challenge: str, now: datetime) -> dict | None:
        """Mark the challenge used, atomically; the challenge as it was, or None if unknown or already used."""
        return self.db.challenges.find_one_and_update(
            {"_id": challenge_digest(challenge), "used_at": None}, {"$set": {"used_at": now}},
            return_document=ReturnDocument.BEFORE)

    def sweep_challenges(self, now: datetime) -> int:
        """Forget challenges that expired more than CHALLENGE_RETENTION ago (no TTL indexes on FerretDB)."""
        return self.db.challenges.delete_many({"expires_at": {"$lt": now - CHALLENGE_RETENTION}}).deleted_count


def devices_store() -> Mongo:
    """The DependencyProvider that gives each worker a DevicesStore."""
    return Mongo(DevicesStore, service="devices")
