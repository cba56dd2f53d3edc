"""The devices service: the one trusted device per account, its keys, PIN and login challenges."""
import logging
import uuid
from datetime import timedelta

from nameko.events import EventDispatcher
from nameko.exceptions import RemoteError
from nameko.rpc import RpcProxy, rpc
from nameko.timer import timer
from prometheus_client import Counter

from kadra_defaults.contracts.events import utcnow
from kadra_defaults.health import HealthMixin
from kadra_defaults.outbox import Outbox
from kadra_defaults.providers import RequestId

from devices import challenges, events, keys, pins, schemas
from devices.exceptions import (DeviceAlreadyPaired, DeviceBlocked, DeviceNotFound, InvalidInput, LoginRefused,
                                PasswordRefused, PinNotSet, Throttled)
from devices.storage import (MAX_WRONG_PINS, OUTBOX_COLLECTIONS, DuplicateKeyError, devices_store, is_blocked,
                             new_epoch)

log = logging.getLogger(__name__)

CHALLENGE_TTL = timedelta(minutes=2)
ACTIVATION_ATTEMPTS = 20

LOGIN_REFUSALS = Counter("kadra_device_login_refusals_total", "Device logins refused", ["reason"])

_REFUSED = {"detail": "The login was refused: get a new challenge and sign it with this device.",
            "detail_pl": "Logowanie odrzucone: pobierz nowe wyzwanie i podpisz je tym urządzeniem."}
_BLOCKED = {"status": 423,
            "detail": "This device is blocked after too many wrong PINs. Unblock it on the web "
                      "(Data and settings → Mobile app) with your password, or remove it.",
            "detail_pl": "To urządzenie jest zablokowane po zbyt wielu błędnych PIN-ach. Odblokuj je w aplikacji "
                         "webowej (Dane i ustawienia → Aplikacja mobilna) swoim hasłem albo je usuń."}
_NOT_FOUND = {"detail": "There is no such trusted device.", "detail_pl": "Nie ma takiego zaufanego urządzenia.",
              "errors": [{"field": "device_id", "message": "No such trusted device.",
                          "message_pl": "Nie ma takiego zaufanego urządzenia."}]}


def _iso(value):
    return value.isoformat() if value is not None else None


def device_view(device: dict) -> dict:
    """A trusted device as the person sees it (no keys, no PIN hash)."""
    return {
        "device_id": device["_id"],
        "name": device["name"],
        "platform": device["platform"],
        "activated_at": _iso(device["activated_at"]),
        "last_used_at": _iso(device.get("last_used_at")),
        "biometrics": bool(device.get("biometric_key")),
        "pin_set": bool(device.get("pin_hash")),
        "blocked": is_blocked(device),
        "blocked_at": _iso(device.get("blocked_at")) if is_blocked(device) else None,
    }


def _current_device_conflict(device: dict | None) -> DeviceAlreadyPaired:
    current = device_view(device) if device else None
    extra = {"current_device": {k: current[k] for k in ("name", "platform", "activated_at")}} if current else {}
    name = f" ({current['name']}, {current['platform']}, {current['activated_at'][:10]})" if current else ""
    return DeviceAlreadyPaired({
        "detail": f"Your account already has a trusted device{name}. At most one device can be linked; "
                  "send replace: true to replace it (the old one is logged out at once).",
        "detail_pl": f"Do Twojego konta jest już przypisane zaufane urządzenie{name}. Można powiązać najwyżej "
                     "jedno urządzenie; wyślij replace: true, aby je zastąpić (stare zostanie od razu wylogowane).",
        "extra": extra})


class DevicesService(HealthMixin):
    """RPC entry points of devices."""

    name = "devices"

    store = devices_store()
    outbox = Outbox(collections=OUTBOX_COLLECTIONS, service="devices")
    identity = RpcProxy("identity")
    dispatch = EventDispatcher()
    request_id = RequestId()

    # activation

    @rpc(expected_exceptions=(InvalidInput, DeviceAlreadyPaired))
    def activate(self, account: dict, device_name: str, platform: str, public_key: str,
                 replace: bool = False) -> dict:
        """Make a new trusted device for an account whose credentials the caller checked; tokens bound to it."""
        data = schemas.load(schemas.ActivationSchema, {"account": account, "device_name": device_name,
                                                       "platform": platform, "public_key": public_key,
                                                       "replace": replace})
        owner = data["account"]
        now = utcnow()
        device = {"_id": uuid.uuid4().hex, "account_id": owner["account_id"], "name": data["device_name"].strip(),
                  "platform": data["platform"], "public_key": data["public_key"], "biometric_key": None,
                  "pin_hash": None, "pin_epoch": new_epoch(), "failed_pins": 0, "blocked_at": None,
                  "activated_at": now,
                  "last_used_at": None,
                  "owner": {"email": owner["email"], "full_name": owner.get("full_name") or "",
                            "locale": owner.get("locale") or "pl"}}
        replaced = []
        for _ in range(ACTIVATION_ATTEMPTS):
            try:
                self.store.insert_device(device, events.paired_mail(device))
                break
            except DuplicateKeyError:
                current = self.store.device_of_account(owner["account_id"])
                if current is None:
                    continue  # removed meanwhile: try again
                if not data["replace"]:
                    raise _current_device_conflict(current)
                if self._remove(current["_id"], reason="replaced"):
                    replaced.append(current["_id"])
        else:
            raise _current_device_conflict(self.store.device_of_account(owner["account_id"]))
        self.outbox.kick()
        tokens = self.identity.open_session(owner["account_id"], device_id=device["_id"])
        if self.store.get_device(device["_id"]) is None:
            # A concurrent `replace` removed this device before its tokens existed: end them too.
            self._end_sessions(device["_id"])
            raise _current_device_conflict(self.store.device_of_account(owner["account_id"]))
        self.dispatch(events.DEVICE_PAIRED, events.audit_payload(device))
        log.info("device activated", extra={"device_id": device["_id"], "account_id": owner["account_id"],
                                            "replaced": replaced})
        return {"device_id": device["_id"], **tokens, "replaced_device_ids": replaced}

    # PIN and biometrics (device token)

    @rpc(expected_exceptions=(InvalidInput, DeviceNotFound, DeviceBlocked, LoginRefused))
    def set_pin(self, account_id: str, device_id: str, pin: str, current_pin: str | None = None,
                challenge: str | None = None, signature: str | None = None) -> None:
        """Set the first PIN; changing it needs the current PIN and the device key's signature of a challenge."""
        data = schemas.load(schemas.SetPinSchema, {"account_id": account_id, "device_id": device_id, "pin": pin,
                                                   "current_pin": current_pin, "challenge": challenge,
                                                   "signature": signature})
        device = self._own_device(account_id, device_id)
        if device.get("pin_hash"):
            missing = [f for f in ("current_pin", "challenge", "signature") if not data.get(f)]
            if missing:
                raise InvalidInput({
                    "detail": "Changing the PIN needs the current PIN and a signed challenge.",
                    "detail_pl": "Zmiana PIN-u wymaga obecnego PIN-u i podpisanego wyzwania.",
                    "errors": [{"field": f, "message": "Missing data for required field.",
                                "message_pl": "To pole jest wymagane."} for f in missing]})
            self._check_challenge(device, data["challenge"], data["signature"], device["public_key"])
            self._check_pin(device, data["current_pin"])
        new_hash = pins.hash_pin(data["pin"])
        if not self.store.set_pin_hash(device_id, new_hash, expected=device.get("pin_hash"), now=utcnow()):
            self._own_device(account_id, device_id)  # 404 or 423 if that is why
            raise LoginRefused(_REFUSED)  # the PIN changed meanwhile

    @rpc(expected_exceptions=(InvalidInput, DeviceNotFound, DeviceBlocked))
    def set_biometric_key(self, account_id: str, device_id: str, public_key: str) -> None:
        """Register the biometric key (a second Ed25519 key the phone unlocks only with biometrics)."""
        data = schemas.load(schemas.BiometricKeySchema, {"account_id": account_id, "device_id": device_id,
                                                         "public_key": public_key})
        device = self._own_device(account_id, device_id)
        if data["public_key"] == device["public_key"]:
            raise schemas.invalid("public_key", "The biometric key must differ from the device key.",
                                  "Klucz biometryczny musi być inny niż klucz urządzenia.")
        if not self.store.set_biometric_key(device_id, data["public_key"], utcnow()):
            raise DeviceNotFound(_NOT_FOUND)

    @rpc(expected_exceptions=(InvalidInput, DeviceNotFound, DeviceBlocked))
    def remove_biometric_key(self, account_id: str, device_id: str) -> None:
        """Turn biometric login off."""
        schemas.load(schemas.OwnedDeviceSchema, {"account_id": account_id, "device_id": device_id})
        self._own_device(account_id, device_id)
        if not self.store.set_biometric_key(device_id, None, utcnow()):
            raise DeviceNotFound(_NOT_FOUND)

    # challenge-response login (no token: the device key is the credential)

    @rpc(expected_exceptions=(InvalidInput, DeviceNotFound, DeviceBlocked))
    def issue_challenge(self, device_id: str) -> dict:
        """A single-use challenge (a 256-bit nonce, valid 2 minutes, bound to the device) for it to sign."""
        schemas.load(schemas.DeviceRefSchema, {"device_id": device_id})
        device = self.store.device_status(device_id)
        if device is None:
            raise DeviceNotFound(_NOT_FOUND)
        if is_blocked(device):
            raise DeviceBlocked(_BLOCKED)
        challenge = challenges.issue(self.store.challenge_key(), device_id, utcnow() + CHALLENGE_TTL)
        return {"challenge": challenge, "expires_in": int(CHALLENGE_TTL.total_seconds())}

    @rpc(expected_exceptions=(InvalidInput, DeviceNotFound, DeviceBlocked, LoginRefused, PinNotSet))
    def login(self, device_id: str, challenge: str, signature: str | None = None, pin: str | None = None,
              biometric_signature: str | None = None) -> dict:
        """A token pair for a signed challenge: device key + PIN, or the biometric key alone."""
        data = schemas.load(schemas.LoginSchema, {"device_id": device_id, "challenge": challenge,
                                                  "signature": signature, "pin": pin,
                                                  "biometric_signature": biometric_signature})
        device = self.store.get_device(device_id)
        if device is None:
            raise DeviceNotFound(_NOT_FOUND)
        if is_blocked(device):
            raise DeviceBlocked(_BLOCKED)
        biometric = bool(data.get("biometric_signature"))
        if biometric:
            if not device.get("biometric_key"):
                self._spend(device, data["challenge"])  # a refused attempt still spends the challenge
                self._refuse(device, "biometrics_off")
            self._check_challenge(device, data["challenge"], data["biometric_signature"], device["biometric_key"])
        else:
            self._check_challenge(device, data["challenge"], data["signature"], device["public_key"])
            if not device.get("pin_hash"):
                raise PinNotSet({"status": 409, "detail": "Set a PIN first.", "detail_pl": "Najpierw ustaw PIN."})
            self._check_pin(device, data["pin"])
        if not self.store.record_login(device, utcnow(), reset_wrong_pins=not biometric):
            raise DeviceBlocked(_BLOCKED) if self.store.get_device(device_id) else DeviceNotFound(_NOT_FOUND)
        tokens = self.identity.open_session(device["account_id"], device_id=device_id)
        if self.store.get_device(device_id) is None:
            # Removed while we were logging in: its sessions must not outlive it.
            self._end_sessions(device_id)
            raise DeviceNotFound(_NOT_FOUND)
        log.info("device login", extra={"device_id": device_id, "method": "biometric" if biometric else "pin"})
        return tokens

    # the person's view from the web (any token of the account)

    @rpc(expected_exceptions=(InvalidInput,))
    def list_devices(self, account_id: str) -> list:
        """The account's trusted device (zero or one), as the person sees it."""
        device = self.store.device_of_account(account_id)
        return [device_view(device)] if device else []

    @rpc(expected_exceptions=(InvalidInput, DeviceNotFound))
    def remove_device(self, account_id: str, device_id: str) -> None:
        """Remove the device: its sessions end at once, and the removal is audited."""
        schemas.load(schemas.OwnedDeviceSchema, {"account_id": account_id, "device_id": device_id})
        if not self._remove(device_id, reason="removed", account_id=account_id):
            raise DeviceNotFound(_NOT_FOUND)

    @rpc(expected_exceptions=(InvalidInput, DeviceNotFound, PasswordRefused, Throttled))
    def unblock(self, account_id: str, device_id: str, password: str) -> dict:
        """Unblock a device blocked by wrong PINs; needs the account's password."""
        schemas.load(schemas.UnblockSchema, {"account_id": account_id, "device_id": device_id,
                                             "password": password})
        device = self._owned(account_id, device_id)
        try:
            matches = self.identity.check_password(account_id, password)
        except RemoteError as error:
            if error.exc_type == "Throttled":
                raise Throttled({"status": 429, "headers": {"Retry-After": "60"},
                                 "detail": "Too many password attempts. Try again later.",
                                 "detail_pl": "Zbyt wiele prób podania hasła. Spróbuj ponownie później."}) from None
            raise
        if not matches:
            raise PasswordRefused({"status": 403, "detail": "The password is wrong.",
                                   "detail_pl": "Hasło jest nieprawidłowe.",
                                   "errors": [{"field": "password", "message": "The password is wrong.",
                                               "message_pl": "Hasło jest nieprawidłowe."}]})
        self.store.unblock(device["_id"], utcnow())
        log.info("device unblocked", extra={"device_id": device_id})
        return device_view(self.store.get_device(device_id) or device)

    @timer(interval=600)
    def sweep_challenges(self):
        """Forget long-expired challenges (no TTL indexes on FerretDB)."""
        self.store.sweep_challenges(utcnow())

    # helpers

    def _owned(self, account_id: str, device_id: str) -> dict:
        device = self.store.get_device(device_id)
        if device is None or device["account_id"] != account_id:
            raise DeviceNotFound(_NOT_FOUND)
        return device

    def _own_device(self, account_id: str, device_id: str) -> dict:
        """The caller's device, not blocked."""
        device = self._owned(account_id, device_id)
        if is_blocked(device):
            raise DeviceBlocked(_BLOCKED)
        return device

    def _remove(self, device_id: str, reason: str, account_id: str | None = None) -> dict | None:
        """Delete the device, end its sessions, audit it; the removed device or None if it was gone."""
        device = self.store.delete_device(device_id, utcnow(), reason, account_id=account_id)
        if device is None:
            return None
        self.outbox.kick()
        self._end_sessions(device_id)
        self.dispatch(events.DEVICE_REMOVED, events.audit_payload(device, reason=reason))
        log.info("device removed", extra={"device_id": device_id, "reason": reason})
        return device

    def _end_sessions(self, device_id: str) -> None:
        """End every session of the device (the gateway refuses its tokens within a second).

        Two callers may end the same device's sessions at once (a replacement racing an
        activation); identity's revocation upsert can then lose the race with a duplicate
        key, and simply trying again completes it.
        """
        for attempt in range(3):
            try:
                self.identity.end_sessions(device_id=device_id)
                return
            except RemoteError as error:
                if error.exc_type != "DuplicateKeyError" or attempt == 2:
                    raise

    def _with_fresh_owner(self, device: dict) -> dict:
        """The device with its owner's current e-mail, name and language (the activation-time copy if identity is slow)."""
        try:
            accounts = self.identity.get_accounts([device["account_id"]])
        except Exception:  # the notice must go out anyway: the copy taken at activation will do
            log.warning("owner lookup failed; using the activation-time address", extra={"device_id": device["_id"]})
            return device
        for account in accounts or []:
            if account.get("account_id") == device["account_id"] and account.get("email"):
                return {**device, "owner": {"email": account["email"], "full_name": account.get("full_name") or "",
                                            "locale": account.get("locale") or "pl"}}
        return device

    def _refuse(self, device: dict, reason: str):
        """401, counted in the log and the metrics with the reason."""
        LOGIN_REFUSALS.labels(reason).inc()
        log.warning("device login refused", extra={"device_id": device["_id"], "reason": reason})
        raise LoginRefused(_REFUSED)

    def _spend(self, device: dict, challenge: str) -> None:
        """Check the challenge is genuine, this device's and fresh, and spend it (once); 401 otherwise."""
        now = utcnow()
        reason, expires_at = challenges.check(self.store.challenge_key(), device["_id"], challenge, now)
        if reason:
            self._refuse(device, reason)
        if not self.store.spend_challenge(challenge, device["_id"], expires_at, now):
            self._refuse(device, "challenge_reused")

    def _check_challenge(self, device: dict, challenge: str, signature: str, public_key: str) -> None:
        """Spend the challenge (atomically, once) and check it is signed by `public_key`."""
        self._spend(device, challenge)
        if not keys.signature_matches(public_key, challenge, signature):
            self._refuse(device, "bad_signature")

    def _check_pin(self, device: dict, pin: str) -> None:
        """A wrong PIN counts; the fifth in a row blocks the device (423) and sends the notice."""
        if pins.pin_matches(device["pin_hash"], pin):
            return
        count = self.store.count_wrong_pin(device, utcnow())
        if count is None:  # blocked meanwhile by concurrent wrong PINs: not counted again
            LOGIN_REFUSALS.labels("wrong_pin_while_blocked").inc()
            log.warning("device login refused", extra={"device_id": device["_id"], "reason": "wrong_pin_while_blocked"})
            raise DeviceBlocked(_BLOCKED)
        LOGIN_REFUSALS.labels("wrong_pin").inc()
        log.warning("device login refused", extra={"device_id": device["_id"], "reason": "wrong_pin",
                                                   "wrong_pins": count})
        if count >= MAX_WRONG_PINS:
            now = utcnow()
            self.store.mark_blocked(device["_id"], now, events.blocked_mail(self._with_fresh_owner(device), now))
            self.outbox.kick()
            self.dispatch(events.DEVICE_BLOCKED, events.audit_payload(device, reason="wrong_pins"))
            log.warning("device blocked", extra={"device_id": device["_id"]})
            raise DeviceBlocked(_BLOCKED)
        left = MAX_WRONG_PINS - count
        raise LoginRefused({"detail": f"Wrong PIN. {left} attempt(s) left before the device is blocked.",
                            "detail_pl": f"Błędny PIN. Pozostało prób przed zablokowaniem urządzenia: {left}.",
                            "extra": {"attempts_left": left}})
