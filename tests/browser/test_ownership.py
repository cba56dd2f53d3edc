"""The owner's transfer of ownership from Opcje, accepted through the e-mail link (which needs a login)."""
import re

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import PASSWORD, log_in, relative, token_link, unique_email
from tests.browser.test_keyboard import accept_via_mail, add_member

pytestmark = [pytest.mark.e2e, pytest.mark.browser]


def test_ownership_transfer_accepted_through_the_link(page, new_page, api, mailbox, owner, shot, require_routes):
    require_routes("POST /companies/{company_id}/ownership/transfer", "POST /ownership/accept")
    member = unique_email("anna")
    add_member(api, owner, member, "manager")
    accept_via_mail(api, mailbox, member, "Anna Nowak")

    log_in(page, owner["email"])
    page.goto("/app/settings#users")
    row = page.locator("table.users tbody tr", has=page.get_by_role("cell", name=member, exact=True))
    row.get_by_role("button", name="Przekaż własność: Anna Nowak").click()
    dialog = page.get_by_role("dialog", name="Przekazanie własności firmy – Anna Nowak")
    expect(dialog).to_contain_text("zarząd / pełnomocnik / księgowy")
    shot(page, "transfer-confirm")
    dialog.get_by_role("button", name="Wyślij propozycję").click()
    expect(page.get_by_text("Propozycja przekazania własności wysłana do Anna Nowak.")).to_be_visible()

    mail = mailbox.wait_for(member, count=2, timeout=30)[-1]
    link = relative(token_link(mail, "accept-ownership"))
    heir = new_page()
    heir.goto(link)  # not logged in: sent to log in first, then back to the link
    heir.wait_for_url(re.compile(r"/app/login$"))
    heir.get_by_label("Adres e-mail:").fill(member)
    heir.get_by_label("Hasło:").fill(PASSWORD)
    heir.get_by_role("button", name="Zaloguj").click()
    heir.wait_for_url(re.compile(r"/app/accept-ownership$"))
    shot(heir, "accept-ownership")
    heir.get_by_role("button", name="Przyjmij własność firmy").click()
    expect(heir.locator("#link-done")).to_have_text("Jesteś teraz właścicielem firmy.")
    shot(heir, "ownership-accepted")

    page.reload()
    me_row = page.locator("table.users tbody tr", has=page.get_by_role("cell", name=owner["email"], exact=True))
    expect(me_row.locator("td").nth(3)).to_have_text("zarząd / pełnomocnik / księgowy")
    heir_row = page.locator("table.users tbody tr", has=page.get_by_role("cell", name=member, exact=True))
    expect(heir_row.locator("td").nth(3)).to_have_text("właściciel / prezes")
    expect(heir_row.get_by_role("button")).to_have_count(0)  # nobody is offered to demote or remove the owner
    shot(page, "former-owner-is-manager")
