"""Keyboard only: logging in and every dialog and form of the Users section, without a mouse.

Dialogs keep focus inside (Tab and Shift+Tab wrap), Esc closes them, and focus returns to what opened them.
Every field on the pages visited has a label. A person in two companies gets the company switcher.
"""
import re

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import PASSWORD, api_login, sign_up, unique_email, unlabelled_fields

pytestmark = [pytest.mark.e2e, pytest.mark.browser]

ROUTES = ("POST /accounts", "POST /auth/login", "GET /me", "GET /companies/{company_id}/users",
          "POST /companies/{company_id}/users", "PATCH /companies/{company_id}/users/{account_id}",
          "DELETE /companies/{company_id}/users/{account_id}", "POST /invitations/accept",
          "GET /companies/{company_id}/invitations",
          "POST /companies/{company_id}/invitations/{invitation_id}/resend",
          "DELETE /companies/{company_id}/invitations/{invitation_id}")


def focused(page) -> dict:
    return page.evaluate("""() => {
        const el = document.activeElement;
        return {tag: el.tagName.toLowerCase(), text: (el.innerText || el.value || '').trim(), name: el.name || '',
                type: el.type || '', inDialog: Boolean(el.closest('dialog')), key: el.dataset ? el.dataset.key || '' : '',
                label: el.getAttribute('aria-label') || '', id: el.id || ''};
    }""")


def tab_until(page, predicate, limit=80, shift=False) -> dict:
    for _ in range(limit):
        page.keyboard.press("Shift+Tab" if shift else "Tab")
        now = focused(page)
        if predicate(now):
            return now
    raise AssertionError(f"never reached the element by keyboard; last focus: {focused(page)}")


def add_member(api, owner, email, role="employee"):
    """An accepted member, through the API (the journey suite covers doing it in the browser)."""
    headers = api_login(api, owner["email"])
    answer = api.post(api.url(f"/api/v1/companies/{owner['company_id']}/users"), json={"email": email, "role": role},
                      headers=headers)
    assert answer.status_code == 201, answer.text
    return answer.json()


def accept_via_mail(api, mailbox, email, full_name):
    from tests.browser.conftest import token_link

    mail = mailbox.wait_for(email, count=1, timeout=30)[-1]
    token = token_link(mail, "accept-invitation").split("#token=", 1)[1]
    from urllib.parse import unquote

    done = api.post(api.url("/api/v1/invitations/accept"),
                    json={"token": unquote(token), "password": PASSWORD, "full_name": full_name})
    assert done.status_code == 200, done.text


def test_users_section_by_keyboard_only(page, api, mailbox, owner, shot, require_routes):
    require_routes(*ROUTES)
    member = unique_email("ewa")
    add_member(api, owner, member, "employee")
    accept_via_mail(api, mailbox, member, "Ewa Lis")

    # log in with the keyboard: the e-mail field has focus on arrival
    page.goto("/app/login")
    assert focused(page)["name"] == "email"
    page.keyboard.type(owner["email"])
    page.keyboard.press("Tab")
    assert focused(page)["name"] == "password"
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/app/$"))

    # the company menu by keyboard: Enter opens it, Esc closes it and focus goes back to the button
    tab_until(page, lambda f: f["id"] == "company-menu-button")
    page.keyboard.press("Enter")
    assert focused(page)["text"] == "Dane i ustawienia"
    page.keyboard.press("Escape")
    assert focused(page)["id"] == "company-menu-button"
    expect(page.locator("#company-menu")).to_be_hidden()
    page.keyboard.press("Enter")
    page.keyboard.press("Enter")  # follows "Dane i ustawienia"
    page.wait_for_url(re.compile(r"/app/settings$"))

    # expand "Użytkownicy" (a disclosure: Enter toggles it)
    tab_until(page, lambda f: f["tag"] == "summary" and f["text"] == "Użytkownicy")
    page.keyboard.press("Enter")
    expect(page.locator("#users-section[open]")).to_have_count(1)
    expect(page.locator("table.users tbody tr")).to_have_count(2)

    # "Dodaj użytkownika": focus moves into the dialog, onto the e-mail field
    tab_until(page, lambda f: f["text"] == "Dodaj użytkownika")
    page.keyboard.press("Enter")
    dialog = page.get_by_role("dialog")
    expect(dialog).to_be_visible()
    assert focused(page)["name"] == "email" and focused(page)["inDialog"]
    assert unlabelled_fields(page) == []
    # Tab and Shift+Tab never leave the dialog
    seen = set()
    for _ in range(12):
        page.keyboard.press("Tab")
        now = focused(page)
        assert now["inDialog"], f"focus left the dialog: {now}"
        seen.add(now["text"] or now["name"])
    assert {"Anuluj", "Zapisz", "email", "Pokaż opis roli"} <= seen
    for _ in range(7):
        page.keyboard.press("Shift+Tab")
        assert focused(page)["inDialog"]
    # Esc closes it and focus returns to "Dodaj użytkownika"
    page.keyboard.press("Escape")
    expect(dialog).to_have_count(0)
    assert focused(page)["text"] == "Dodaj użytkownika"

    # again, for real: e-mail, the role by arrow keys, its description, Zapisz
    page.keyboard.press("Enter")
    invitee = unique_email("magazyn")
    page.keyboard.type(invitee)
    page.keyboard.press("Tab")
    assert focused(page)["type"] == "radio"
    page.keyboard.press("ArrowDown")
    page.keyboard.press("ArrowDown")
    expect(page.get_by_role("dialog").get_by_role("radio", name="magazynier", exact=True)).to_be_checked()
    # to the warehouse keeper's "Pokaż opis roli" and open it with Space
    option = page.get_by_role("dialog").locator(".role-option", has=page.get_by_role("radio", name="magazynier", exact=True))
    toggle_key = option.locator("button.show-role")
    for _ in range(6):
        page.keyboard.press("Tab")
        if page.evaluate("(el) => el === document.activeElement", toggle_key.element_handle()):
            break
    page.keyboard.press("Space")
    expect(toggle_key).to_have_attribute("aria-expanded", "true")
    expect(option.locator(".role-description")).to_be_visible()
    shot(page, "keyboard-add-user-dialog")
    tab_until(page, lambda f: f["text"] == "Zapisz" and f["inDialog"], limit=10)
    page.keyboard.press("Enter")
    expect(page.get_by_role("dialog")).to_have_count(0)
    assert focused(page)["text"] == "Dodaj użytkownika"
    pending = page.locator("table.pending tbody tr", has=page.get_by_role("cell", name=invitee, exact=True))
    expect(pending).to_be_visible()

    # change a member's role from Opcje: arrows, Zapisz; focus returns to that row's "Zmień rolę"
    tab_until(page, lambda f: f["label"] == "Zmień rolę: Ewa Lis")
    page.keyboard.press("Enter")
    change = page.get_by_role("dialog")
    expect(change).to_be_visible()
    assert focused(page)["type"] == "radio"
    page.keyboard.press("ArrowDown")  # pracownik → zarząd / pełnomocnik / księgowy
    tab_until(page, lambda f: f["text"] == "Zapisz" and f["inDialog"], limit=10)
    page.keyboard.press("Enter")
    expect(change).to_have_count(0)
    row = page.locator("table.users tbody tr", has=page.get_by_role("cell", name=member, exact=True))
    expect(row.locator("td").nth(3)).to_have_text("zarząd / pełnomocnik / księgowy")
    assert focused(page)["label"] == "Zmień rolę: Ewa Lis"
    shot(page, "keyboard-role-changed")

    # resend the pending invitation, then revoke it (Esc first: nothing happens, focus comes back)
    tab_until(page, lambda f: f["label"] == f"Wyślij ponownie: {invitee}")
    page.keyboard.press("Enter")
    expect(page.get_by_text(f"Zaproszenie wysłane ponownie na adres {invitee}.")).to_be_visible()
    tab_until(page, lambda f: f["label"] == f"Wycofaj: {invitee}")
    page.keyboard.press("Enter")
    expect(page.get_by_role("dialog")).to_be_visible()
    page.keyboard.press("Escape")
    expect(page.get_by_role("dialog")).to_have_count(0)
    assert focused(page)["label"] == f"Wycofaj: {invitee}"
    page.keyboard.press("Enter")
    tab_until(page, lambda f: f["text"] == "Wycofaj" and f["inDialog"], limit=6)
    page.keyboard.press("Enter")
    expect(pending).to_have_count(0)

    # remove the member: the confirmation starts on Anuluj; after removal focus lands on the section heading
    tab_until(page, lambda f: f["label"] == "Usuń: Ewa Lis", shift=True)
    page.keyboard.press("Enter")
    assert focused(page)["text"] == "Anuluj"
    shot(page, "keyboard-remove-confirm")
    page.keyboard.press("Tab")
    assert focused(page)["text"] == "Usuń użytkownika"
    page.keyboard.press("Enter")
    expect(row).to_have_count(0)
    assert focused(page)["id"] == "users-heading"
    shot(page, "keyboard-member-removed")


def test_company_switcher_for_a_person_in_two_companies(page, api, mailbox, owner, shot, require_routes):
    require_routes(*ROUTES)
    other = sign_up(api, full_name="Piotr Zięba", company_name="Zięba Biuro Rachunkowe")
    add_member(api, other, owner["email"], "manager")
    mail = mailbox.wait_for(owner["email"], subject_contains="", count=1, timeout=30)[-1]
    from tests.browser.conftest import token_link
    from urllib.parse import unquote

    token = unquote(token_link(mail, "accept-invitation").split("#token=", 1)[1])
    accepted = api.post(api.url("/api/v1/invitations/accept"), json={"token": token, "password": PASSWORD})
    assert accepted.status_code == 200, accepted.text

    page.goto("/app/login")
    page.keyboard.type(owner["email"])
    page.keyboard.press("Tab")
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/app/$"))
    switcher = page.get_by_label("Firma:")
    expect(switcher).to_be_visible()
    tab_until(page, lambda f: f["name"] == "company")
    shot(page, "company-switcher")
    value = page.evaluate("""() => [...document.querySelectorAll('#company-switcher option')]
        .find((o) => o.textContent.startsWith('Zięba')).value""")
    switcher.select_option(value)
    expect(page.locator("#home-company")).to_contain_text("Zięba Biuro Rachunkowe")
    expect(page.locator("#home-company")).to_contain_text("zarząd / pełnomocnik / księgowy")
    shot(page, "company-switched")
    page.reload()
    expect(page.locator("#home-company")).to_contain_text("Zięba Biuro Rachunkowe")  # remembered
