"""The trusted device's life: activation (at most one per account, replaced on request), removal, the view.

`deps` is the service worker: `store`, `outbox` (the notice e-mails), `identity` (sessions bound to the
device) and `events` (audit events). Each step says what happens when it meets a concurrent one.

Recovery (`end_for_recovery`): identity, completing a password reset or the "this wasn't me" undo of an
e-mail change, asks for the account's device to go before it answers (it answers 503 "try again" when
devices does not reply in time, so a recovery never completes with the device left behind); the removal is
audited with the reason "recovery" and the owner gets a notice. A request identity stopped waiting for
(`stale_after`, wall-clock seconds) is not acted on, so a backlog replayed after an outage removes nothing.
"""
import logging
import time

from nameko.exceptions import RemoteError
from pymongo.errors import DuplicateKeyError

from kadra_defaults import clock
from kadra_defaults.storage import new_id

from devices import events, logins
from devices.exceptions import DeviceAlreadyPaired
from devices.storage import is_blocked, new_epoch

log = logging.getLogger("devices.activation")

ACTIVATION_ATTEMPTS = 20
SESSION_END_ATTEMPTS = 3


def _iso(value):
    return value.isoformat() if value is not None else None


def view(device: dict) -> dict:
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


def already_paired(device: dict | None) -> DeviceAlreadyPaired:
    """The refusal of a second device, naming the current one (when there still is one)."""
    if device is None:
        return DeviceAlreadyPaired()
    current = view(device)
    name = f" ({current['name']}, {current['platform']}, {current['activated_at'][:10]})"
    return DeviceAlreadyPaired(
        f"Your account already has a trusted device{name}. At most one device can be linked; "
        "send replace: true to replace it (the old one is logged out at once).",
        f"Do Twojego konta jest już przypisane zaufane urządzenie{name}. Można powiązać najwyżej "
        "jedno urządzenie; wyślij replace: true, aby je zastąpić (stare zostanie od razu wylogowane).",
        extra={"current_device": {k: current[k] for k in ("name", "platform", "activated_at")}})


def new_device(data: dict) -> dict:
    """The document of a device about to be activated (validated by schemas.ActivationSchema)."""
    owner = data["account"]
    return {"_id": new_id(), "account_id": owner["account_id"], "name": data["device_name"].strip(),
            "platform": data["platform"], "public_key": data["public_key"], "biometric_key": None,
            "pin_hash": None, "pin_epoch": new_epoch(), "failed_pins": 0, "blocked_at": None,
            "activated_at": clock.now(), "last_used_at": None,
            "owner": {"email": owner["email"], "full_name": owner.get("full_name") or "",
                      "locale": owner.get("locale") or "pl"}}


def activate(deps, data: dict) -> dict:
    """Store the new device with its notice (replacing the current one when asked), then open its session.

    The unique index on `account_id` lets one device per account in: a losing insert finds the current
    device and either refuses (no `replace`) or removes it and tries again.
    """
    device = new_device(data)
    account_id = device["account_id"]
    replaced = []
    previous = None  # the device this one replaces: its notice names both (instead of the new-device one)
    for _ in range(ACTIVATION_ATTEMPTS):
        try:
            notice = events.replaced_mail(device, previous) if previous else events.paired_mail(device)
            deps.store.insert_device(device, notice)
            break
        except DuplicateKeyError:
            current = deps.store.device_of_account(account_id)
            if current is None:
                continue  # removed meanwhile: try again
            if not data["replace"]:
                raise already_paired(current) from None
            removed = remove(deps, current["_id"], reason=events.REPLACED)
            if removed:
                replaced.append(current["_id"])
                previous = removed
    else:
        raise already_paired(deps.store.device_of_account(account_id))
    deps.outbox.kick()
    tokens = deps.identity.open_session(account_id, device_id=device["_id"])
    if deps.store.get_device(device["_id"]) is None:
        # A concurrent `replace` removed this device before its tokens existed: end them too.
        end_sessions(deps.identity, device["_id"])
        raise already_paired(deps.store.device_of_account(account_id))
    deps.events.dispatch(events.DEVICE_PAIRED, events.audit_payload(device))
    log.info("device activated", extra={"device_id": device["_id"], "account_id": account_id, "replaced": replaced})
    return {"device_id": device["_id"], **tokens, "replaced_device_ids": replaced}


def remove(deps, device_id: str, reason: str, account_id: str | None = None, envelopes: tuple = (),
           sessions: bool = True) -> dict | None:
    """Delete the device, end its sessions, audit it; the removed device, or None if it was gone.

    `envelopes`: e-mails stored with the removal (its notice). `sessions=False`: the caller ends the
    device's sessions itself (identity, in a recovery: it is waiting for this answer).
    """
    device = deps.store.delete_device(device_id, clock.now(), reason, account_id=account_id, envelopes=envelopes)
    if device is None:
        return None
    deps.outbox.kick()
    if sessions:
        end_sessions(deps.identity, device_id)
    deps.events.dispatch(events.DEVICE_REMOVED, events.audit_payload(device, reason=reason))
    log.info("device removed", extra={"device_id": device_id, "reason": reason})
    return device


def remove_by_person(deps, account_id: str, device_id: str) -> dict | None:
    """The person removes their device (web or app): removed as `remove` does, with a notice to the account's
    current address stored in the same write; None when it was not theirs or already gone."""
    device = deps.store.get_device(device_id)
    if device is None or device["account_id"] != account_id:
        return None
    addressed = logins.with_fresh_owner(deps.identity, device)
    notice = events.removed_mail(device, clock.now(), events.REMOVED, events.recipient(addressed))
    return remove(deps, device_id, reason=events.REMOVED, account_id=account_id, envelopes=(notice,))


def end_for_recovery(deps, data: dict) -> dict:
    """Remove the account's trusted device for a recovery; {"device_ids": [...]} whose sessions identity ends."""
    account_id = data["account_id"]
    if time.time() > data["stale_after"]:
        log.warning("recovery request too old: nothing removed", extra={"account_id": account_id})
        return {"device_ids": [], "stale": True}
    removed = []
    for _ in range(ACTIVATION_ATTEMPTS):  # a device activated meanwhile is removed too
        device = deps.store.device_of_account(account_id)
        if device is None:
            break
        notice = events.removed_mail(device, clock.now(), data["cause"], data["recipient"])
        if remove(deps, device["_id"], reason=events.RECOVERY, account_id=account_id, envelopes=(notice,),
                  sessions=False):
            removed.append(device["_id"])
    log.info("recovery: trusted device removed" if removed else "recovery: no trusted device",
             extra={"account_id": account_id, "cause": data["cause"], "device_ids": removed})
    return {"device_ids": removed}


def end_sessions(identity, device_id: str) -> None:
    """End every session of the device (the gateway refuses its tokens within a second).

    Two callers may end the same device's sessions at once (a replacement racing an activation);
    identity's revocation upsert can then lose the race with a duplicate key, and simply trying
    again completes it.
    """
    for attempt in range(SESSION_END_ATTEMPTS):
        try:
            identity.end_sessions(device_id=device_id)
            return
        except RemoteError as error:
            if error.exc_type != "DuplicateKeyError" or attempt == SESSION_END_ATTEMPTS - 1:
                raise
