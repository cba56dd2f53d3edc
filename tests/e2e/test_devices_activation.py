"""Trusted device activation through the gateway, against the real services: one device per account."""
import base64
import time

import pytest

from tests.support.devices import Phone, concurrently, devices_of, sign_up, web_login
from tests.support.infra import wait_until

pytestmark = pytest.mark.e2e

RUNS = 20
RACERS = 50


def test_fifty_concurrent_activations_store_exactly_one_device_in_each_of_20_runs(api, mongo, system_env):
    account = sign_up(api)
    web = web_login(api, account)
    for run in range(RUNS):
        phones = [Phone(api, name=f"phone-{run}-{i}", platform="ios" if i % 2 else "android") for i in range(RACERS)]
        responses = concurrently([lambda p=p: p.activate(account) for p in phones], workers=RACERS)
        statuses = sorted(r.status_code for r in responses)
        assert statuses == [201] + [409] * (RACERS - 1), f"run {run}: {statuses}"
        stored = devices_of(mongo, system_env, account["account_id"])
        assert len(stored) == 1, f"run {run}: {len(stored)} devices stored"
        winner = next(p for p, r in zip(phones, responses) if r.status_code == 201)
        assert stored[0]["_id"] == winner.device_id
        for response in responses:
            if response.status_code == 409:
                current = response.json()["current_device"]
                assert (current["name"], current["platform"]) == (winner.name, winner.platform)
                assert current["activated_at"]
                assert response.json()["detail_pl"]
        # clear the account for the next run (from the web, as a person would)
        removed = api.delete(api.url(f"/api/v1/me/devices/{winner.device_id}"), headers=web)
        assert removed.status_code == 204, removed.text


def test_second_device_is_refused_without_replace_naming_the_current_one(api):
    account = sign_up(api)
    first, second = Phone(api, "Old iPhone", "ios"), Phone(api, "New Pixel", "android")
    assert first.activate(account).status_code == 201
    refused = second.activate(account)
    assert refused.status_code == 409
    problem = refused.json()
    assert problem["current_device"]["name"] == "Old iPhone"
    assert problem["current_device"]["platform"] == "ios"
    assert "Old iPhone" in problem["detail"] and "Old iPhone" in problem["detail_pl"]
    # the first device is untouched
    assert api.get(api.url("/api/v1/me/devices"), headers=first.bearer).status_code == 200


def test_replace_removes_the_old_device_and_its_tokens_are_refused_within_a_second(api):
    account = sign_up(api)
    old, new = Phone(api, "Old"), Phone(api, "New")
    assert old.activate(account).status_code == 201
    assert api.get(api.url("/api/v1/me/devices"), headers=old.bearer).status_code == 200
    replaced = new.activate(account, replace=True)
    assert replaced.status_code == 201, replaced.text
    started = time.monotonic()
    wait_until(lambda: api.get(api.url("/api/v1/me/devices"), headers=old.bearer).status_code == 401, 1.0,
               interval=0.05, what="the replaced device's token refused")
    assert time.monotonic() - started <= 1.0
    listed = api.get(api.url("/api/v1/me/devices"), headers=new.bearer).json()
    assert [d["device_id"] for d in listed] == [new.device_id]
    assert old.challenge().status_code == 404


def test_concurrent_replacements_leave_one_device_and_refuse_every_other_devices_tokens(api, mongo, system_env):
    account = sign_up(api)
    assert Phone(api, "first").activate(account).status_code == 201
    for run in range(5):
        phones = [Phone(api, f"replacer-{run}-{i}") for i in range(10)]
        responses = concurrently([lambda p=p: p.activate(account, replace=True) for p in phones], workers=10)
        assert all(r.status_code in (201, 409) for r in responses), [r.status_code for r in responses]
        stored = devices_of(mongo, system_env, account["account_id"])
        assert len(stored) == 1
        survivor = stored[0]["_id"]
        winners = [p for p, r in zip(phones, responses) if r.status_code == 201]
        assert survivor in [p.device_id for p in winners]
        for phone in winners:
            expected = 200 if phone.device_id == survivor else 401
            wait_until(lambda: api.get(api.url("/api/v1/me/devices"), headers=phone.bearer).status_code == expected,
                       1.5, interval=0.05, what=f"device {phone.name} token -> {expected}")


def test_wrong_password_activates_nothing(api, mongo, system_env):
    account = sign_up(api)
    response = Phone(api).activate({**account, "password": "not-the-password-1"})
    assert response.status_code == 401
    assert devices_of(mongo, system_env, account["account_id"]) == []


def _key(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


@pytest.mark.parametrize("override,field", [
    ({"public_key": _key(b"\x07" * 31)}, "public_key"),
    ({"public_key": _key(b"\x07" * 33)}, "public_key"),
    ({"public_key": "this is not base64!"}, "public_key"),
    ({"public_key": base64.urlsafe_b64encode(b"\xfb\xff" * 16).decode()}, "public_key"),
    ({"public_key": None}, "public_key"),
    ({"platform": "windows"}, "platform"),
    ({"device_name": ""}, "device_name"),
    ({"email": None}, "email"),
    ({"password": None}, "password"),
    ({"replace": "perhaps"}, "replace"),
])
def test_bad_activation_input_names_the_field_and_stores_nothing(api, mongo, system_env, override, field):
    account = sign_up(api)
    phone = Phone(api)
    body = {"email": account["email"], "password": account["password"], "device_name": "Pixel",
            "platform": "android", "public_key": _key(b"\x01" * 32)}
    body.update(override)
    body = {k: v for k, v in body.items() if v is not None}
    response = api.post(api.url("/api/v1/devices/activate"), json=body)
    assert response.status_code == 422, response.text
    assert response.headers["Content-Type"] == "application/problem+json"
    named = [e["field"] for e in response.json()["errors"]]
    assert field in named
    assert all(e["message_pl"] for e in response.json()["errors"])
    assert devices_of(mongo, system_env, account["account_id"]) == []
    assert phone.device_id is None
