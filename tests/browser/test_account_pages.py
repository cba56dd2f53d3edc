"""Forgot password through the e-mail link, the trusted device removed from "Aplikacja mobilna", company data
with the NIP checked as typed, My account, the docs page, and the working indicator of a slow call."""
import os
import re
import subprocess
import sys
import time

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import PASSWORD, api_login, log_in, relative, token_link, unlabelled_fields
from tests.support import signup

pytestmark = [pytest.mark.e2e, pytest.mark.browser]

NEW_PASSWORD = "Nowe-Hasło-2025!zz"


def test_forgot_password_through_the_email_link(page, api, mailbox, owner, shot, require_routes):
    require_routes("POST /auth/password/forgot", "POST /auth/password/reset")
    page.goto("/app/login")
    page.get_by_role("link", name="przypomnij hasło").click()
    page.wait_for_url(re.compile(r"/app/forgot-password$"))
    expect(page.get_by_role("heading", name="Przypomnij hasło")).to_be_visible()
    page.get_by_label("Adres e-mail:").fill(owner["email"])
    shot(page, "forgot-password")
    page.get_by_role("button", name="Wyślij link").click()
    expect(page.locator("#forgot-sent")).to_contain_text("Jeśli ten adres ma konto")
    shot(page, "forgot-password-sent")

    mail = mailbox.wait_for(owner["email"], count=1, timeout=30)[-1]
    link = token_link(mail, "reset-password")
    page.goto(relative(link))
    expect(page.get_by_role("heading", name="Ustaw nowe hasło")).to_be_visible()
    assert "token=" not in page.url
    # two different passwords are caught before anything is sent
    page.get_by_label("Nowe hasło:", exact=True).fill(NEW_PASSWORD)
    page.get_by_label("Powtórz nowe hasło:").fill(NEW_PASSWORD + "x")
    page.get_by_role("button", name="Ustaw hasło").click()
    expect(page.locator("[data-field=repeat_password] .error")).to_have_text("Hasła się różnią.")
    # a password the API refuses: its message next to the field, in Polish
    page.get_by_label("Nowe hasło:", exact=True).fill("krótkie")
    page.get_by_label("Powtórz nowe hasło:").fill("krótkie")
    page.get_by_role("button", name="Ustaw hasło").click()
    expect(page.locator("[data-field=new_password] .error")).to_contain_text("Hasło")
    shot(page, "reset-password-refused")
    page.get_by_label("Nowe hasło:", exact=True).fill(NEW_PASSWORD)
    page.get_by_label("Powtórz nowe hasło:").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Ustaw hasło").click()
    expect(page.locator("#reset-done")).to_be_visible()
    shot(page, "reset-password-done")

    page.get_by_role("link", name="Przejdź do logowania").click()
    log_in(page, owner["email"], NEW_PASSWORD)
    expect(page.locator("#home-company")).to_contain_text(owner["company_name"])
    shot(page, "logged-in-with-new-password")
    old = api.post(api.url("/api/v1/auth/login"), json={"email": owner["email"], "password": PASSWORD})
    assert old.status_code == 401

    # the link is single-use: opening it again and trying once more is refused, in words
    page.goto(relative(link))
    page.get_by_label("Nowe hasło:", exact=True).fill(NEW_PASSWORD + "2")
    page.get_by_label("Powtórz nowe hasło:").fill(NEW_PASSWORD + "2")
    page.get_by_role("button", name="Ustaw hasło").click()
    expect(page.locator(".form-error")).to_be_visible()
    shot(page, "reset-link-used")


def _activate_with_kadra_mobile(system, owner, tmp_path) -> bool:
    """Activate a "phone" with the devices engineer's client, when it is installed; False when it isn't."""
    binary = os.path.join(os.path.dirname(sys.executable), "kadra-mobile")
    if not os.path.exists(binary):
        return False
    env = dict(os.environ, KADRA_MOBILE_PASSWORD=owner["password"], KADRA_MOBILE_PIN="482915")
    state = str(tmp_path / "phone.json")
    base = [binary, "--gateway", system.base_url, "--state", state, "--lang", "pl"]
    done = subprocess.run(base + ["activate", "--email", owner["email"], "--name", "Pixel 8", "--platform", "android"],
                          env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr
    pin = subprocess.run(base + ["set-pin"], env=env, capture_output=True, text=True, timeout=60)
    assert pin.returncode == 0, pin.stdout + pin.stderr
    bio = subprocess.run(base + ["enable-biometrics"], env=env, capture_output=True, text=True, timeout=60)
    assert bio.returncode == 0, bio.stdout + bio.stderr
    return True


def _activate_through_the_api(api, owner):
    import base64

    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    key = Ed25519PrivateKey.generate()
    raw = key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    response = api.post(api.url("/api/v1/devices/activate"), json={
        "email": owner["email"], "password": owner["password"], "device_name": "Pixel 8", "platform": "android",
        "public_key": base64.b64encode(raw).decode()})
    assert response.status_code == 201, response.text
    answer = response.json()
    pin = api.put(api.url(f"/api/v1/devices/{answer['device_id']}/pin"), json={"pin": "482915"},
                  headers={"Authorization": f"Bearer {answer['access_token']}"})
    assert pin.status_code == 204, pin.text


def test_trusted_device_removed_from_aplikacja_mobilna(page, api, system, owner, shot, require_routes, tmp_path):
    require_routes("POST /devices/activate", "GET /me/devices", "DELETE /me/devices/{device_id}")
    used_client = _activate_with_kadra_mobile(system, owner, tmp_path)
    if not used_client:
        _activate_through_the_api(api, owner)
    headers = api_login(api, owner["email"])
    (device,) = api.get(api.url("/api/v1/me/devices"), headers=headers).json()

    log_in(page, owner["email"])
    page.get_by_role("navigation", name="Menu firmy").get_by_role("button").first.click()
    page.get_by_role("navigation", name="Menu firmy").get_by_role("link", name="Aplikacja mobilna").click()
    page.wait_for_url(re.compile(r"/app/mobile$"))
    expect(page.get_by_role("heading", name="Aplikacja mobilna", level=1)).to_be_visible()
    expect(page.get_by_text("Uwaga – możesz dodać maksymalnie jedno urządzenie mobilne")).to_be_visible()
    facts = page.locator(f"[data-device='{device['device_id']}'] dl")
    expect(facts).to_contain_text("Pixel 8")
    expect(facts).to_contain_text("Android")
    expect(facts).to_contain_text("Aktywowano")
    expect(facts).to_contain_text("Ostatnio używane")
    expect(facts.locator("dt", has_text="Logowanie biometryczne").locator("xpath=following-sibling::dd[1]")).to_have_text(
        "tak" if used_client else "nie")
    expect(facts.locator("dt", has_text="Zablokowane").locator("xpath=following-sibling::dd[1]")).to_have_text("nie")
    shot(page, "mobile-trusted-device")

    page.get_by_role("button", name="Usuń urządzenie").click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_contain_text("Pixel 8")
    shot(page, "mobile-remove-confirm")
    dialog.get_by_role("button", name="Usuń urządzenie").click()
    expect(page.locator("#no-device")).to_have_text("Brak zaufanego urządzenia.")
    expect(page.get_by_text("Urządzenie usunięte.")).to_be_visible()
    shot(page, "mobile-device-removed")
    assert api.get(api.url("/api/v1/me/devices"), headers=headers).json() == []
    if used_client:
        status = subprocess.run([os.path.join(os.path.dirname(sys.executable), "kadra-mobile"), "--gateway",
                                 system.base_url, "--state", str(tmp_path / "phone.json"), "login", "--pin", "482915"],
                                capture_output=True, text=True, timeout=60)
        assert status.returncode != 0, status.stdout  # the removed phone can no longer log in


def test_company_data_nip_checked_as_typed(page, api, owner, shot, require_routes):
    require_routes("GET /companies/{company_id}", "PATCH /companies/{company_id}")
    log_in(page, owner["email"])
    page.goto("/app/settings")
    form = page.locator("#company-form")
    nip = form.get_by_label("NIP:")
    nip.press_sequentially("123-456-32-19")
    expect(form.locator("[data-field=nip] .error")).to_have_text("Nieprawidłowy NIP (błędna suma kontrolna).")
    expect(nip).to_have_attribute("aria-invalid", "true")
    shot(page, "nip-checksum-wrong")
    nip.fill("")
    nip.press_sequentially("12a")
    expect(form.locator("[data-field=nip] .error")).to_have_text("NIP może zawierać tylko cyfry, spacje i myślniki.")
    nip.fill("")
    nip.press_sequentially("123-456-32-18")
    expect(form.locator("[data-field=nip] .error")).to_be_hidden()
    expect(form.get_by_text("NIP poprawny.")).to_be_visible()
    form.get_by_label("Ulica i numer:").fill("ul. Polna 1")
    form.get_by_label("Kod pocztowy:").fill("00-001")
    form.get_by_label("Miejscowość:").fill("Warszawa")
    form.get_by_label("Telefon kontaktowy:").fill("+48 600 100 200")
    assert unlabelled_fields(page) == []
    form.get_by_role("button", name="Zapisz").click()
    expect(page.get_by_text("Dane firmy zapisane.")).to_be_visible()
    shot(page, "company-data-saved")
    saved = api.get(api.url(f"/api/v1/companies/{owner['company_id']}"), headers=api_login(api, owner["email"])).json()
    assert saved["nip"].replace("-", "") == "1234563218"
    assert saved["address"]["city"] == "Warszawa"
    page.reload()
    expect(page.locator("#company-form").get_by_label("Miejscowość:")).to_have_value("Warszawa")


def test_my_account_profile_email_change_and_password(page, api, mailbox, owner, shot, require_routes):
    require_routes("PATCH /me", "POST /me/email", "POST /auth/password/change")
    log_in(page, owner["email"])
    page.get_by_role("navigation", name="Menu firmy").get_by_role("button").first.click()
    page.get_by_role("navigation", name="Menu firmy").get_by_role("link", name="Moje konto").click()
    expect(page.get_by_role("heading", name="Moje konto", level=1)).to_be_visible()
    assert unlabelled_fields(page) == []
    profile = page.locator("#profile-form")
    profile.get_by_label("Imię i nazwisko:").fill("Jan Maria Kowalski")
    profile.get_by_role("button", name="Zapisz").click()
    expect(page.get_by_text("Dane zapisane.")).to_be_visible()

    # the wrong password for an e-mail change: the answer stands next to the form, in Polish
    email_form = page.locator("#email-form")
    new_email = owner["email"].replace("jan.kowalski", "jan.nowy")
    email_form.get_by_label("Nowy adres e-mail:").fill(new_email)
    email_form.get_by_label("Hasło (dla potwierdzenia):").fill("zle-haslo-123456")
    email_form.get_by_role("button", name="Zmień adres e-mail").click()
    expect(email_form.locator(".error:not([hidden]), .form-error:not([hidden])").first).to_be_visible()
    shot(page, "account-email-wrong-password")
    email_form.get_by_label("Hasło (dla potwierdzenia):").fill(PASSWORD)
    email_form.get_by_role("button", name="Zmień adres e-mail").click()
    expect(page.get_by_text(f"Wysłaliśmy link potwierdzający na adres {new_email}")).to_be_visible()
    shot(page, "account-email-change-sent")

    # the confirmation link from the new address's mailbox, opened in the browser
    mail = mailbox.wait_for(new_email, count=1, timeout=30)[-1]
    page.goto(relative(token_link(mail, "confirm-email")))
    page.get_by_role("button", name="Potwierdź zmianę adresu").click()
    expect(page.locator("#link-done")).to_be_visible()
    shot(page, "email-confirmed")
    me = api.get(api.url("/api/v1/me"), headers=api_login(api, new_email)).json()
    assert me["email"] == new_email and me["full_name"] == "Jan Maria Kowalski"

    # the language chosen in the profile switches the page too
    page.evaluate("sessionStorage.clear()")
    log_in(page, new_email)
    page.goto("/app/account")
    page.locator("#profile-form").get_by_label("Język:").select_option("en")
    page.locator("#profile-form").get_by_role("button", name="Zapisz").click()
    expect(page.get_by_role("heading", name="My account", level=1)).to_be_visible()
    shot(page, "account-in-english")


def test_slow_call_shows_the_working_indicator(page, owner, shot, require_routes):
    require_routes("GET /companies/{company_id}/users")
    log_in(page, owner["email"])
    held = []
    page.route(re.compile(r".*/api/v1/companies/[^/]+/users$"), lambda route: held.append(route))
    page.goto("/app/settings")
    busy = page.locator("#busy")
    expect(busy).to_be_visible()
    expect(busy).to_have_text(re.compile("Proszę czekać"))
    shot(page, "working-indicator")
    deadline = time.monotonic() + 10
    while not held and time.monotonic() < deadline:
        page.wait_for_timeout(50)
    for route in held:
        route.continue_()
    page.unroute(re.compile(r".*/api/v1/companies/[^/]+/users$"))
    expect(busy).to_be_hidden()


def test_docs_page_serves_swagger_ui_from_this_gateway(page, system, shot):
    page.goto("/api/docs")
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("Kadra API")
    expect(page.locator(".opblock-tag-section").first).to_be_visible()
    shot(page, "api-docs")
    # the `page` fixture fails the test on any request to another origin


def test_sign_up_page_says_check_your_email_and_the_link_makes_the_owner(page, api, mailbox, shot, require_routes):
    require_routes("POST /accounts", "POST /accounts/confirm")
    page.goto("/app/signup")
    assert unlabelled_fields(page) == []
    page.get_by_label("Imię i nazwisko:").fill("Ewa Zając")
    page.get_by_label("Adres e-mail:").fill("nie-email")
    page.get_by_label("Hasło:").fill(PASSWORD)
    page.get_by_label("Nazwa firmy:").fill("Zając i Syn")
    page.get_by_role("button", name="Załóż konto").click()
    expect(page.locator("[data-field=email] .error")).to_have_text("Nieprawidłowy adres e-mail.")
    shot(page, "signup-invalid-email")
    email = f"ewa.{time.time_ns()}@zajac.pl"
    page.get_by_label("Adres e-mail:").fill(email)
    page.get_by_role("button", name="Załóż konto").click()
    expect(page.locator("#signup-sent")).to_contain_text(f"Sprawdź pocztę: wysłaliśmy wiadomość na adres {email}.")
    assert page.evaluate("sessionStorage.length") == 0  # nobody is logged in before the link
    shot(page, "signup-sent")

    _, mail = signup.wait_for_confirmation(email, mailbox)
    assert mail.subject == "Kadra: potwierdź adres e-mail i załóż konto" and "Zając i Syn" in mail.text
    page.goto(relative(token_link(mail, "confirm-account")))
    page.get_by_role("button", name="Potwierdź i załóż konto").click()
    expect(page.locator("#link-done")).to_be_visible()
    page.get_by_role("link", name="Przejdź do logowania").click()
    log_in(page, email)
    expect(page.locator("#home-company")).to_contain_text("Zając i Syn")
    expect(page.locator("#home-company")).to_contain_text("właściciel / prezes")
    shot(page, "signed-up")


def test_the_confirm_page_says_clearly_when_a_link_is_bad_used_or_incomplete(page, api, mailbox, shot,
                                                                             require_routes):
    require_routes("POST /accounts/confirm")
    page.goto("/app/confirm-account#token=this-link-was-never-sent-by-kadra")
    page.get_by_role("button", name="Potwierdź i załóż konto").click()
    expect(page.locator(".form-error")).to_contain_text("Ten link jest nieprawidłowy, został już użyty lub wygasł.")
    expect(page.locator("#link-done")).to_have_count(0)
    shot(page, "confirm-account-bad-link")
    page.goto("/app/login")
    page.goto("/app/confirm-account")
    expect(page.get_by_role("alert")).to_have_text("Ten link jest niepełny. Otwórz link z e-maila jeszcze raz.")
    # a used link, in English
    email = f"used.{time.time_ns()}@zajac.pl"
    assert signup.request(api, email, PASSWORD, "Ewa Zając", "Zając i Syn", "en").status_code == 202
    _, mail = signup.wait_for_confirmation(email, mailbox)
    assert signup.confirm(api, signup.token_of(mail)).status_code == 200
    page.goto("/app/login")
    page.get_by_role("button", name="English").click()
    page.goto(relative(token_link(mail, "confirm-account")))
    page.get_by_role("button", name="Confirm and create the account").click()
    expect(page.locator(".form-error")).to_contain_text("This link is invalid, used or expired.")


def test_pages_send_no_token_in_a_query_string(page, owner, require_routes):
    require_routes("GET /me")
    seen = []
    page.on("request", lambda request: seen.append(request.url))
    page.goto("/app/reset-password#token=abc123secret")
    expect(page.get_by_role("heading", name="Ustaw nowe hasło")).to_be_visible()
    assert not [u for u in seen if "abc123secret" in u]
    assert "abc123secret" not in page.url


def test_unknown_page_says_so(page):
    response = page.goto("/app/nie-ma-takiej")
    assert response.status == 404
    expect(page.get_by_role("heading", name="Nie ma takiej strony.")).to_be_visible()


def test_logged_out_person_is_sent_to_log_in_and_back(page, owner, new_page, require_routes):
    require_routes("GET /me")
    page.goto("/app/mobile")
    page.wait_for_url(re.compile(r"/app/login$"))
    page.get_by_label("Adres e-mail:").fill(owner["email"])
    page.get_by_label("Hasło:").fill(PASSWORD)
    page.get_by_role("button", name="Zaloguj").click()
    page.wait_for_url(re.compile(r"/app/mobile$"))
    expect(page.get_by_role("heading", name="Aplikacja mobilna", level=1)).to_be_visible()
