"""Logging in with the device: single-use challenges, the PIN or the biometric key, wrong PINs and blocking.

The device key is the credential (no token): the app signs a challenge (devices.challenges) with it
and gives the PIN, or signs it with the biometric key alone. A challenge is spent before anything
else is checked, so a refused attempt cannot be replayed. Every PIN check is reserved in a numbered
slot before the PIN is hashed (devices.storage): at most five per epoch are checked at all, however
many arrive at once and on however many replicas; a wrong fifth blocks the device and sends the
notice e-mail, and a right PIN starts the count again.
`deps` is the service worker (store, outbox, identity, events).
"""
import logging
from datetime import timedelta

from prometheus_client import Counter

from kadra_defaults import clock

from devices import activation, challenges, events, keys, pins
from devices.exceptions import DeviceBlocked, DeviceNotFound, LoginRefused, PinNotSet
from devices.storage import MAX_WRONG_PINS, is_blocked

log = logging.getLogger(__name__)

CHALLENGE_TTL = timedelta(minutes=2)

LOGIN_REFUSALS = Counter("kadra_device_login_refusals_total", "Device logins refused", ["reason"])


def usable(device: dict | None) -> dict:
    """The device, or DeviceNotFound when there is none, DeviceBlocked when wrong PINs blocked it."""
    if device is None:
        raise DeviceNotFound()
    if is_blocked(device):
        raise DeviceBlocked()
    return device


def issue_challenge(deps, device_id: str) -> dict:
    """A single-use challenge (a 256-bit nonce, valid 2 minutes, bound to the device) for it to sign."""
    usable(deps.store.device_status(device_id))
    challenge = challenges.issue(deps.store.challenge_key(), device_id, clock.now() + CHALLENGE_TTL)
    return {"challenge": challenge, "expires_in": int(CHALLENGE_TTL.total_seconds())}


def login(deps, data: dict) -> dict:
    """A token pair for a signed challenge: device key + PIN, or the biometric key alone."""
    device_id = data["device_id"]
    device = usable(deps.store.get_device(device_id))
    biometric = bool(data.get("biometric_signature"))
    pin_check = None
    if biometric:
        if not device.get("biometric_key"):
            spend(deps, device, data["challenge"])  # a refused attempt still spends the challenge
            refuse(device, "biometrics_off")
        check_challenge(deps, device, data["challenge"], data["biometric_signature"], device["biometric_key"])
    else:
        check_challenge(deps, device, data["challenge"], data["signature"], device["public_key"])
        if not device.get("pin_hash"):
            raise PinNotSet()
        pin_check = check_pin(deps, device, data["pin"])
    if not deps.store.record_login(device, clock.now(), pin_check=pin_check):
        raise DeviceBlocked() if deps.store.get_device(device_id) else DeviceNotFound()
    tokens = deps.identity.open_session(device["account_id"], device_id=device_id)
    if deps.store.get_device(device_id) is None:
        # Removed while we were logging in: its sessions must not outlive it.
        activation.end_sessions(deps.identity, device_id)
        raise DeviceNotFound()
    log.info("device login", extra={"device_id": device_id, "method": "biometric" if biometric else "pin"})
    return tokens


def refuse(device: dict, reason: str):
    """LoginRefused, counted in the log and the metrics with the reason."""
    LOGIN_REFUSALS.labels(reason).inc()
    log.warning("device login refused", extra={"device_id": device["_id"], "reason": reason})
    raise LoginRefused()


def spend(deps, device: dict, challenge: str) -> None:
    """Check the challenge is genuine, this device's and fresh, and spend it (once); LoginRefused otherwise."""
    reason, expires_at = challenges.check(deps.store.challenge_key(), device["_id"], challenge, clock.now())
    if reason:
        refuse(device, reason)
    if not deps.store.spend_challenge(challenge, expires_at):
        refuse(device, "challenge_reused")


def check_challenge(deps, device: dict, challenge: str, signature: str, public_key: str) -> None:
    """Spend the challenge (atomically, once) and check it is signed by `public_key`."""
    spend(deps, device, challenge)
    if not keys.signature_matches(public_key, challenge, signature):
        refuse(device, "bad_signature")


def check_pin(deps, device: dict, pin: str) -> tuple[int, str]:
    """The (slot, epoch) of a right PIN. Its check is reserved before hashing; a wrong one counts, and a
    wrong fifth blocks the device and sends the notice. With all five slots taken: DeviceBlocked, unchecked."""
    pin_check = deps.store.reserve_pin_check(device, clock.now())
    if pin_check is None:
        LOGIN_REFUSALS.labels("pin_checks_used").inc()
        log.warning("device login refused", extra={"device_id": device["_id"], "reason": "pin_checks_used"})
        raise DeviceBlocked()
    if pins.pin_matches(device["pin_hash"], pin):
        return pin_check
    slot, epoch = pin_check
    deps.store.note_wrong_pin(device["_id"], pin_check)
    LOGIN_REFUSALS.labels("wrong_pin").inc()
    log.warning("device login refused", extra={"device_id": device["_id"], "reason": "wrong_pin", "wrong_pins": slot})
    if slot >= MAX_WRONG_PINS:
        if block(deps, device, epoch):
            raise DeviceBlocked()
        usable(deps.store.device_status(device["_id"]))  # gone or blocked meanwhile: say so
        raise LoginRefused()  # a right PIN started the count again meanwhile: this one was just wrong
    left = MAX_WRONG_PINS - slot
    raise LoginRefused(f"Wrong PIN. {left} attempt(s) left before the device is blocked.",
                       f"Błędny PIN. Pozostało prób przed zablokowaniem urządzenia: {left}.",
                       extra={"attempts_left": left})


def block(deps, device: dict, epoch: str) -> bool:
    """Mark the device blocked with the notice e-mail to its owner (one write), and audit it; False when a
    right PIN (or an unblock) ended the epoch of these wrong PINs first."""
    now = clock.now()
    if not deps.store.mark_blocked(device["_id"], epoch, now,
                                   events.blocked_mail(with_fresh_owner(deps.identity, device), now)):
        log.info("device not blocked: its wrong-PIN count started again meanwhile", extra={"device_id": device["_id"]})
        return False
    deps.outbox.kick()
    deps.events.dispatch(events.DEVICE_BLOCKED, events.audit_payload(device, reason="wrong_pins"))
    log.warning("device blocked", extra={"device_id": device["_id"]})
    return True


def with_fresh_owner(identity, device: dict) -> dict:
    """The device with its owner's current e-mail, name and language (the activation-time copy if identity is slow)."""
    try:
        accounts = identity.get_accounts([device["account_id"]])
    except Exception:  # the notice must go out anyway: the copy taken at activation will do
        log.warning("owner lookup failed; using the activation-time address", extra={"device_id": device["_id"]})
        return device
    for account in accounts or []:
        if account.get("account_id") == device["account_id"] and account.get("email"):
            return {**device, "owner": {"email": account["email"], "full_name": account.get("full_name") or "",
                                        "locale": account.get("locale") or "pl"}}
    return device
