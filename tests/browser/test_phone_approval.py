"""Approve on the trusted phone, in the browser beside the reference client `kadra-mobile`: turn it on under
"Moje konto" (keyboard, Polish), log out, log in: the page says "Potwierdź logowanie w aplikacji mobilnej" with
the number; the phone lists the request (address, browser) and approves it with that number and the PIN; then
one login denied on the phone, and one left to expire (its stored expiry moved into the past: two minutes of
waiting add nothing). Screenshots of each screen."""
import re
from datetime import datetime, timedelta, timezone

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import PASSWORD, log_in, mobile_client, unlabelled_fields

pytestmark = [pytest.mark.e2e, pytest.mark.browser]

TITLE = "Potwierdź logowanie w aplikacji mobilnej"


def _log_out(page):
    page.locator("#company-menu-button").click()
    page.locator("#logout").click()
    page.wait_for_url(re.compile(r"/app/login$"))


def _password_step(page, email) -> str:
    """Email and password by keyboard; the number the page shows for the phone."""
    page.get_by_label("Adres e-mail:").fill(email)
    page.get_by_label("Hasło:").fill(PASSWORD)
    page.get_by_label("Hasło:").press("Enter")
    expect(page.get_by_role("heading", name=TITLE, level=1)).to_be_visible()
    number = page.locator("#approval-number").inner_text().strip()
    assert re.fullmatch(r"[0-9]{2}", number), number
    expect(page.locator("#phone-approval-status")).to_have_text("Czekamy na potwierdzenie w telefonie…")
    return number


def test_log_in_with_approval_on_the_phone_deny_one_and_let_one_expire(page, system, system_env, mongo, owner, shot,
                                                                       tmp_path, require_routes):
    require_routes("POST /me/second-factor/phone", "GET /devices/{device_id}/approvals",
                   "POST /devices/{device_id}/approvals/{approval_id}/approve")

    phone = mobile_client(system, str(tmp_path / "phone.json"), owner["password"])

    activated = phone("activate", "--email", owner["email"], "--name", "Pixel 8", "--pin", "482915",
                      "--no-biometrics")
    assert activated.returncode == 0, activated.stderr

    # turn it on under "Moje konto", by keyboard
    log_in(page, owner["email"])
    page.goto("/app/account")
    box = page.locator("#phone-factor")
    expect(box.get_by_role("heading", name="Potwierdzanie logowania w aplikacji mobilnej")).to_be_visible()
    expect(box.locator("#phone-factor-status")).to_contain_text("Wyłączone.")
    password = box.get_by_label("Hasło (dla potwierdzenia):")
    password.fill(PASSWORD)
    password.press("Enter")
    expect(box.locator("#phone-factor-status")).to_contain_text("Włączone od")
    expect(box.get_by_role("button", name="Wyłącz potwierdzanie w aplikacji mobilnej")).to_be_visible()
    assert unlabelled_fields(page) == []
    shot(page, "account-phone-approval-on")

    # log in: the page shows the number; the phone sees the request and approves it with the number and the PIN
    _log_out(page)
    number = _password_step(page, owner["email"])
    expect(page.get_by_role("heading", name=TITLE, level=1)).to_be_focused()
    shot(page, "login-phone-approval-waiting")
    listed = phone("approvals")
    assert listed.returncode == 0, listed.stderr
    assert "Logowania czekające na Twoje potwierdzenie" in listed.stdout
    assert "Logowanie w aplikacji webowej Kadra" in listed.stdout and "127.0.0.1" in listed.stdout
    assert "Chrome" in listed.stdout  # the browser, from its User-Agent
    approved = phone("approve", "--number", number, "--pin=482915")
    assert approved.returncode == 0, approved.stderr
    assert "Logowanie potwierdzone" in approved.stdout
    page.wait_for_url(re.compile(r"/app/$"), timeout=15000)
    expect(page.locator("#home-company")).to_contain_text(owner["company_name"])
    shot(page, "logged-in-with-phone-approval")

    # deny one on the phone: the page says so and offers to start again
    _log_out(page)
    _password_step(page, owner["email"])
    denied = phone("approve", "--deny")
    assert denied.returncode == 0 and "Logowanie odrzucone" in denied.stdout, denied.stderr
    status = page.locator("#phone-approval-status")
    expect(status).to_contain_text("Logowanie zostało odrzucone w aplikacji mobilnej", timeout=15000)
    expect(page.locator("#phone-start-again")).to_be_focused()
    shot(page, "login-phone-denied")

    # let one expire: the page says the time ran out; the phone can no longer approve it
    page.locator("#phone-start-again").press("Enter")
    page.wait_for_url(re.compile(r"/app/login$"))
    number = _password_step(page, owner["email"])
    db = mongo[f"{system_env['KADRA_MONGO_DB_PREFIX']}_identity"]
    moved = db.login_approvals.update_many({"account_id": owner["account_id"], "decision": None},
                                           {"$set": {"expires_at": datetime.now(timezone.utc) - timedelta(seconds=1)}})
    assert moved.modified_count == 1
    expect(status).to_contain_text("Czas na potwierdzenie logowania w aplikacji mobilnej minął", timeout=15000)
    shot(page, "login-phone-expired")
    late = phone("approve", "--number", number, "--pin=482915")
    assert late.returncode != 0 and "Żadne logowanie nie czeka" in late.stderr


def test_turning_it_off_on_my_account_waits_for_the_phone(page, system, owner, shot, tmp_path, require_routes):
    require_routes("POST /me/second-factor/phone/disable")
    phone = mobile_client(system, str(tmp_path / "phone.json"), owner["password"])
    assert phone("activate", "--email", owner["email"], "--name", "Pixel 8", "--pin", "482915",
                 "--no-biometrics").returncode == 0
    log_in(page, owner["email"])
    page.goto("/app/account")
    box = page.locator("#phone-factor")
    box.get_by_label("Hasło (dla potwierdzenia):").fill(PASSWORD)
    box.get_by_label("Hasło (dla potwierdzenia):").press("Enter")
    expect(box.locator("#phone-factor-status")).to_contain_text("Włączone od")
    box.get_by_label("Hasło (dla potwierdzenia):").fill(PASSWORD)
    box.get_by_role("button", name="Wyłącz potwierdzanie w aplikacji mobilnej").press("Enter")
    number = box.locator("#phone-off-number")
    expect(number).to_have_text(re.compile(r"^[0-9]{2}$"))
    expect(box.locator("#phone-off-status")).to_have_text("Czekamy na potwierdzenie w telefonie…")
    shot(page, "account-phone-approval-off-waiting")
    listed = phone("approvals")
    assert "Wyłączenie potwierdzania w aplikacji mobilnej" in listed.stdout, listed.stdout + listed.stderr
    approved = phone("approve", "--number", number.inner_text().strip(), "--pin=482915")
    assert approved.returncode == 0, approved.stderr
    expect(box.locator("#phone-factor-status")).to_contain_text("Wyłączone.", timeout=15000)
    expect(box.locator(".notice")).to_have_text("Potwierdzanie logowania w aplikacji mobilnej zostało wyłączone.")
    shot(page, "account-phone-approval-off")
