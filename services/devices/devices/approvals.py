"""The trusted phone approves a web login: the proof devices checks before identity records the decision.

The gateway lists and decides requests for the phone with the device's own token; devices answers for the
phone: it exists, is this account's and is not blocked (`owned_usable`: a blocked device cannot approve, nor
deny, nor list). An approval also needs the same proof as a PIN login (devices.logins), over a message that
binds it to this one request: `kadra-approval.v1.<approval id>.<number>.<challenge>` — the approval id (one
pending login), the two-digit number the person read on the web screen, and a fresh single-use challenge of
this device (its nonce; spent by the attempt, right or wrong). Signed by the device key with the PIN (counted
toward the device's block exactly as a PIN login's), or by the biometric key alone. identity then records
the decision (one wins) and checks the number.
"""
from kadra_defaults import clock

from devices import keys, logins
from devices.exceptions import DeviceBlocked, DeviceNotFound, PinNotSet

PREFIX = "kadra-approval.v1"


def message(approval_id: str, number: str, challenge: str) -> str:
    """What the phone signs to approve one request."""
    return f"{PREFIX}.{approval_id}.{number}.{challenge}"


def owned_usable(deps, account_id: str, device_id: str) -> dict:
    """The account's device, unless it is gone (DeviceNotFound) or blocked (DeviceBlocked)."""
    device = logins.usable(deps.store.get_device(device_id))
    if device.get("account_id") != account_id:
        raise DeviceNotFound()
    return device


def check(deps, data: dict) -> None:
    """The phone's proof for approving `data["approval_id"]` with `data["number"]`; LoginRefused, DeviceBlocked,
    PinNotSet or DeviceNotFound otherwise."""
    device = owned_usable(deps, data["account_id"], data["device_id"])
    signed = message(data["approval_id"], data["number"], data["challenge"])
    pin_check = None
    if data.get("biometric_signature"):
        if not device.get("biometric_key"):
            logins.spend(deps, device, data["challenge"])
            logins.refuse(device, "biometrics_off")
        logins.spend(deps, device, data["challenge"])
        if not keys.signature_matches(device["biometric_key"], signed, data["biometric_signature"]):
            logins.refuse(device, "bad_signature")
    else:
        logins.spend(deps, device, data["challenge"])
        if not keys.signature_matches(device["public_key"], signed, data["signature"]):
            logins.refuse(device, "bad_signature")
        if not device.get("pin_hash"):
            raise PinNotSet()
        pin_check = logins.check_pin(deps, device, data["pin"])
    if not deps.store.record_login(device, clock.now(), pin_check=pin_check):
        raise DeviceBlocked() if deps.store.get_device(device["_id"]) else DeviceNotFound()
