"""Helpers for approving web logins on the trusted phone: turning it on, the web's poll, the phone's approval."""
from tests.support.devices import GOOD_PIN, sign

API = "/api/v1"
BROWSER = "Mozilla/5.0 (X11; Linux x86_64) KadraTest/1.0"


def message(approval_id: str, number: str, challenge: str) -> str:
    """What the phone signs to approve (devices/approvals.py)."""
    return f"kadra-approval.v1.{approval_id}.{number}.{challenge}"


def turn_on(api, headers: dict, password: str, **extra):
    return api.post(api.url(f"{API}/me/second-factor/phone"), headers=headers, json={"password": password, **extra})


def login(api, account: dict) -> dict:
    """The pending login a right password answers with phone approval on (from a browser with BROWSER)."""
    response = api.post(api.url(f"{API}/auth/login"), json={"email": account["email"], "password": account["password"]},
                        headers={"User-Agent": BROWSER})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body.get("second_factor_required") is True and "access_token" not in body, body
    return body


def poll(api, pending_token: str):
    return api.post(api.url(f"{API}/auth/login/second-factor"), json={"pending_token": pending_token, "method": "phone"})


def waiting(api, phone):
    return api.get(api.url(f"{API}/devices/{phone.device_id}/approvals"), headers=phone.bearer)


def only_waiting(api, phone) -> dict:
    listed = waiting(api, phone)
    assert listed.status_code == 200, listed.text
    (item,) = listed.json()["approvals"]
    return item


def approve(api, phone, approval_id: str, number: str, pin: str | None = GOOD_PIN, biometric: bool = False,
            challenge: str | None = None):
    challenge = challenge or phone.new_challenge()
    signed = message(approval_id, number, challenge)
    body = {"number": number, "challenge": challenge}
    if biometric:
        body["biometric_signature"] = sign(phone.biometric, signed)
    else:
        body.update(signature=sign(phone.key, signed), pin=pin)
    return api.post(api.url(f"{API}/devices/{phone.device_id}/approvals/{approval_id}/approve"), json=body,
                    headers=phone.bearer)


def deny(api, phone, approval_id: str):
    return api.post(api.url(f"{API}/devices/{phone.device_id}/approvals/{approval_id}/deny"), headers=phone.bearer)


def other_number(number: str) -> str:
    return f"{(int(number) + 1) % 100:02d}"
