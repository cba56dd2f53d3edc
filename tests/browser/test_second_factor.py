"""Two-step login in the browser: set up TOTP on "Moje konto" (QR code and the key as text, a code to confirm,
the recovery codes shown once), log out, log in with a code computed by pyotp as the phone's app would, then
with a recovery code; by keyboard, in Polish, with screenshots."""
import re

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import PASSWORD, log_in, unlabelled_fields
from tests.support.second_factor import Authenticator

pytestmark = [pytest.mark.e2e, pytest.mark.browser]


def _log_out(page):
    page.locator("#company-menu-button").click()
    page.locator("#logout").click()
    page.wait_for_url(re.compile(r"/app/login$"))


def _password_step(page, email):
    page.get_by_label("Adres e-mail:").fill(email)
    page.get_by_label("Hasło:").fill(PASSWORD)
    page.get_by_label("Hasło:").press("Enter")
    expect(page.get_by_role("heading", name="Logowanie dwuetapowe", level=1)).to_be_visible()


def test_enrol_totp_log_out_and_log_in_with_a_code_then_a_recovery_code(page, api, owner, shot, require_routes):
    require_routes("POST /me/second-factor/totp", "POST /me/second-factor/totp/confirm",
                   "POST /auth/login/second-factor")
    log_in(page, owner["email"])
    page.goto("/app/account")
    box = page.locator("#second-factor")
    expect(box.locator("#second-factor-status")).to_have_text("Logowanie dwuetapowe jest wyłączone.")
    start = box.get_by_role("button", name="Włącz logowanie dwuetapowe")
    start.focus()
    page.keyboard.press("Enter")
    qr = box.get_by_role("img", name="Kod QR do aplikacji uwierzytelniającej")
    expect(qr).to_be_visible()
    assert qr.evaluate("img => img.naturalWidth") > 0  # the SVG drew (no outside service: it is a data: URL)
    assert qr.get_attribute("src").startswith("data:image/svg+xml;base64,")
    secret = box.locator("#totp-secret").inner_text().strip()
    assert re.fullmatch(r"[A-Z2-7]{32}", secret)
    code_field = box.get_by_label("Kod z aplikacji:")
    expect(code_field).to_be_focused()
    assert unlabelled_fields(page) == []
    shot(page, "totp-setup-qr")
    app = Authenticator(secret)
    code_field.fill("000000" if app.totp.now() != "000000" else "111111")
    page.keyboard.press("Enter")
    expect(box.locator("[data-field=code] .error")).to_contain_text("Kod jest nieprawidłowy")
    code_field.fill(app.code())
    page.keyboard.press("Enter")
    codes = box.locator("#recovery-codes li")
    expect(codes).to_have_count(10)
    expect(box.locator("#recovery-intro")).to_be_focused()
    recovery = [c.strip() for c in codes.all_inner_texts()]
    shot(page, "totp-recovery-codes")
    box.get_by_role("button", name="Zapisałem kody").click()
    expect(box.locator("#second-factor-status")).to_contain_text("Pozostałe kody zapasowe: 10")

    _log_out(page)
    _password_step(page, owner["email"])
    field = page.get_by_label("Kod z aplikacji:")
    expect(field).to_be_focused()
    shot(page, "login-second-step")
    field.fill(app.code())
    field.press("Enter")
    page.wait_for_url(re.compile(r"/app/$"))
    expect(page.locator("#home-company")).to_contain_text(owner["company_name"])
    shot(page, "logged-in-with-totp")

    # "lose the phone": a recovery code instead, switched to by keyboard
    _log_out(page)
    _password_step(page, owner["email"])
    switch = page.locator("#second-factor-switch")
    switch.focus()
    page.keyboard.press("Enter")
    field = page.get_by_label("Kod zapasowy:")
    expect(field).to_be_focused()
    field.fill(recovery[0])
    shot(page, "login-recovery-code")
    field.press("Enter")
    page.wait_for_url(re.compile(r"/app/$"))
    page.goto("/app/account")
    expect(page.locator("#second-factor-status")).to_contain_text("Pozostałe kody zapasowe: 9")
    shot(page, "account-totp-on")

    # turning it off needs the password and a code; afterwards the password alone logs in
    off = page.locator("#second-factor-off")
    off.get_by_label("Hasło (dla potwierdzenia):").fill(PASSWORD)
    off.get_by_role("button", name="Wyłącz logowanie dwuetapowe").click()
    expect(off.locator("[data-field=code] .error")).to_contain_text("Wpisz aktualny kod")
    off.get_by_label("Kod z aplikacji:").fill(app.code())
    off.get_by_label("Kod z aplikacji:").press("Enter")
    expect(page.locator("#second-factor-status")).to_have_text("Logowanie dwuetapowe jest wyłączone.")
    shot(page, "account-totp-off")
    _log_out(page)
    log_in(page, owner["email"])
