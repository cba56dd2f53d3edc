"""What the devices service tells the rest of Kadra.

Audit events (kadra_defaults.contracts.events: dispatched in the envelope, payload `DevicePayload`),
handled by users in every company of the person:
- `device_paired`   a trusted device was activated;
- `device_removed`  it was removed (from the web, by the app, replaced by a new one, or by a recovery:
                    reason "recovery");
- `device_blocked`  too many wrong PINs blocked it.

E-mail events (kadra_defaults.contracts.mail, published through the outbox):
`device_paired` (every new device), `device_blocked`, and `device_removed` (a recovery removed it).
"""
from kadra_defaults.outbox import mail_event

DEVICE_PAIRED = "device_paired"
DEVICE_REMOVED = "device_removed"
DEVICE_BLOCKED = "device_blocked"
RECOVERY = "recovery"  # the reason of a removal by a password reset or the undo of an e-mail change


def audit_payload(device: dict, reason: str | None = None) -> dict:
    """The payload of an audit event about `device`."""
    payload = {"account_id": device["account_id"], "device_id": device["_id"], "device_name": device["name"],
               "platform": device["platform"]}
    if reason:
        payload["reason"] = reason
    return payload


def _recipient(device: dict) -> dict:
    owner = device.get("owner") or {}
    return {"to": owner.get("email"), "locale": owner.get("locale") or "pl", "full_name": owner.get("full_name") or ""}


def paired_mail(device: dict) -> dict:
    """The notice envelope for a newly activated device."""
    return mail_event(DEVICE_PAIRED, {**_recipient(device), "device_name": device["name"],
                                      "platform": device["platform"], "activated_at": device["activated_at"],
                                      "device_id": device["_id"]})


def blocked_mail(device: dict, blocked_at) -> dict:
    """The notice envelope for a device blocked by wrong PINs."""
    return mail_event(DEVICE_BLOCKED, {**_recipient(device), "device_name": device["name"],
                                       "platform": device["platform"], "blocked_at": blocked_at,
                                       "device_id": device["_id"]})


def removed_mail(device: dict, removed_at, cause: str, recipient: dict) -> dict:
    """The notice envelope for a device a recovery removed, to the address identity names (the owner's now)."""
    return mail_event(DEVICE_REMOVED, {"to": recipient["to"], "locale": recipient.get("locale") or "pl",
                                       "full_name": recipient.get("full_name") or "", "device_name": device["name"],
                                       "platform": device["platform"], "removed_at": removed_at,
                                       "device_id": device["_id"], "cause": cause})
