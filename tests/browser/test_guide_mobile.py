"""The guide's Part 2 on the web page "Aplikacja mobilna", read as its reader would, in Polish and English.

The page shows the guide's steps with the store links this installation sets (KADRA_APP_STORE_URL,
KADRA_PLAY_STORE_URL: a second gateway of the session's system is started with them; the session's own
gateway has none, and draws no link), says that activating a new phone replaces the old one, and gives the
guide's note on a forgotten e-mail (Dane i ustawienia → Użytkownicy, where the link leads) and password.
A phone driven by the reference client `kadra-mobile` is blocked by five wrong PINs, told where to unblock
it, and unblocked from the page's dialog, which explains what unblocking does.
"""
import re

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import PASSWORD, log_in, mobile_client
from tests.support.infra import free_port, wait_until
from tests.support.systems import System

pytestmark = [pytest.mark.e2e, pytest.mark.browser]

APP_STORE = "https://apps.apple.com/pl/app/kadra/id6450000000"
PLAY_STORE = "https://play.google.com/store/apps/details?id=pl.kadra.mobile"

PL = {
    "menu": "Menu firmy", "mobile": "Aplikacja mobilna", "switch": "English",
    "step1": "Pobierz aplikację mobilną na swój telefon z Google Play lub App Store.",
    "stores": "Pobierz aplikację", "play": "Pobierz aplikację z Google Play", "apple": "Pobierz aplikację z App Store",
    "done": "To wszystko! Gratulujemy!",
    "change": "W każdej chwili możesz zmienić zaufane urządzenie lub je usunąć.",
    "replace": "Aby zmienić urządzenie, aktywuj aplikację na nowym telefonie i potwierdź zastąpienie: nowe urządzenie "
               "zastąpi dotychczasowe, które zostanie od razu wylogowane. Urządzenie możesz też w każdej chwili usunąć "
               "poniżej.",
    "forgot_email": "Jeśli nie pamiętasz adresu e-mail, którym logujesz się w aplikacji: znajdziesz go w "
                    "Dane i ustawienia → Użytkownicy. Twój adres e-mail (login) to {email}.",
    "users_place": "Dane i ustawienia → Użytkownicy", "remind": "przypomnij hasło",
    "unblock": "Odblokuj", "unblock_title": "Odblokowanie urządzenia – {name}",
    "unblock_text": "Urządzenie zostało zablokowane po 5 błędnych PIN-ach. Podaj swoje hasło, aby je odblokować: PIN "
                    "pozostaje ten sam, a licznik błędnych prób zaczyna się od zera. Jeśli to nie Ty wpisywałeś(-aś) "
                    "PIN, nie odblokowuj go – usuń urządzenie.",
    "password": "Hasło (dla potwierdzenia):", "cancel": "Anuluj", "unblocked": "Urządzenie odblokowane.",
    "blocked": "Zablokowane", "yes": "tak",
}
EN = {
    "menu": "Company menu", "mobile": "Mobile app", "switch": "Polski",
    "step1": "Download the mobile app to your phone from Google Play or the App Store.",
    "stores": "Download the app", "play": "Download the app from Google Play",
    "apple": "Download the app from the App Store",
    "done": "That's all! Congratulations!",
    "change": "You can change the trusted device, or remove it, at any time.",
    "replace": "To change the device, activate the app on the new phone and confirm the replacement: the new device "
               "replaces the current one, which is logged out at once. You can also remove the device below at any "
               "time.",
    "forgot_email": "If you don't remember the e-mail address you log in to the app with: it is shown under "
                    "Data and settings → Users. Your e-mail address (login) is {email}.",
    "users_place": "Data and settings → Users", "remind": "remind password",
    "unblock": "Unblock", "unblock_title": "Unblocking the device – {name}",
    "unblock_text": "The device was blocked after 5 wrong PINs. Give your password to unblock it: the PIN stays the "
                    "same and the count of wrong attempts starts again from zero. If it wasn't you who typed the PINs, "
                    "don't unblock it – remove the device.",
    "password": "Password (to confirm):", "cancel": "Cancel", "unblocked": "The device has been unblocked.",
    "blocked": "Blocked", "yes": "yes",
}


@pytest.fixture(scope="module")
def store_gateway(system, tmp_path_factory):
    """A second gateway of the session's system (its services, broker and keys), started with the store links."""
    env = dict(system.env, KADRA_APP_STORE_URL=APP_STORE, KADRA_PLAY_STORE_URL=PLAY_STORE,
               KADRA_GATEWAY_SPOOL_DIR=str(tmp_path_factory.mktemp("stores-spool")))
    gateway = System(env, str(tmp_path_factory.mktemp("stores-logs")), gateway_port=free_port(), health_ports={},
                     gateway_workers=1)
    gateway.start_gateway()
    try:
        wait_until(lambda: gateway.readyz(timeout=2)[0] == 200, 60, interval=0.3,
                   what="the gateway with the store links ready")
        yield gateway.base_url
    finally:
        gateway.stop()


def open_mobile_page(page, L):
    """Aplikacja mobilna: its own item of the menu next to the company's name."""
    menu = page.get_by_role("navigation", name=L["menu"])
    menu.get_by_role("button").first.click()
    menu.get_by_role("link", name=L["mobile"]).click()
    page.wait_for_url(re.compile(r"/app/mobile$"))
    expect(page.get_by_role("heading", name=L["mobile"], level=1)).to_be_visible()


def check_guide(page, L, email, stores: bool):
    guide = page.locator("section.guide")
    expect(guide.locator("ol.steps li").first).to_have_text(L["step1"])
    if stores:
        links = page.get_by_role("navigation", name=L["stores"])
        expect(links.get_by_role("link")).to_have_count(2)
        expect(links.get_by_role("link", name=L["play"])).to_have_attribute("href", PLAY_STORE)
        expect(links.get_by_role("link", name=L["apple"])).to_have_attribute("href", APP_STORE)
    else:
        expect(page.locator("#store-links")).to_have_count(0)
        expect(page.get_by_role("link", name=re.compile("Google Play|App Store"))).to_have_count(0)
    expect(guide.locator(".congrats")).to_have_text(L["done"])
    expect(guide.get_by_text(L["change"], exact=True)).to_be_visible()
    expect(guide.locator("#mobile-replace")).to_have_text(L["replace"])
    expect(guide.locator("#forgot-email")).to_have_text(L["forgot_email"].format(email=email))
    expect(guide.locator("#forgot-password").get_by_role("link", name=L["remind"])).to_have_attribute(
        "href", "/app/forgot-password")


def test_part_2_on_the_mobile_page_with_the_store_links_in_polish_and_english(new_page, owner, shot, store_gateway):
    page = new_page(base_url=store_gateway)
    log_in(page, owner["email"])
    open_mobile_page(page, PL)
    check_guide(page, PL, owner["email"], stores=True)
    shot(page, "mobile-guide-store-links")

    # the forgotten e-mail: the link opens the very place the guide names, with the person's e-mail in the table
    page.locator("#forgot-email").get_by_role("link", name=PL["users_place"]).click()
    page.wait_for_url(re.compile(r"/app/settings#users$"))
    expect(page.locator("#users-section[open]")).to_have_count(1)
    expect(page.locator("table.users tbody tr").first.locator("td").nth(2)).to_have_text(owner["email"])

    page.get_by_role("button", name=PL["switch"]).click()
    open_mobile_page(page, EN)
    check_guide(page, EN, owner["email"], stores=True)
    page.locator("#store-links").get_by_role("link", name=EN["play"]).focus()  # keyboard-reachable
    shot(page, "mobile-guide-store-links-en")


def test_the_store_links_are_not_drawn_when_the_installation_sets_none(page, owner, shot):
    log_in(page, owner["email"])
    open_mobile_page(page, PL)
    check_guide(page, PL, owner["email"], stores=False)
    shot(page, "mobile-guide-no-store-links")


def test_a_phone_blocked_by_wrong_pins_is_unblocked_from_the_dialog_that_explains_it(page, system, owner, shot,
                                                                                     tmp_path):
    phone = mobile_client(system, str(tmp_path / "phone.json"), owner["password"])

    activated = phone("activate", "--email", owner["email"], "--name", "Pixel 8", "--pin", "482915",
                      "--no-biometrics")
    assert activated.returncode == 0, activated.stderr
    assert activated.stdout.strip().splitlines()[-1] == "To wszystko! Gratulujemy!"
    for _ in range(4):
        assert phone("login", "--pin", "950173").returncode == 4
    blocked = phone("login", "--pin", "950173")
    assert blocked.returncode == 5, blocked.stderr
    assert "na stronie „Aplikacja mobilna” (w menu przy nazwie firmy)" in blocked.stderr
    assert "423" not in blocked.stderr

    log_in(page, owner["email"])
    open_mobile_page(page, PL)
    facts = page.locator("#device-list dl")
    expect(facts.locator("dt", has_text=PL["blocked"]).locator("xpath=following-sibling::dd[1]")).to_contain_text(
        PL["yes"])
    page.get_by_role("button", name=PL["unblock"]).click()
    dialog = page.get_by_role("dialog", name=PL["unblock_title"].format(name="Pixel 8"))
    expect(dialog.locator("p").first).to_have_text(PL["unblock_text"])
    expect(dialog.get_by_label(PL["password"])).to_be_focused()
    shot(page, "mobile-unblock-dialog")
    dialog.get_by_role("button", name=PL["cancel"]).click()
    expect(dialog).to_have_count(0)

    page.get_by_role("button", name=PL["switch"]).click()
    open_mobile_page(page, EN)
    page.get_by_role("button", name=EN["unblock"]).click()
    dialog = page.get_by_role("dialog", name=EN["unblock_title"].format(name="Pixel 8"))
    expect(dialog.locator("p").first).to_have_text(EN["unblock_text"])
    dialog.get_by_label(EN["password"]).fill(PASSWORD)
    shot(page, "mobile-unblock-dialog-en")
    dialog.get_by_role("button", name=EN["unblock"]).click()
    expect(dialog).to_have_count(0)
    expect(page.get_by_text(EN["unblocked"])).to_be_visible()
    shot(page, "mobile-unblocked")

    # the PIN is the same one: the phone logs in again
    again = phone("login", "--pin", "482915")
    assert again.returncode == 0, again.stderr
