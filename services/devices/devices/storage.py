"""The devices service's database: trusted devices, login challenges and wrong-PIN slots.

Invariants held by the database itself, not by read-then-write. FerretDB v1
(the test database) runs findAndModify as a read followed by a write, so two
concurrent `find_one_and_update` calls can both "win" (measured: 4 winners of
20 for one `{used_at: None}` claim, and lost `$inc`s). What is atomic on both
FerretDB and MongoDB is a unique key: an insert that collides fails, and a
delete removes a document for exactly one caller. So:
- one trusted device per account: a unique index on `account_id`;
- a challenge is consumed at most once: the consumer is whoever claims its
  digest first (kadra_defaults.storage.claim; see devices.challenges);
- wrong PINs are counted in numbered slots `<device>:<epoch>:<1..5>` with
  unique ids: 20 concurrent wrong PINs take exactly slots 1..5, the one that
  takes slot 5 blocks the device, the rest find every slot taken (423).
  A correct PIN or an unblock starts a new epoch (the count is back to 0).
"""
import uuid
from datetime import datetime, timedelta

from pymongo.errors import DuplicateKeyError

from kadra_defaults.outbox import OUTBOX, PENDING, outbox_fields, with_outbox
from kadra_defaults.storage import CLAIMS_COLLECTION, Mongo, Store, sweep_claims

from devices import challenges

MAX_WRONG_PINS = 5
# Spent and expired challenges are kept this long (for the log's sake), then swept.
CHALLENGE_RETENTION = timedelta(hours=1)
# Wrong-PIN slots are swept by age (a blocked device stays blocked by its `blocked_at`).
WRONG_PIN_RETENTION = timedelta(days=90)
# Collections whose documents may carry e-mail envelopes for the outbox relay.
OUTBOX_COLLECTIONS = ("trusted_devices", "removed_devices")


def is_blocked(device: dict) -> bool:
    return device.get("blocked_at") is not None


def new_epoch() -> str:
    return uuid.uuid4().hex


class DevicesStore(Store):
    """Trusted devices, spent challenges and wrong-PIN slots in the devices database."""

    _challenge_key: dict = {}

    @classmethod
    def ensure_indexes(cls, db) -> None:
        db.trusted_devices.create_index("account_id", unique=True, name="one_device_per_account")
        db[CLAIMS_COLLECTION].create_index("expires_at")
        db.removed_devices.create_index("account_id")
        db.wrong_pins.create_index("device_id")

    # trusted devices

    def insert_device(self, device: dict, *envelopes: dict) -> None:
        """Store a new trusted device with its e-mails (one write); DuplicateKeyError when the account has one."""
        self.db.trusted_devices.insert_one({**device, **outbox_fields(*envelopes)})

    def get_device(self, device_id: str) -> dict | None:
        return self.by_key("trusted_devices", device_id)

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
        device = self.db.trusted_devices.find_one(query)
        # The remover is whoever deletes it (find_one_and_delete can hand it to two callers on FerretDB).
        if device is not None and self.db.trusted_devices.delete_one({"_id": device_id}).deleted_count == 1:
            pending = device.pop(OUTBOX, None) or []
            device.pop(PENDING, None)
            device.pop("pin_hash", None)
            self.db.removed_devices.insert_one({**device, "_id": f"{device['_id']}-{int(now.timestamp() * 1e6)}",
                                                "device_id": device["_id"], "removed_at": now, "reason": reason,
                                                **outbox_fields(*pending)})
            return device
        return None

    def set_pin_hash(self, device_id: str, pin_hash: str, expected: str | None, now: datetime) -> bool:
        """Replace the PIN hash only if it is still `expected` (None: first PIN); False if it changed meanwhile."""
        result = self.db.trusted_devices.update_one(
            {"_id": device_id, "pin_hash": expected, "blocked_at": None},
            {"$set": {"pin_hash": pin_hash, "pin_set_at": now, "failed_pins": 0, "pin_epoch": new_epoch()}})
        return result.matched_count == 1

    def set_biometric_key(self, device_id: str, public_key: str | None, now: datetime) -> bool:
        result = self.db.trusted_devices.update_one(
            {"_id": device_id}, {"$set": {"biometric_key": public_key, "biometrics_changed_at": now}})
        return result.matched_count == 1

    def count_wrong_pin(self, device: dict, now: datetime) -> int | None:
        """Count one wrong PIN in the first free slot; the slot number, or None when all are taken (blocked)."""
        epoch = device.get("pin_epoch") or ""
        for slot in range(1, MAX_WRONG_PINS + 1):
            try:
                self.db.wrong_pins.insert_one({"_id": f"{device['_id']}:{epoch}:{slot}", "device_id": device["_id"],
                                               "epoch": epoch, "slot": slot, "at": now})
            except DuplicateKeyError:
                continue
            self.db.trusted_devices.update_one({"_id": device["_id"], "pin_epoch": epoch},
                                               {"$max": {"failed_pins": slot}})
            return slot
        return None

    def all_slots_taken(self, device: dict) -> bool:
        """The last wrong-PIN slot of the device's current epoch is taken: it is (being) blocked."""
        slot_id = f"{device['_id']}:{device.get('pin_epoch') or ''}:{MAX_WRONG_PINS}"
        return self.db.wrong_pins.find_one({"_id": slot_id}, {"_id": 1}) is not None

    def mark_blocked(self, device_id: str, now: datetime, *envelopes: dict) -> None:
        """Note when the device got blocked, with the notice e-mail (one write)."""
        self.db.trusted_devices.update_one(
            {"_id": device_id}, with_outbox({"$set": {"blocked_at": now, "failed_pins": MAX_WRONG_PINS}}, *envelopes))

    def record_login(self, device: dict, now: datetime, reset_wrong_pins: bool) -> bool:
        """Note a successful login unless the device got blocked meanwhile; False when blocked (or gone)."""
        if self.all_slots_taken(device):
            return False
        update = {"last_used_at": now}
        if reset_wrong_pins and device.get("failed_pins"):
            update.update(failed_pins=0, pin_epoch=new_epoch())
        result = self.db.trusted_devices.update_one({"_id": device["_id"], "blocked_at": None}, {"$set": update})
        return result.matched_count == 1

    def unblock(self, device_id: str, now: datetime) -> bool:
        result = self.db.trusted_devices.update_one(
            {"_id": device_id}, {"$set": {"failed_pins": 0, "blocked_at": None, "unblocked_at": now,
                                          "pin_epoch": new_epoch()}})
        return result.matched_count == 1

    # challenges (devices.challenges: issued without a write, spent once by a unique insert)

    def device_status(self, device_id: str) -> dict | None:
        """Just enough of the device to issue a challenge: does it exist, is it blocked."""
        return self.db.trusted_devices.find_one({"_id": device_id}, {"blocked_at": 1})

    def challenge_key(self) -> bytes:
        """The service's HMAC key for challenges, made once and shared by every replica (cached per process)."""
        key = DevicesStore._challenge_key.get(self.db.name)
        if key is None:
            found = self.db.secrets.find_one({"_id": "challenge_key"})
            if found is None:
                try:
                    self.db.secrets.insert_one({"_id": "challenge_key", "key": challenges.new_key()})
                except DuplicateKeyError:
                    pass  # another replica made it first: use theirs
                found = self.db.secrets.find_one({"_id": "challenge_key"})
            key = DevicesStore._challenge_key[self.db.name] = bytes(found["key"])
        return key

    def spend_challenge(self, challenge: str, expires_at: datetime) -> bool:
        """True for exactly one caller per challenge; False when it was spent before (kept an hour past expiry)."""
        return self.claim(f"challenge:{challenges.digest(challenge)}", expires_at + CHALLENGE_RETENTION)

    def sweep_challenges(self, now: datetime) -> int:
        """Forget challenges that expired long ago, and old wrong-PIN slots (no TTL indexes on FerretDB)."""
        self.db.wrong_pins.delete_many({"at": {"$lt": now - WRONG_PIN_RETENTION}})
        return sweep_claims(self.db, now)


def devices_store() -> Mongo:
    """The DependencyProvider that gives each worker a DevicesStore."""
    return Mongo(DevicesStore, service="devices")
