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
- PIN checks are reserved BEFORE the PIN is hashed, in numbered slots
  `<device>:<epoch>:<1..5>` with unique ids (kadra_defaults.storage.AttemptCounter
  in the `wrong_pins` collection): 40 concurrent PIN logins take exactly slots
  1..5, only those five PINs are checked at all, the one in slot 5 blocks the
  device if its PIN is wrong, the rest are refused unchecked (423). A correct
  PIN, a new PIN or an unblock starts a new epoch (the count is back to 0); a
  wrong PIN of an epoch that is no longer current blocks nothing.

An account's device is found by a key document (kit KeyIndex `device-of-account:<account>`), written
before the device and dropped after it; the unique index stays the guarantee of one device per account.

Retention without a scan (kit: due buckets, `expiries`): a spent challenge, a wrong-PIN slot and its
hint, and a removed device's record are made due when written; the sweep reads only the buckets that
ended and deletes by `_id` what its rule allows. A removed device's record goes a day after the removal
(REMOVED_DEVICE_RETENTION: past every access token, 15 min, and challenge, 2 min, that could name it;
its sessions ended with it), once its outbox is empty.
"""
import time
import uuid
from datetime import datetime, timedelta

from pymongo.errors import DuplicateKeyError

from kadra_defaults.outbox import OUTBOX, PENDING, insert_with_outbox, update_with_outbox
from kadra_defaults.storage import (CLAIMS_COLLECTION, AttemptCounter, Expiries, KeyIndex, Mongo, Store, once,
                                    sweep_claims, sweep_expired)

from devices import challenges

MAX_WRONG_PINS = 5
# Spent and expired challenges are kept this long (for the log's sake), then swept.
CHALLENGE_RETENTION = timedelta(hours=1)
# Wrong-PIN slots are swept by age (a blocked device stays blocked by its `blocked_at`).
WRONG_PIN_RETENTION = timedelta(days=90)
# The slots of an epoch a right PIN ended are kept this long (racers still in it find them taken).
ENDED_EPOCH_RETENTION = timedelta(hours=1)
# Collections whose documents may carry e-mail envelopes for the outbox relay.
OUTBOX_COLLECTIONS = ("trusted_devices", "removed_devices")
WRONG_PINS = "wrong_pins"
REMOVED_DEVICE_RETENTION = timedelta(days=1)
KEY_HOLDER_WAIT = 2.0  # seconds an activation that lost the account's key waits for the winner's device
DEVICE_KEYS_MADE = "made:device-keys:v1"  # the marker of the one-off keys for devices from before


def is_blocked(device: dict) -> bool:
    return device.get("blocked_at") is not None


def new_epoch() -> str:
    return uuid.uuid4().hex


def pin_key(device_id: str, epoch: str | None) -> str:
    """The key of a device's PIN checks in one epoch (slots `<key>:<n>`, as before the AttemptCounter)."""
    return f"{device_id}:{epoch or ''}"


class DevicesStore(Store):
    """Trusted devices, spent challenges and wrong-PIN slots in the devices database."""

    _challenge_key: dict = {}

    @classmethod
    def ensure_indexes(cls, db) -> None:
        db.trusted_devices.create_index("account_id", unique=True, name="one_device_per_account")
        db[CLAIMS_COLLECTION].create_index("expires_at")
        db.removed_devices.create_index("account_id")
        db[WRONG_PINS].create_index("expires_at")

        def fill():
            keys = KeyIndex(db, "device-of-account")
            for doc in db.trusted_devices.find({}, {"account_id": 1}):
                keys.put(doc["account_id"], doc["_id"])
        once(db, DEVICE_KEYS_MADE, fill)

    # trusted devices

    @property
    def _device_keys(self) -> KeyIndex:
        return KeyIndex(self.db, "device-of-account")

    def insert_device(self, device: dict, *envelopes: dict) -> None:
        """Store a new trusted device with its e-mails (one write); DuplicateKeyError when the account has one
        (or one is being stored: its key is younger than a few minutes)."""
        account_id = device["account_id"]
        try:
            self._device_keys.take(account_id, device["_id"], load=self.get_device,
                                   holds=lambda held: held.get("account_id") == account_id)
        except DuplicateKeyError:
            # Another activation holds the account's key and its device is being stored: wait for it (a
            # moment at most), so that the caller's refusal can name it, as the unique index made it do.
            deadline = time.monotonic() + KEY_HOLDER_WAIT
            while self.device_of_account(account_id) is None and time.monotonic() < deadline:
                time.sleep(0.02)
            raise
        try:
            insert_with_outbox(self.db.trusted_devices, device, *envelopes)
        except DuplicateKeyError:
            self._device_keys.drop(account_id, device["_id"])
            raise

    def get_device(self, device_id: str) -> dict | None:
        return self.by_key("trusted_devices", device_id)

    def device_of_account(self, account_id: str) -> dict | None:
        """The account's trusted device, or None (its key document, then the device by `_id`)."""
        device_id = self._device_keys.get(account_id) if isinstance(account_id, str) else None
        device = self.get_device(device_id) if device_id else None
        return device if device is not None and device.get("account_id") == account_id else None

    def delete_device(self, device_id: str, now: datetime, reason: str, account_id: str | None = None,
                      envelopes: tuple = ()) -> dict | None:
        """Remove the device (only the account's, when given); the removed document, or None if already gone.

        The removed device is kept in `removed_devices` (history), with any e-mail
        still waiting in its outbox and the `envelopes` of the removal (its notice), so
        the relay publishes them all the same.
        """
        query = {"_id": device_id}
        if account_id is not None:
            query["account_id"] = account_id
        device = self.db.trusted_devices.find_one(query)
        # The remover is whoever deletes it (find_one_and_delete can hand it to two callers on FerretDB).
        if device is not None and self.db.trusted_devices.delete_one({"_id": device_id}).deleted_count == 1:
            self._device_keys.drop(device["account_id"], device_id)
            pending = device.pop(OUTBOX, None) or []
            device.pop(PENDING, None)
            device.pop("pin_hash", None)
            record_id = f"{device['_id']}-{int(now.timestamp() * 1e6)}"
            Expiries(self.db).due("removed_devices", record_id, now + REMOVED_DEVICE_RETENTION)
            insert_with_outbox(self.db.removed_devices, {
                **device, "_id": record_id, "device_id": device["_id"],
                "removed_at": now, "reason": reason}, *pending, *envelopes)
            return device
        return None

    def set_pin_hash(self, device_id: str, pin_hash: str, expected: str | None, now: datetime) -> bool:
        """Replace the PIN hash only if it is still `expected` (None: first PIN); False if it changed meanwhile."""
        result = self.db.trusted_devices.update_one(
            {"_id": device_id, "pin_hash": expected, "blocked_at": None},
            {"$set": {"pin_hash": pin_hash, "pin_set_at": now, "failed_pins": 0, "pin_epoch": new_epoch()}})
        return result.matched_count == 1

    def set_biometric_key(self, device_id: str, public_key: str | None, now: datetime,
                          pin_check: tuple[int, str] | None = None) -> bool:
        """Set (or clear) the biometric key of a device that is not blocked; False when it is blocked or gone.

        `pin_check`: the (slot, epoch) of the right PIN that proved this change: the wrong-PIN count starts again.
        """
        update = {"biometric_key": public_key, "biometrics_changed_at": now}
        if pin_check is not None:
            update.update(failed_pins=0, pin_epoch=new_epoch())
        result = self.db.trusted_devices.update_one({"_id": device_id, "blocked_at": None}, {"$set": update})
        if result.matched_count == 1 and pin_check is not None:
            self._end_pin_epoch(device_id, *pin_check, now)
        return result.matched_count == 1

    def reserve_pin_check(self, device: dict, now: datetime) -> tuple[int, str] | None:
        """Reserve the next PIN check of the device's current epoch, before the PIN is hashed: (slot, epoch).

        None when all MAX_WRONG_PINS slots are taken (the device is blocked, or being blocked by the
        check in slot 5). A correct PIN may have started a new epoch since `device` was read: then the
        reservation is tried once more in that epoch.
        """
        counter = AttemptCounter(self.db, collection=WRONG_PINS)
        expires_at = now + WRONG_PIN_RETENTION
        epoch = device.get("pin_epoch") or ""
        slot = counter.reserve(pin_key(device["_id"], epoch), MAX_WRONG_PINS, expires_at=expires_at)
        if slot is None:
            fresh = self.device_status(device["_id"])
            if fresh is None or is_blocked(fresh) or (fresh.get("pin_epoch") or "") == epoch:
                return None
            epoch = fresh.get("pin_epoch") or ""
            slot = counter.reserve(pin_key(device["_id"], epoch), MAX_WRONG_PINS, expires_at=expires_at)
        return (slot, epoch) if slot is not None else None  # the kit made the slot and its hint due

    def note_wrong_pin(self, device_id: str, pin_check: tuple[int, str]) -> None:
        """The PIN checked in this slot was wrong: the device shows the count (if its epoch is still current)."""
        slot, epoch = pin_check
        self.db.trusted_devices.update_one({"_id": device_id, "pin_epoch": epoch}, {"$max": {"failed_pins": slot}})

    def mark_blocked(self, device_id: str, epoch: str, now: datetime, *envelopes: dict) -> bool:
        """Block the device for the wrong PINs of `epoch`, with the notice e-mail (one write).

        False when that epoch is no longer current (a right PIN, a new PIN or an unblock came first) or the
        device is gone: nothing is blocked then.
        """
        result = update_with_outbox(self.db.trusted_devices, {"_id": device_id, "pin_epoch": epoch, "blocked_at": None},
                                    {"$set": {"blocked_at": now, "failed_pins": MAX_WRONG_PINS}}, *envelopes)
        return result.matched_count == 1

    def record_login(self, device: dict, now: datetime, pin_check: tuple[int, str] | None = None) -> bool:
        """Note a successful login unless the device got blocked meanwhile; False when blocked (or gone).

        `pin_check`: the (slot, epoch) of the right PIN of a PIN login: the wrong-PIN count starts again.
        """
        update = {"last_used_at": now}
        if pin_check is not None:
            update.update(failed_pins=0, pin_epoch=new_epoch())
        result = self.db.trusted_devices.update_one({"_id": device["_id"], "blocked_at": None}, {"$set": update})
        if result.matched_count == 1 and pin_check is not None:
            self._end_pin_epoch(device["_id"], *pin_check, now)
        return result.matched_count == 1

    def _end_pin_epoch(self, device_id: str, slot: int, epoch: str, now: datetime) -> None:
        """A right PIN ended this epoch: its slots 1..`slot` and hint may go with the sweep within the hour.

        Not deleted: a deleted number could be reserved again by a request still in that epoch; kept an
        hour, they stay taken while anyone could still race in it (and a wrong PIN of an ended epoch
        blocks nothing: mark_blocked needs the current epoch). So each PIN login leaves two small
        documents for an hour, not for WRONG_PIN_RETENTION.
        """
        key = pin_key(device_id, epoch)
        soon = {"$set": {"expires_at": now + ENDED_EPOCH_RETENTION}}
        ids = [f"{key}:{n}" for n in range(1, slot + 1)] + [f"{key}#"]
        Expiries(self.db).due_many(WRONG_PINS, ids, now + ENDED_EPOCH_RETENTION)
        for doc_id in ids:
            self.db[WRONG_PINS].update_one({"_id": doc_id}, soon)

    def unblock(self, device_id: str, now: datetime) -> bool:
        result = self.db.trusted_devices.update_one(
            {"_id": device_id}, {"$set": {"failed_pins": 0, "blocked_at": None, "unblocked_at": now,
                                          "pin_epoch": new_epoch()}})
        return result.matched_count == 1

    # challenges (devices.challenges: issued without a write, spent once by a unique insert)

    def device_status(self, device_id: str) -> dict | None:
        """Just enough of the device to issue a challenge: does it exist, is it blocked (and its PIN epoch)."""
        if not isinstance(device_id, str):
            return None
        return self.db.trusted_devices.find_one({"_id": device_id}, {"blocked_at": 1, "pin_epoch": 1})

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

    def _removed_device(self, doc_id: str, bucket_end: datetime) -> bool:
        doc = self.db.removed_devices.find_one({"_id": doc_id})
        if doc is None:
            return
        if doc.get(OUTBOX):  # its e-mails are not published yet: look again in an hour
            Expiries(self.db).due("removed_devices", doc_id, bucket_end + timedelta(hours=1))
            return False
        return self.db.removed_devices.delete_one({"_id": doc_id}).deleted_count == 1

    def sweep_challenges(self, now: datetime) -> dict:
        """Forget spent challenges an hour past their expiry, wrong-PIN slots past theirs, and removed devices'
        records a day after the removal: only what the ended due buckets name (no scan)."""
        return {"challenges": sweep_claims(self.db, now),
                "wrong_pins": sweep_expired(self.db, WRONG_PINS, now),
                "removed_devices": self._sweep_removed(now)}

    def _sweep_removed(self, now: datetime) -> int:
        expiries = Expiries(self.db)
        expiries.adopt_once("removed_devices", "removed_devices",  # records from before, once
                            lambda doc: (doc.get("removed_at") or now) + REMOVED_DEVICE_RETENTION)
        return expiries.sweep("removed_devices", self._removed_device, now)


def devices_store() -> Mongo:
    """The DependencyProvider that gives each worker a DevicesStore."""
    return Mongo(DevicesStore, service="devices")
