"""What the devices service tells the rest of Kadra.

Audit events (kadra_defaults.contracts.events: dispatched in the envelope, payload `DevicePayload`),
handled by users in every company of the person:
- `device_paired`   a trusted device was activated;
- `device_removed`  it was removed (from the web, by the app, replaced by a new one, or by a recovery:
                    reason "recovery");
- `device_blocked`  too many wrong PINs blocked it.

E-mail events (kadra_defaults.contracts.mail, published through the outbox, each in the same write as its
change): `device_paired` (a new device), `device_replaced` (a new device in place of the old one: names both),
`device_blocked`, and `device_removed` (the person removed it, or a recovery did).

Audit only: `device_unblocked` (the person unblocked it with their password).
"""
from kadra_defaults.outbox import mail_event

DEVICE_PAIRED = "device_paired"
DEVICE_REMOVED = "device_removed"
DEVICE_BLOCKED = "device_blocked"
DEVICE_UNBLOCKED = "device_unblocked"
DEVICE_REPLACED = "device_replaced"
REMOVED = "removed"  # the reason (and the e-mail's cause) of a removal by the person, from the web or the app
REPLACED = "replaced"  # the reason of a removal by the activation of a new device
RECOVERY = "recovery"  # the reason of a removal by a password reset or the undo of an e-mail change


def audit_payload(device: dict, reason: str | None = None) -> dict:
    """The payload of an audit event about `device`."""
    payload = {"account_id": device["account_id"], "device_id": device["_id"], "device_name": device["name"],
               "platform": device["platform"]}
    if reason:
        payload["reason"] = reason
    return payload


def recipient(device: dict) -> dict:
    """The e-mail fields addressing the device's owner (the copy on the device: see logins.with_fresh_owner)."""
    owner = device.get("owner") or {}
    return {"to": owner.get("email"), "locale": owner.get("locale") or "pl", "full_name": owner.get("full_name") or ""}


def paired_mail(device: dict) -> dict:
    """The notice envelope for a newly activated device."""
    return mail_event(DEVICE_PAIRED, {**recipient(device), "device_name": device["name"],
                                      "platform": device["platform"], "activated_at": device["activated_at"],
                                      "device_id": device["_id"]})


def replaced_mail(device: dict, old: dict) -> dict:
    """The notice envelope for a new device activated in place of `old`: it names both phones."""
    return mail_event(DEVICE_REPLACED, {**recipient(device), "device_name": device["name"],
                                        "platform": device["platform"], "old_device_name": old["name"],
                                        "old_platform": old["platform"], "activated_at": device["activated_at"],
                                        "device_id": device["_id"], "old_device_id": old["_id"]})


def blocked_mail(device: dict, blocked_at) -> dict:
    """The notice envelope for a device blocked by wrong PINs."""
    return mail_event(DEVICE_BLOCKED, {**recipient(device), "device_name": device["name"],
                                       "platform": device["platform"], "blocked_at": blocked_at,
                                       "device_id": device["_id"]})


def removed_mail(device: dict, removed_at, cause: str, recipient: dict) -> dict:
    """The notice envelope for a removed device, to `recipient`: the address identity names in a recovery (the
    owner's now), the account's current one when the person removed it."""
    return mail_event(DEVICE_REMOVED, {"to": recipient["to"], "locale": recipient.get("locale") or "pl",
                                       "full_name": recipient.get("full_name") or "", "device_name": device["name"],
                                       "platform": device["platform"], "removed_at": removed_at,
                                       "device_id": device["_id"], "cause": cause})
