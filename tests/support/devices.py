"""Helpers for the trusted-device suites: a simulated phone, accounts, the devices log and clock."""
import base64
import json
import os
import uuid
from concurrent.futures import ThreadPoolExecutor

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from tests.support import signup

PASSWORD = "Kadra-test-hasło-2025!"
GOOD_PIN = "482915"
OTHER_PIN = "730164"


def public_b64(private: Ed25519PrivateKey) -> str:
    raw = private.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return base64.b64encode(raw).decode()


def sign(private: Ed25519PrivateKey, challenge: str) -> str:
    return base64.b64encode(private.sign(challenge.encode("utf-8"))).decode()


class Phone:
    """A phone as the server sees it: a device key, maybe a biometric key, and its tokens."""

    def __init__(self, api, name: str = "Pixel 8", platform: str = "android"):
        self.api = api
        self.name = name
        self.platform = platform
        self.key = Ed25519PrivateKey.generate()
        self.biometric = Ed25519PrivateKey.generate()
        self.device_id = None
        self.access_token = None
        self.refresh_token = None

    def activate(self, account: dict, replace: bool | None = None, **overrides):
        body = {"email": account["email"], "password": account["password"], "device_name": self.name,
                "platform": self.platform, "public_key": public_b64(self.key)}
        if replace is not None:
            body["replace"] = replace
        body.update(overrides)
        response = self.api.post(self.api.url("/api/v1/devices/activate"), json=body)
        if response.status_code == 201:
            answer = response.json()
            self.device_id, self.access_token = answer["device_id"], answer["access_token"]
            self.refresh_token = answer["refresh_token"]
        return response

    @property
    def bearer(self) -> dict:
        return {"Authorization": f"Bearer {self.access_token}"}

    def set_pin(self, pin: str = GOOD_PIN, **extra):
        return self.api.put(self.api.url(f"/api/v1/devices/{self.device_id}/pin"), json={"pin": pin, **extra},
                            headers=self.bearer)

    def enable_biometrics(self, pin: str = GOOD_PIN, challenge: str | None = None, key=None, biometric=None):
        """Register the biometric key with the proof it needs: a fresh challenge signed by the device key (or
        `key`), and the PIN."""
        challenge = challenge or self.new_challenge()
        return self.api.put(self.api.url(f"/api/v1/devices/{self.device_id}/biometrics"),
                            json={"public_key": public_b64(biometric or self.biometric), "pin": pin,
                                  "challenge": challenge, "signature": sign(key or self.key, challenge)},
                            headers=self.bearer)

    def disable_biometrics(self):
        return self.api.delete(self.api.url(f"/api/v1/devices/{self.device_id}/biometrics"), headers=self.bearer)

    def challenge(self, device_id: str | None = None):
        return self.api.post(self.api.url(f"/api/v1/devices/{device_id or self.device_id}/challenge"))

    def new_challenge(self) -> str:
        response = self.challenge()
        assert response.status_code == 200, response.text
        return response.json()["challenge"]

    def login_pin(self, pin: str = GOOD_PIN, challenge: str | None = None, key=None):
        challenge = challenge or self.new_challenge()
        return self.api.post(self.api.url(f"/api/v1/devices/{self.device_id}/login"),
                             json={"challenge": challenge, "signature": sign(key or self.key, challenge), "pin": pin})

    def login_biometric(self, challenge: str | None = None, key=None):
        challenge = challenge or self.new_challenge()
        return self.api.post(self.api.url(f"/api/v1/devices/{self.device_id}/login"),
                             json={"challenge": challenge, "biometric_signature": sign(key or self.biometric, challenge)})


def phone_with_pin(api, account: dict, pin: str = GOOD_PIN, name: str = "Pixel 8") -> Phone:
    """A phone activated as the account's trusted device, with its PIN set."""
    phone = Phone(api, name)
    assert phone.activate(account).status_code == 201
    assert phone.set_pin(pin).status_code == 204
    return phone


def sign_up(api, email: str | None = None, password: str = PASSWORD, locale: str = "pl", mailbox=None) -> dict:
    """A new account (and its company, through the e-mailed link); {email, password, account_id, company_id,
    full_name}."""
    email = email or f"dev-{uuid.uuid4().hex[:12]}@example.com"
    full_name = "Anna Testowa"
    made = signup.sign_up(api, email, password, full_name, "Firma Testowa", locale, mailbox)
    return {"email": email, "password": password, "full_name": full_name, **made}


def web_login(api, account: dict) -> dict:
    """Bearer headers of a web (not device-bound) session."""
    response = api.post(api.url("/api/v1/auth/login"), json={"email": account["email"],
                                                             "password": account["password"]})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def concurrently(calls, workers: int = 50) -> list:
    """Run the zero-argument callables at once; their results in order."""
    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(lambda call: call(), calls))


def devices_of(mongo, system_env, account_id: str) -> list[dict]:
    db = mongo[f"{system_env['KADRA_MONGO_DB_PREFIX']}_devices"]
    return list(db.trusted_devices.find({"account_id": account_id}))


def device_doc(mongo, system_env, device_id: str) -> dict | None:
    return mongo[f"{system_env['KADRA_MONGO_DB_PREFIX']}_devices"].trusted_devices.find_one({"_id": device_id})


def devices_log(system, names=("devices",)) -> list[dict]:
    """The JSON log lines so far of the devices service (or of the named processes: another replica's too)."""
    lines = []
    for name in names:
        path = os.path.join(system.log_dir, f"{name}.log")
        if not os.path.exists(path):
            continue
        with open(path, encoding="utf-8", errors="replace") as f:
            for line in f:
                if line.startswith("{"):
                    try:
                        lines.append(json.loads(line))
                    except ValueError:
                        pass
    return lines


def refusals(system, device_id: str, names=("devices",)) -> list[str]:
    """The reasons of the refused logins of this device, as logged."""
    return [entry.get("reason") for entry in devices_log(system, names)
            if entry.get("msg") == "device login refused" and entry.get("device_id") == device_id]


def rpc_client(system_env):
    from gateway.rpc import RpcClient

    return RpcClient(system_env["KADRA_AMQP_URI"], timeout=10)
