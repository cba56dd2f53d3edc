"""Challenges, tokens and ids parse strictly: anything malformed is 401 or 422, never a 500.

`c1.<device>.².n.m` answered 500: `str.isdigit` accepts "²" and `int` does not. Every variant below is
sent to each route that reads a challenge (PIN login, biometric login, the PIN change, the biometric step),
and odd ids to the routes that take one.
"""
import pytest

from tests.support.devices import GOOD_PIN, OTHER_PIN, Phone, sign, sign_up

pytestmark = pytest.mark.e2e

B64_43 = "A" * 43
B64_22 = "B" * 22


def _variants(device_id: str) -> dict[str, str]:
    d = device_id
    return {
        "superscript digit": f"c1.{d}.².n.m",
        "superscript digits, full shape": f"c1.{d}.²³⁴.{B64_43}.{B64_22}",
        "arabic-indic digits": f"c1.{d}.١٧٠٠٠٠٠٠٠٠.{B64_43}.{B64_22}",
        "fullwidth digits": f"c1.{d}.１７００００００００.{B64_43}.{B64_22}",
        "sign": f"c1.{d}.+1700000000.{B64_43}.{B64_22}",
        "negative": f"c1.{d}.-1.{B64_43}.{B64_22}",
        "space": f"c1.{d}. 1700000000.{B64_43}.{B64_22}",
        "underscore": f"c1.{d}.1_700_000_000.{B64_43}.{B64_22}",
        "exponent": f"c1.{d}.1e9.{B64_43}.{B64_22}",
        "huge number": f"c1.{d}.{'9' * 40}.{B64_43}.{B64_22}",
        "far future": f"c1.{d}.99999999999.{B64_43}.{B64_22}",
        "lone surrogate": f"c1.{d}.1700000000.\ud800{B64_43[1:]}.{B64_22}",
        "nul": f"c1.{d}.1700000000.{B64_43}\x00.{B64_22}",
        "non-ascii device": f"c1.²{d[1:]}.1700000000.{B64_43}.{B64_22}",
        "non-ascii nonce": f"c1.{d}.1700000000.ż{B64_43[1:]}.{B64_22}",
        "short nonce": f"c1.{d}.1700000000.AAAA.{B64_22}",
        "six parts": f"c1.{d}.1700000000.{B64_43}.{B64_22}.x",
        "four parts": f"c1.{d}.1700000000.{B64_43}",
        "other version": f"c2.{d}.1700000000.{B64_43}.{B64_22}",
        "dots only": ".....",
        "empty parts": "c1....",
        "one char": "x",
    }


@pytest.fixture(scope="module")
def phone(system):
    import requests

    api = requests.Session()
    api.url = lambda path: system.base_url + path
    phone = Phone(api)
    assert phone.activate(sign_up(api)).status_code == 201
    assert phone.set_pin().status_code == 204
    yield phone
    api.close()


def _routes(api, phone: Phone, challenge: str):
    """Every route that reads a challenge, with this one (signed by the device key, as a client would)."""
    try:
        signature = sign(phone.key, challenge)
    except UnicodeEncodeError:
        signature = "A" * 86 + "=="
    url = api.url(f"/api/v1/devices/{phone.device_id}")
    return {
        "PIN login": lambda: api.post(f"{url}/login", json={"challenge": challenge, "signature": signature,
                                                            "pin": GOOD_PIN}),
        "biometric login": lambda: api.post(f"{url}/login", json={"challenge": challenge,
                                                                  "biometric_signature": signature}),
        "PIN change": lambda: api.put(f"{url}/pin", headers=phone.bearer, json={
            "pin": OTHER_PIN, "current_pin": GOOD_PIN, "challenge": challenge, "signature": signature}),
        "biometric step": lambda: api.put(f"{url}/biometrics", headers=phone.bearer, json={
            "public_key": "Fb1UxVZ6mJ0yF7qgSUm8xK9o0n2v5wq4dJxvZ1c3nBk=", "pin": GOOD_PIN,
            "challenge": challenge, "signature": signature}),
    }


def test_malformed_challenges_are_refused_with_401_or_422_on_every_route(phone):
    api = phone.api
    found = {}
    for what, challenge in _variants(phone.device_id).items():
        for route, call in _routes(api, phone, challenge).items():
            response = call()
            found[(what, route)] = response.status_code
            if response.status_code in (401, 422):
                assert response.headers["Content-Type"] == "application/problem+json"
                assert response.json()["detail_pl"]
    bad = {key: status for key, status in found.items() if status not in (401, 422)}
    assert not bad, bad
    # nothing was counted as a wrong PIN, nothing changed: the PIN still logs in
    assert phone.login_pin().status_code == 200


@pytest.mark.parametrize("device_id", ["²", "٣" * 32, "ab²cd", "a" * 65, "a-b", "a.b", "ż" * 32, "%00"])
def test_odd_device_ids_are_404_or_422_never_500(phone, device_id):
    api = phone.api
    for response in (api.post(api.url(f"/api/v1/devices/{device_id}/challenge")),
                     api.post(api.url(f"/api/v1/devices/{device_id}/login"),
                              json={"challenge": f"c1.{device_id}.1.a.b", "signature": "eA==", "pin": GOOD_PIN})):
        assert response.status_code in (404, 422), (device_id, response.status_code, response.text)
        assert "device_id" in [e["field"] for e in response.json().get("errors", [])]


# A generation of "²" passed str.isdigit and reached int(): a 500 (identity.tokens.refresh_chain now takes ASCII only).
SUPERSCRIPT_GENERATION = "a" * 32 + ".².b" + "c" * 30


@pytest.mark.parametrize("token", [SUPERSCRIPT_GENERATION, "a" * 32 + ".١.b" + "c" * 30,
                                   "a" * 32 + ".+1." + "c" * 30, "a" * 32 + ".9999999999." + "c" * 30,
                                   "²" * 32 + ".0." + "c" * 30, "a" * 32 + ".0.\ud800" + "c" * 30])
def test_malformed_refresh_tokens_are_401(phone, token):
    api = phone.api
    response = api.post(api.url("/api/v1/auth/refresh"), json={"refresh_token": token})
    assert response.status_code == 401, response.text


@pytest.mark.parametrize("pin", ["482915\n", "٤٨٢٩١٥", "４８２９１５", "48291²"])
def test_a_pin_of_anything_but_ascii_digits_is_422_naming_the_pin(api, pin):
    phone = Phone(api)
    assert phone.activate(sign_up(api)).status_code == 201
    response = phone.set_pin(pin)
    assert response.status_code == 422, response.text
    assert [e["field"] for e in response.json()["errors"]] == ["pin"]
    login = api.post(api.url(f"/api/v1/devices/{phone.device_id}/login"),
                     json={"challenge": "c1.x.1.a.b", "signature": "eA==", "pin": pin})
    assert login.status_code == 422 and "pin" in [e["field"] for e in login.json()["errors"]]
