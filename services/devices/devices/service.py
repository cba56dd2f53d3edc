"""The devices service: the one trusted device per account, its keys, PIN and login challenges.

Each entrypoint checks its input (devices.schemas) and hands it to its flow: activation.py (activate,
replace, remove, the view), logins.py (challenges, PIN and biometric login, wrong PINs and blocking),
credentials.py (set the PIN and the biometric key, unblock), approvals.py (the phone's proof when it approves a
web login); activation.py also removes the device
when identity completes a recovery (end_for_recovery).
"""
from nameko.rpc import RpcProxy, rpc
from nameko.timer import timer

from kadra_defaults import clock
from kadra_defaults.contracts.publishing import Events
from kadra_defaults.health import HealthMixin
from kadra_defaults.outbox import Outbox
from kadra_defaults.providers import RequestId

from devices import activation, approvals, credentials, logins, schemas
from devices.exceptions import (DeviceAlreadyPaired, DeviceBlocked, DeviceNotFound, InvalidInput, LoginRefused,
                                PasswordRefused, PinNotSet, Throttled)
from devices.storage import OUTBOX_COLLECTIONS, devices_store


class DevicesService(HealthMixin):
    """RPC entry points of devices."""

    name = "devices"

    store = devices_store()
    outbox = Outbox(collections=OUTBOX_COLLECTIONS, service="devices")
    identity = RpcProxy("identity")
    events = Events()
    request_id = RequestId()

    # activation (the caller checked the account's credentials)

    @rpc(expected_exceptions=(InvalidInput, DeviceAlreadyPaired))
    def activate(self, account: dict, device_name: str, platform: str, public_key: str,
                 replace: bool = False) -> dict:
        """Make a new trusted device for an account whose credentials the caller checked; tokens bound to it."""
        data = schemas.load(schemas.ActivationSchema, {"account": account, "device_name": device_name,
                                                       "platform": platform, "public_key": public_key,
                                                       "replace": replace})
        return activation.activate(self, data)

    # PIN and biometrics (device token)

    @rpc(expected_exceptions=(InvalidInput, DeviceNotFound, DeviceBlocked, LoginRefused))
    def set_pin(self, account_id: str, device_id: str, pin: str, current_pin: str | None = None,
                challenge: str | None = None, signature: str | None = None) -> None:
        """Set the first PIN; changing it needs the current PIN and the device key's signature of a challenge."""
        credentials.set_pin(self, schemas.load(schemas.SetPinSchema, {
            "account_id": account_id, "device_id": device_id, "pin": pin, "current_pin": current_pin,
            "challenge": challenge, "signature": signature}))

    @rpc(expected_exceptions=(InvalidInput, DeviceNotFound, DeviceBlocked, LoginRefused, PinNotSet))
    def set_biometric_key(self, account_id: str, device_id: str, public_key: str, pin: str | None = None,
                          challenge: str | None = None, signature: str | None = None) -> None:
        """Register or replace the biometric key; needs a fresh challenge signed by the device key and the PIN."""
        credentials.set_biometric_key(self, schemas.load(schemas.BiometricKeySchema, {
            "account_id": account_id, "device_id": device_id, "public_key": public_key, "pin": pin,
            "challenge": challenge, "signature": signature}))

    @rpc(expected_exceptions=(InvalidInput, DeviceNotFound, DeviceBlocked))
    def remove_biometric_key(self, account_id: str, device_id: str) -> None:
        """Turn biometric login off."""
        schemas.load(schemas.OwnedDeviceSchema, {"account_id": account_id, "device_id": device_id})
        credentials.remove_biometric_key(self, account_id, device_id)

    # challenge-response login (no token: the device key is the credential)

    @rpc(expected_exceptions=(InvalidInput, DeviceNotFound, DeviceBlocked))
    def issue_challenge(self, device_id: str) -> dict:
        """A single-use challenge (a 256-bit nonce, valid 2 minutes, bound to the device) for it to sign."""
        schemas.load(schemas.DeviceRefSchema, {"device_id": device_id})
        return logins.issue_challenge(self, device_id)

    @rpc(expected_exceptions=(InvalidInput, DeviceNotFound, DeviceBlocked, LoginRefused, PinNotSet))
    def login(self, device_id: str, challenge: str, signature: str | None = None, pin: str | None = None,
              biometric_signature: str | None = None) -> dict:
        """A token pair for a signed challenge: device key + PIN, or the biometric key alone."""
        return logins.login(self, schemas.load(schemas.LoginSchema, {
            "device_id": device_id, "challenge": challenge, "signature": signature, "pin": pin,
            "biometric_signature": biometric_signature}))

    # approving a web login on the phone (device token; identity records the decision)

    @rpc(expected_exceptions=(InvalidInput, DeviceNotFound, DeviceBlocked))
    def approving_device(self, account_id: str, device_id: str) -> None:
        """The device may list and decide the account's login requests: the account's, not blocked."""
        schemas.load(schemas.OwnedDeviceSchema, {"account_id": account_id, "device_id": device_id})
        approvals.owned_usable(self, account_id, device_id)

    @rpc(expected_exceptions=(InvalidInput, DeviceNotFound, DeviceBlocked, LoginRefused, PinNotSet))
    def check_approval(self, account_id: str, device_id: str, approval_id: str, number: str, challenge: str,
                       signature: str | None = None, pin: str | None = None,
                       biometric_signature: str | None = None) -> None:
        """The phone's proof for approving a login request: a fresh challenge signed over the request and the
        number, by the device key with the PIN (counted) or by the biometric key."""
        approvals.check(self, schemas.load(schemas.ApprovalSchema, {
            "account_id": account_id, "device_id": device_id, "approval_id": approval_id, "number": number,
            "challenge": challenge, "signature": signature, "pin": pin, "biometric_signature": biometric_signature}))

    # the person's view from the web (any token of the account)

    @rpc(expected_exceptions=(InvalidInput,))
    def list_devices(self, account_id: str) -> list:
        """The account's trusted device (zero or one), as the person sees it."""
        device = self.store.device_of_account(account_id)
        return [activation.view(device)] if device else []

    @rpc(expected_exceptions=(InvalidInput, DeviceNotFound))
    def remove_device(self, account_id: str, device_id: str) -> None:
        """Remove the device: its sessions end at once, the removal is audited and the person gets a notice."""
        schemas.load(schemas.OwnedDeviceSchema, {"account_id": account_id, "device_id": device_id})
        if not activation.remove_by_person(self, account_id, device_id):
            raise DeviceNotFound()

    @rpc(expected_exceptions=(InvalidInput, DeviceNotFound, PasswordRefused, Throttled))
    def unblock(self, account_id: str, device_id: str, password: str) -> dict:
        """Unblock a device blocked by wrong PINs; needs the account's password."""
        schemas.load(schemas.UnblockSchema, {"account_id": account_id, "device_id": device_id,
                                             "password": password})
        return credentials.unblock(self, account_id, device_id, password)

    # recovery (identity, before it answers a completed reset or an e-mail change undo)

    @rpc(expected_exceptions=(InvalidInput,))
    def end_for_recovery(self, account_id: str, cause: str, recipient: dict, stale_after: float) -> dict:
        """Remove the account's trusted device (audited "recovery", a notice to `recipient`); identity ends
        the sessions of the {"device_ids": [...]} it returns."""
        return activation.end_for_recovery(self, schemas.load(schemas.RecoverySchema, {
            "account_id": account_id, "cause": cause, "recipient": recipient, "stale_after": stale_after}))

    @timer(interval=600)
    def sweep_challenges(self):
        """Forget long-expired challenges and old wrong-PIN slots (no TTL indexes on FerretDB)."""
        self.store.sweep_challenges(clock.now())
