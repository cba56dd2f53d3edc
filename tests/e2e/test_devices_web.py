"""The trusted device seen from the web: list, remove (sessions end at once, audited), activate again."""
import os
import subprocess
import sys
import time

import pytest

from tests.support.devices import Phone, sign_up, web_login
from tests.support.infra import wait_until

pytestmark = pytest.mark.e2e

KADRA_MOBILE = os.path.join(os.path.dirname(sys.executable), "kadra-mobile")


def test_the_web_lists_the_device_with_what_the_person_needs(api):
    account = sign_up(api)
    web = web_login(api, account)
    assert api.get(api.url("/api/v1/me/devices"), headers=web).json() == []
    phone = Phone(api, "Pixel 8", "android")
    assert phone.activate(account).status_code == 201
    assert phone.set_pin().status_code == 204
    assert phone.enable_biometrics().status_code == 204
    assert phone.login_pin().status_code == 200
    (device,) = api.get(api.url("/api/v1/me/devices"), headers=web).json()
    assert device["device_id"] == phone.device_id
    assert (device["name"], device["platform"], device["biometrics"], device["blocked"]) == \
        ("Pixel 8", "android", True, False)
    assert device["activated_at"] and device["last_used_at"]
    assert "public_key" not in device and "pin_hash" not in device


def test_removal_from_the_web_refuses_the_clients_next_call_and_activating_again_works(api, system, tmp_path,
                                                                                        mailbox):
    account = sign_up(api)
    env = dict(os.environ, KADRA_GATEWAY_URL=system.base_url, KADRA_MOBILE_STATE=str(tmp_path / "phone.json"),
               KADRA_MOBILE_PASSWORD=account["password"], KADRA_MOBILE_PIN="482915", KADRA_MOBILE_LANG="en")

    def mobile(*args):
        return subprocess.run([KADRA_MOBILE, *args], env=env, capture_output=True, text=True, timeout=60)

    assert mobile("activate", "--email", account["email"], "--name", "Work phone").returncode == 0
    assert mobile("set-pin").returncode == 0
    assert mobile("status").returncode == 0
    web = web_login(api, account)
    (device,) = api.get(api.url("/api/v1/me/devices"), headers=web).json()
    removed_at = time.monotonic()
    assert api.delete(api.url(f"/api/v1/me/devices/{device['device_id']}"), headers=web).status_code == 204
    # the device's token is refused within a second, so the client's next call is refused
    status = wait_until(lambda: (r := mobile("status")).returncode != 0 and r, 5, interval=0.05,
                        what="kadra-mobile status refused")
    assert time.monotonic() - removed_at < 5
    assert status.returncode == 4, status.stderr
    assert "session" in status.stderr.lower()
    login = mobile("login", "--pin")
    assert login.returncode == 6, login.stderr
    assert "no longer" in login.stderr
    assert api.get(api.url("/api/v1/me/devices"), headers=web).json() == []
    # removing it again: nothing there
    assert api.delete(api.url(f"/api/v1/me/devices/{device['device_id']}"), headers=web).status_code == 404
    # activating again works (a new key, a new device)
    again = mobile("activate", "--email", account["email"], "--name", "Work phone")
    assert again.returncode == 0, again.stderr
    (device_again,) = api.get(api.url("/api/v1/me/devices"), headers=web).json()
    assert device_again["device_id"] != device["device_id"]
    assert mobile("set-pin").returncode == 0
    assert mobile("login", "--pin").returncode == 0


def test_the_device_token_is_refused_within_a_second_of_removal(api):
    account = sign_up(api)
    phone = Phone(api)
    assert phone.activate(account).status_code == 201
    web = web_login(api, account)
    assert api.get(api.url("/api/v1/me/devices"), headers=phone.bearer).status_code == 200
    assert api.delete(api.url(f"/api/v1/me/devices/{phone.device_id}"), headers=web).status_code == 204
    started = time.monotonic()
    wait_until(lambda: api.get(api.url("/api/v1/me/devices"), headers=phone.bearer).status_code == 401, 1.0,
               interval=0.05, what="removed device's token refused")
    assert time.monotonic() - started <= 1.0
    assert phone.challenge().status_code == 404


def test_nobody_removes_or_unblocks_another_persons_device(api, mongo, system_env):
    owner, stranger = sign_up(api), sign_up(api)
    phone = Phone(api)
    assert phone.activate(owner).status_code == 201
    web = web_login(api, stranger)
    assert api.delete(api.url(f"/api/v1/me/devices/{phone.device_id}"), headers=web).status_code == 404
    assert api.post(api.url(f"/api/v1/me/devices/{phone.device_id}/unblock"),
                    json={"password": stranger["password"]}, headers=web).status_code == 404
    assert api.get(api.url("/api/v1/me/devices"), headers=phone.bearer).status_code == 200
    assert api.get(api.url("/api/v1/me/devices")).status_code == 401


def test_pairing_and_removal_land_in_the_companys_audit_log(api):
    account = sign_up(api)
    web = web_login(api, account)
    phone = Phone(api, "Audited phone")
    assert phone.activate(account).status_code == 201
    assert api.delete(api.url(f"/api/v1/me/devices/{phone.device_id}"), headers=web).status_code == 204

    def actions():
        page = api.get(api.url(f"/api/v1/companies/{account['company_id']}/audit"), headers=web)
        assert page.status_code == 200, page.text
        return [item["action"] for item in page.json()["items"]]

    wait_until(lambda: {"device_paired", "device_removed"} <= set(actions()), 10, what="device events audited")
