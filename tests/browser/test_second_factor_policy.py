"""The company policy in the browser: the owner turns on "two-step login for every user" in Dane i ustawienia
(refused until they have it themself), the users table shows who has it, and a member who logs in next is taken
to "Moje konto" with the company named, sets it up, and then reaches the company. Polish, keyboard, screenshots."""
import re

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import PASSWORD, api_login, log_in, unique_email, unlabelled_fields
from tests.support.second_factor import Authenticator, enrol
from tests.support.users import PASSWORD as MEMBER_PASSWORD, accept, invitation_token

pytestmark = [pytest.mark.e2e, pytest.mark.browser]


def test_an_owner_turns_on_the_company_policy_and_a_member_is_asked_to_enrol(page, new_page, api, mailbox, owner,
                                                                           shot, require_routes):
    company_id, company = owner["company_id"], owner["company_name"]
    owner_headers = api_login(api, owner["email"])
    member_email = unique_email("ewa.pracownik")
    invited = api.post(api.url(f"/api/v1/companies/{company_id}/users"), headers=owner_headers,
                       json={"email": member_email, "role": "employee"})
    assert invited.status_code == 201, invited.text
    assert accept(api, invitation_token(mailbox, member_email), full_name="Ewa Pracownik").status_code == 200

    # the owner, in Dane i ustawienia: refused while they have no second factor themself
    log_in(page, owner["email"])
    page.goto("/app/settings")
    policy = page.locator("#policy")
    expect(policy.get_by_role("heading", name="Logowanie dwuetapowe w firmie")).to_be_visible()
    box = policy.get_by_label("Wymagaj logowania dwuetapowego od wszystkich użytkowników firmy")
    expect(box).not_to_be_checked()
    box.focus()
    page.keyboard.press("Space")
    expect(box).to_be_checked()
    policy.get_by_role("button", name="Zapisz").click()
    expect(policy.locator("[data-field=required] .error")).to_contain_text("Najpierw włącz logowanie dwuetapowe")
    assert unlabelled_fields(page) == []
    shot(page, "policy-refused-without-own-factor")

    enrol(api, owner_headers)   # as on "Moje konto" (tests/browser/test_second_factor.py walks that page)
    policy.get_by_role("button", name="Zapisz").click()
    expect(policy.locator(".notice")).to_contain_text("Zapisano: firma wymaga logowania dwuetapowego")
    page.reload()   # the table as it is now (it was drawn before the owner turned their factor on)
    table = page.locator("#members table")
    expect(table.locator("th").nth(4)).to_have_text("Logowanie dwuetapowe")
    expect(table.locator(f"tr[data-email='{owner['email']}'] .second-factor-cell")).to_have_text("włączone")
    expect(table.locator(f"tr[data-email='{member_email}'] .second-factor-cell")).to_have_text("wyłączone")
    shot(page, "policy-on-users-table")

    # the member logs in: taken to set it up before reaching the company, which is named
    member = new_page()
    member.goto("/app/login")
    member.get_by_label("Adres e-mail:").fill(member_email)
    member.get_by_label("Hasło:").fill(MEMBER_PASSWORD)
    member.get_by_label("Hasło:").press("Enter")
    member.wait_for_url(re.compile(r"/app/account#second-factor$"))
    asked = member.locator("#second-factor-required")
    expect(asked).to_have_text(f"Firma {company} wymaga logowania dwuetapowego. Włącz je poniżej, aby wejść do firmy.")
    expect(asked).to_be_focused()   # the page is long: the explanation is where the person (and the keyboard) starts
    shot(member, "member-asked-to-enrol")
    # the company's pages send them back here until then
    member.goto("/app/settings")
    member.wait_for_url(re.compile(r"/app/account#second-factor$"))
    expect(member.locator("#second-factor-required")).to_be_visible()

    factor = member.locator("#second-factor")
    factor.get_by_role("button", name="Włącz logowanie dwuetapowe").click()
    app = Authenticator(factor.locator("#totp-secret").inner_text().strip())
    code = factor.get_by_label("Kod z aplikacji:")
    expect(code).to_be_focused()
    code.fill(app.code())
    code.press("Enter")
    expect(factor.locator("#recovery-codes li")).to_have_count(10)
    factor.get_by_role("button", name="Zapisałem kody").click()
    met = factor.locator("#second-factor-required-met")
    expect(met).to_contain_text(f"możesz już wejść do firmy {company}")
    shot(member, "member-enrolled")
    go = met.get_by_role("link", name=f"Przejdź do firmy {company}")
    go.focus()
    member.keyboard.press("Enter")
    member.wait_for_url(re.compile(r"/app/$"))
    expect(member.locator("#home-company")).to_contain_text(company)
    member.goto("/app/settings#users")
    expect(member.locator("#users-section")).to_be_visible()
    assert not re.search(r"/app/account", member.url)
    shot(member, "member-in-the-company")
