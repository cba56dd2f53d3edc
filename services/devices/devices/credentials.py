"""What unlocks the device, as its owner sets it: the PIN, the biometric key, and unblocking after wrong PINs.

Setting the first PIN needs the device's own token; changing it also needs the current PIN and the
device key's signature of a challenge (devices.logins). Setting or replacing the biometric key needs
the same proof as a PIN login on top of the token — a fresh challenge signed by the device key and the
PIN, counted like a login's (a wrong PIN counts toward the block) — so a stolen device token alone cannot
plant a key that logs in without a PIN. Unblocking is done from the web with the account's password,
which identity checks (and throttles); an unblock of a blocked device is audited (`device_unblocked`) once.
`deps` is the service worker.
"""
import logging
from datetime import timedelta

from nameko.exceptions import RemoteError

from kadra_defaults import clock
from kadra_defaults.errors import field_error

from devices import activation, events, logins, pins
from devices.exceptions import DeviceNotFound, InvalidInput, LoginRefused, PasswordRefused, PinNotSet, Throttled
from devices.storage import is_blocked

log = logging.getLogger(__name__)

PIN_CHANGE_NEEDS = ("current_pin", "challenge", "signature")
UNBLOCK_CLAIM_KEPT = timedelta(days=1)  # an unblock's claim outlives any retry of it


def owned(deps, account_id: str, device_id: str) -> dict:
    """The caller's device (blocked or not), or DeviceNotFound."""
    device = deps.store.get_device(device_id)
    if device is None or device["account_id"] != account_id:
        raise DeviceNotFound()
    return device


def own_usable(deps, account_id: str, device_id: str) -> dict:
    """The caller's device, not blocked."""
    return logins.usable(owned(deps, account_id, device_id))


def set_pin(deps, data: dict) -> None:
    """Set the first PIN; changing it needs the current PIN and the device key's signature of a challenge."""
    account_id, device_id = data["account_id"], data["device_id"]
    device = own_usable(deps, account_id, device_id)
    if device.get("pin_hash"):
        missing = [name for name in PIN_CHANGE_NEEDS if not data.get(name)]
        if missing:
            raise InvalidInput("Changing the PIN needs the current PIN and a signed challenge.",
                               "Zmiana PIN-u wymaga obecnego PIN-u i podpisanego wyzwania.",
                               errors=[field_error(name, "Missing data for required field.", "To pole jest wymagane.")
                                       for name in missing])
        logins.check_challenge(deps, device, data["challenge"], data["signature"], device["public_key"])
        logins.check_pin(deps, device, data["current_pin"])
    new_hash = pins.hash_pin(data["pin"])
    if not deps.store.set_pin_hash(device_id, new_hash, expected=device.get("pin_hash"), now=clock.now()):
        own_usable(deps, account_id, device_id)  # DeviceNotFound or DeviceBlocked if that is why
        raise LoginRefused()  # the PIN changed meanwhile


def set_biometric_key(deps, data: dict) -> None:
    """Register (or replace) the biometric key, proven by a fresh challenge signed by the device key and the PIN."""
    account_id, device_id = data["account_id"], data["device_id"]
    device = own_usable(deps, account_id, device_id)
    if data["public_key"] == device["public_key"]:
        raise InvalidInput("The biometric key must differ from the device key.",
                           "Klucz biometryczny musi być inny niż klucz urządzenia.", field="public_key")
    logins.check_challenge(deps, device, data["challenge"], data["signature"], device["public_key"])
    if not device.get("pin_hash"):
        raise PinNotSet()
    pin_check = logins.check_pin(deps, device, data["pin"])
    if not deps.store.set_biometric_key(device_id, data["public_key"], clock.now(), pin_check=pin_check):
        own_usable(deps, account_id, device_id)  # DeviceNotFound or DeviceBlocked: why it was not set
        raise DeviceNotFound()
    log.info("biometric key set", extra={"device_id": device_id, "replaced": bool(device.get("biometric_key"))})


def remove_biometric_key(deps, account_id: str, device_id: str) -> None:
    """Turn biometric login off."""
    own_usable(deps, account_id, device_id)
    if not deps.store.set_biometric_key(device_id, None, clock.now()):
        own_usable(deps, account_id, device_id)
        raise DeviceNotFound()


def unblock(deps, account_id: str, device_id: str, password: str) -> dict:
    """Unblock a device blocked by wrong PINs once identity confirms the account's password."""
    device = owned(deps, account_id, device_id)
    try:
        matches = deps.identity.check_password(account_id, password)
    except RemoteError as error:
        if error.exc_type == "Throttled":
            raise Throttled() from None
        raise
    if not matches:
        raise PasswordRefused()
    now = clock.now()
    deps.store.unblock(device["_id"], now)
    # One audit entry per block, however many unblocks race: the blocked epoch names the block.
    if is_blocked(device) and deps.store.claim(f"unblock:{device['_id']}:{device.get('pin_epoch')}",
                                               now + UNBLOCK_CLAIM_KEPT):
        deps.events.dispatch_quietly(events.DEVICE_UNBLOCKED, events.audit_payload(device))
    log.info("device unblocked", extra={"device_id": device_id})
    return activation.view(deps.store.get_device(device_id) or device)
