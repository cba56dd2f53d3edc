"""The guide's Part 1 in a real browser, in Polish and then in English after the language switch.

The owner signs up (the page says "check your e-mail"; the link from the e-mail the SMTP server received
makes the account and the company), logs in, opens Dane i ustawienia → Użytkownicy, adds `magazynier` by e-mail (reading "Pokaż opis
roli" first), saves; the invited person opens the link from the e-mail the SMTP server received, sets a
password, logs in and sees the company; the owner changes the role and the table shows it.
"""
import re

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import (PASSWORD, api_login, log_in, relative, sign_up_in_browser, token_link, unique_email,
                                    unlabelled_fields)

pytestmark = [pytest.mark.e2e, pytest.mark.browser]

ROUTES = ("POST /accounts", "POST /accounts/confirm", "POST /auth/login", "GET /me", "GET /roles", "GET /companies/{company_id}",
          "GET /companies/{company_id}/users", "POST /companies/{company_id}/users",
          "PATCH /companies/{company_id}/users/{account_id}", "GET /companies/{company_id}/invitations",
          "POST /invitations/accept")

# Labels of the two languages, as the pages show them.
PL = {
    "settings": "Dane i ustawienia", "users": "Użytkownicy", "users_heading": "Użytkownicy z dostępem do systemu",
    "add": "Dodaj użytkownika", "dialog": "Dodawanie użytkownika do firmy – {company}", "email": "Adres e-mail:",
    "role": "Rola:", "show": "Pokaż opis roli", "cancel": "Anuluj", "save": "Zapisz",
    "columns": ["Lp.", "Imię i nazwisko", "E-mail", "Rola", "Logowanie dwuetapowe", "Opcje"], "menu": "Menu firmy",
    "owner": "właściciel / prezes", "warehouse": "magazynier", "employee": "pracownik",
    "manager": "zarząd / pełnomocnik / księgowy", "change_role": "Zmień rolę", "accept": "Przyjmij zaproszenie",
    "full_name": "Imię i nazwisko:", "password": "Hasło:", "go_login": "Przejdź do logowania",
    "invited": "Zaproszenie wysłane na adres {email}.", "bad_email": "Nieprawidłowy adres e-mail.",
    "role_line": "Twoja rola: magazynier", "company_section": "Nazwa, dane rejestrowe i kontaktowe",
    "audit": "Dziennik zdarzeń", "audit_role": "zmiana roli", "audit_invite": "zaproszenie użytkownika",
    "pending": "Oczekujące zaproszenia",
    # the guide's words under the table, and again beside the role choice
    "roles_hint": "Wykorzystując opcję dodaj użytkownika możesz nadać uprawnienia do aplikacji poszczególnym "
                  "użytkownikom. Zapoznaj się z opisem ról tak, aby użytkownicy mieli dostęp tylko do tych funkcji, "
                  "które odpowiadają ich roli w Twojej firmie.",
    "change_email": "Zmień e-mail (login)", "transfer": "Przekaż własność",
    "transfer_title": "Przekazanie własności firmy – {name}",
    "account_headings": ["Dane osobowe", "Zmiana adresu e-mail (loginu)", "Zmiana hasła", "Logowanie dwuetapowe",
                         "Potwierdzanie logowania w aplikacji mobilnej"],
    "roles_hint_short": "Zapoznaj się z opisem ról tak, aby użytkownicy mieli dostęp tylko do tych funkcji, które "
                        "odpowiadają ich roli w Twojej firmie.",
}
EN = {
    "settings": "Data and settings", "users": "Users", "users_heading": "Users with access to the system",
    "add": "Add user", "dialog": "Adding a user to the company – {company}", "email": "E-mail address:",
    "role": "Role:", "show": "Show role description", "cancel": "Cancel", "save": "Save",
    "columns": ["No.", "Full name", "E-mail", "Role", "Two-step login", "Options"], "menu": "Company menu",
    "owner": "owner / president", "warehouse": "warehouse keeper", "employee": "employee",
    "manager": "management / proxy / accountant", "change_role": "Change role", "accept": "Accept the invitation",
    "full_name": "Full name:", "password": "Password:", "go_login": "Go to log in",
    "invited": "The invitation has been sent to {email}.", "bad_email": "Not a valid email address.",
    "role_line": "Your role: warehouse keeper", "company_section": "Name, registration and contact data",
    "audit": "Audit log", "audit_role": "role changed", "audit_invite": "user invited",
    "pending": "Pending invitations",
    "roles_hint": "With \u201cAdd user\u201d you grant individual users access to the application. Read the role "
                  "descriptions (\u201cShow role description\u201d) so that users can reach only the functions that "
                  "match their role in your company.",
    "change_email": "Change e-mail address (login)", "transfer": "Transfer ownership",
    "transfer_title": "Transferring ownership of the company – {name}",
    "account_headings": ["Personal data", "Change your e-mail address (login)", "Change your password",
                         "Two-step login", "Approving logins in the mobile app"],
    "roles_hint_short": "Read the role descriptions so that users can reach only the functions that match their role "
                        "in your company.",
}


def open_users_section(page, L):
    page.get_by_role("navigation", name=L["menu"]).get_by_role("button").first.click()
    page.get_by_role("navigation", name=L["menu"]).get_by_role("link", name=L["settings"]).click()
    page.wait_for_url(re.compile(r"/app/settings"))
    expect(page.get_by_role("heading", name=L["settings"], level=1)).to_be_visible()
    expect(page.locator("summary", has_text=L["company_section"])).to_be_visible()
    expand_users(page, L)
    expect(page.get_by_role("heading", name=L["users_heading"])).to_be_visible()
    expect(page.locator("table.users tbody tr").first).to_be_visible()


def expand_users(page, L):
    """Expand the Użytkownicy section, as the guide says."""
    summary = page.locator("#users-section > summary")
    expect(summary).to_have_text(L["users"])
    if page.locator("#users-section[open]").count() == 0:
        summary.click()
    expect(page.locator("#users-section[open]")).to_have_count(1)


def member_row(page, email):
    return page.locator("table.users tbody tr", has=page.get_by_role("cell", name=email, exact=True))


def run_journey(page, new_page, api, mailbox, owner, shot, L, english):
    company = owner["company_name"]
    roles = {r["role"]: r for r in api.get(api.url("/api/v1/roles")).json()}

    # 1. the owner logs in (the sign-up left the page on the login)
    expect(page.get_by_role("heading", name="Log in" if english else "Zaloguj")).to_be_visible()
    expect(page.get_by_role("link", name="remind password" if english else "przypomnij hasło")).to_be_visible()
    shot(page, "login")
    log_in(page, owner["email"], english=english)
    expect(page.get_by_role("button", name=re.compile(re.escape(company)))).to_be_visible()
    shot(page, "owner-home")

    # 2. Dane i ustawienia → Użytkownicy: the guide's table, the owner first
    open_users_section(page, L)
    headers = page.locator("table.users thead th").all_inner_texts()
    assert [h.strip() for h in headers] == L["columns"]
    first = page.locator("table.users tbody tr").first
    expect(first.locator("td").nth(0)).to_have_text("1.")
    expect(first.locator("td").nth(1)).to_contain_text(owner["full_name"])
    expect(first.locator("td").nth(2)).to_have_text(owner["email"])
    expect(first.locator("td").nth(3)).to_have_text(L["owner"])
    expect(page.locator("#roles-hint")).to_have_text(L["roles_hint"])
    expect(first.get_by_role("link", name=L["change_email"])).to_have_attribute("href", "/app/account#email")
    shot(page, "users-section")

    # 3. "Dodaj użytkownika": e-mail, one role, "Pokaż opis roli", Anuluj / Zapisz
    page.get_by_role("button", name=L["add"]).click()
    dialog = page.get_by_role("dialog", name=L["dialog"].format(company=company))
    expect(dialog).to_be_visible()
    expect(dialog.get_by_role("group", name=L["role"])).to_be_visible()
    radios = dialog.get_by_role("radio")
    expect(radios).to_have_count(3)
    for role in ("employee", "manager", "warehouse"):
        expect(dialog.get_by_role("radio", name=L[role], exact=True)).to_be_visible()
    expect(dialog.get_by_role("radio", name=L["employee"], exact=True)).to_be_checked()  # ☒ pracownik, as drawn
    expect(dialog.get_by_role("button", name=L["show"])).to_have_count(3)
    expect(dialog.get_by_role("button", name=L["cancel"])).to_be_visible()
    expect(dialog.locator(".roles-hint")).to_have_text(L["roles_hint_short"])  # before choosing a role

    # an address the API refuses: its message stands next to the field, in the page's language
    dialog.get_by_label(L["email"]).fill("to-nie-jest-email")
    dialog.get_by_role("button", name=L["save"]).click()
    error = dialog.locator("[data-field=email] .error")
    expect(error).to_have_text(L["bad_email"])
    expect(dialog.get_by_label(L["email"])).to_have_attribute("aria-invalid", "true")
    shot(page, "add-user-invalid-email")

    invitee = unique_email("magazyn")
    dialog.get_by_label(L["email"]).fill(invitee)
    dialog.get_by_role("radio", name=L["warehouse"], exact=True).check()
    option = dialog.locator(".role-option", has=page.get_by_role("radio", name=L["warehouse"], exact=True))
    option.get_by_role("button", name=L["show"]).click()
    description = roles["warehouse"]["description_en" if english else "description_pl"]
    expect(option.locator(".role-description")).to_have_text(description)
    expect(option.locator("button.show-role")).to_have_attribute("aria-expanded", "true")
    assert unlabelled_fields(page) == []
    shot(page, "add-user-dialog-role-description")
    dialog.get_by_role("button", name=L["save"]).click()
    expect(dialog).to_have_count(0)
    expect(page.get_by_text(L["invited"].format(email=invitee))).to_be_visible()
    pending = page.locator("table.pending tbody tr", has=page.get_by_role("cell", name=invitee, exact=True))
    expect(pending).to_be_visible()
    expect(pending.locator("td").nth(1)).to_have_text(L["warehouse"])
    shot(page, "invitation-pending")

    # 4. the invited person opens the link from the e-mail (at the SMTP server), sets a password, logs in
    (mail,) = mailbox.wait_for(invitee, count=1, timeout=30)
    link = token_link(mail, "accept-invitation")
    guest = new_page("en" if english else None)
    guest.goto(relative(link))
    expect(guest.get_by_role("heading", name="Invitation to a company" if english else "Zaproszenie do firmy")).to_be_visible()
    assert "token=" not in guest.url  # the token left the address bar; it was never sent to the server
    guest.get_by_label(L["full_name"]).fill("Anna Nowak")
    guest.get_by_label(L["password"]).fill(PASSWORD)
    shot(guest, "invitee-accept-page")
    guest.get_by_role("button", name=L["accept"]).click()
    expect(guest.locator("#link-done")).to_be_visible()
    shot(guest, "invitee-accepted")
    guest.get_by_role("link", name=L["go_login"]).click()
    log_in(guest, invitee, english=english)
    expect(guest.get_by_role("button", name=re.compile(re.escape(company)))).to_be_visible()
    expect(guest.locator("#home-company")).to_contain_text(company)
    expect(guest.locator("#home-company")).to_contain_text(L["role_line"])
    shot(guest, "invitee-sees-company")

    # the warehouse keeper is offered nothing a warehouse keeper may not do
    open_users_section(guest, L)
    expect(guest.locator("table.users tbody tr")).to_have_count(1)  # only their own row: their e-mail is the login
    expect(guest.locator("table.users tbody tr td").nth(2)).to_have_text(invitee)
    expect(guest.locator("table.users tbody tr td").nth(3)).to_have_text(L["warehouse"])
    expect(guest.get_by_role("button", name=L["add"])).to_have_count(0)
    expect(guest.locator("#roles-hint")).to_have_count(0)  # nobody to add: no hint about choosing roles
    expect(guest.get_by_role("button", name=re.compile(L["change_role"]))).to_have_count(0)
    expect(guest.locator("#company-form input").first).to_be_disabled()  # company data: read only
    expect(guest.locator("#company-form").get_by_role("button", name=L["save"])).to_have_count(0)
    shot(guest, "invitee-users-read-only")

    # 5. the owner changes the role; the table shows it
    page.reload()
    expand_users(page, L)
    row = member_row(page, invitee)
    expect(row.locator("td").nth(3)).to_have_text(L["warehouse"])
    row.get_by_role("button", name=re.compile(L["change_role"])).click()
    change = page.get_by_role("dialog")
    expect(change.get_by_role("radio", name=L["warehouse"], exact=True)).to_be_checked()
    change.get_by_role("radio", name=L["employee"], exact=True).check()
    shot(page, "change-role-dialog")
    change.get_by_role("button", name=L["save"]).click()
    expect(change).to_have_count(0)
    expect(member_row(page, invitee).locator("td").nth(3)).to_have_text(L["employee"])
    shot(page, "role-changed")
    # the ownership offer's dialog names what moves (opened and cancelled: nothing is sent)
    member_row(page, invitee).get_by_role("button", name=re.compile(L["transfer"])).click()
    expect(page.get_by_role("dialog", name=L["transfer_title"].format(name="Anna Nowak"))).to_be_visible()
    page.get_by_role("dialog").get_by_role("button", name=L["cancel"]).click()
    expect(page.get_by_role("dialog")).to_have_count(0)
    page.reload()
    expand_users(page, L)
    expect(member_row(page, invitee).locator("td").nth(3)).to_have_text(L["employee"])

    # the API agrees with the table
    headers = api_login(api, owner["email"])
    rows = api.get(api.url(f"/api/v1/companies/{owner['company_id']}/users"), headers=headers).json()
    assert {r["email"]: r["role"] for r in rows}[invitee] == "employee"

    # and the audit log tells the story, newest first
    page.get_by_role("navigation", name=L["menu"]).get_by_role("button").first.click()
    page.get_by_role("navigation", name=L["menu"]).get_by_role("link", name=L["audit"]).click()
    expect(page.locator("table.audit tbody tr").first).to_contain_text(L["audit_role"])
    expect(page.locator("table.audit")).to_contain_text(L["audit_invite"])
    shot(page, "audit-log")
    # My account: the same words for the same things
    page.goto("/app/account")
    expect(page.locator("main h2")).to_have_text(L["account_headings"])
    return invitee


def test_guide_part1_in_polish(page, new_page, api, mailbox, shot, require_routes):
    require_routes(*ROUTES)
    owner = sign_up_in_browser(page, api, mailbox, shot)
    run_journey(page, new_page, api, mailbox, owner, shot, PL, english=False)


def test_guide_part1_in_english_after_the_switch(page, new_page, api, mailbox, shot, require_routes):
    require_routes(*ROUTES)
    owner = sign_up_in_browser(page, api, mailbox, shot, english=True)
    run_journey(page, new_page, api, mailbox, owner, shot, EN, english=True)
    # the choice is remembered: a new page load stays in English
    page.goto("/app/settings")
    expect(page.get_by_role("heading", name="Data and settings", level=1)).to_be_visible()
    assert page.evaluate("localStorage.getItem('kadra.lang')") == "en"
    assert page.evaluate("document.documentElement.lang") == "en"
    page.get_by_role("button", name="Polski").click()
    expect(page.get_by_role("heading", name="Dane i ustawienia", level=1)).to_be_visible()
