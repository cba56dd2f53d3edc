"""Browser suites: Debian's Chromium, headless, driven by Playwright against the running system.

Fixtures: `browser` (one per session), `page` (a fresh browser context per test: its own storage, so its own
language and session; fails the test on any script error, CSP violation or request to another origin),
`new_page()` (another person's browser), `shot(page, name)` (a screenshot under artifacts/screenshots/<test>/),
`owner` (a signed-up owner with their company, through the API and the e-mailed link), `require_routes(...)`
(skip while a route the test needs has not landed yet), `mobile_client(system, state, password)` (the reference
client `kadra-mobile` as a phone beside the browser).
"""
import os
import re
import subprocess
import sys
import uuid

import pytest

from tests.support import browser as support
from tests.support import signup

playwright_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed (pip install playwright)")

PASSWORD = "Dobre-Hasło-2025!x"
KADRA_MOBILE = os.path.join(os.path.dirname(sys.executable), "kadra-mobile")
VIEWPORT = {"width": 1280, "height": 860}


@pytest.fixture(scope="session")
def browser():
    support.ensure_chromium()
    with playwright_api.sync_playwright() as p:
        chromium = support.launch(p)
        yield chromium
        chromium.close()


@pytest.fixture(scope="session")
def spec(system):
    import requests

    return requests.get(system.base_url + "/api/v1/openapi.json", timeout=10).json()


@pytest.fixture
def require_routes(spec):
    """require_routes("POST /accounts", "GET /me", ...): skip the test while any is missing from the spec."""

    def check(*routes):
        missing = []
        for route in routes:
            method, path = route.split(" ", 1)
            operations = spec.get("paths", {}).get("/api/v1" + path, {})
            if method.lower() not in operations:
                missing.append(route)
        if missing:
            pytest.skip(f"route(s) not landed yet: {', '.join(missing)}")

    return check


class Watched:
    """What went wrong inside one browser context: script errors, console errors, foreign requests."""

    def __init__(self, base_url: str):
        self.base_url = base_url
        self.problems: list[str] = []

    def attach(self, page):
        page.on("pageerror", lambda error: self.problems.append(f"page error: {error}"))
        page.on("console", self._console)
        page.on("request", self._request)

    def _console(self, message):
        if message.type == "error":
            text = message.text
            # The API's own 4xx answers are logged by Chromium as failed resources; they are expected.
            if "Failed to load resource" in text and "status of 4" in text:
                return
            self.problems.append(f"console error: {text}")

    def _request(self, request):
        url = request.url
        if not (url.startswith(self.base_url) or url.startswith("data:") or url.startswith("blob:")):
            self.problems.append(f"request to another origin: {url}")


@pytest.fixture
def new_page(browser, system, request):
    """new_page(lang=None, base_url=None) -> a page in a fresh context (another person's browser), on the
    system's gateway or the one at `base_url`."""
    contexts = []
    watchers = []

    def make(lang: str | None = None, base_url: str | None = None):
        base_url = base_url or system.base_url
        context = browser.new_context(base_url=base_url, viewport=VIEWPORT, locale="pl-PL")
        if lang:
            context.add_init_script(f"localStorage.setItem('kadra.lang', '{lang}')")
        context.set_default_timeout(15_000)
        page = context.new_page()
        watched = Watched(base_url)
        watched.attach(page)
        contexts.append(context)
        watchers.append(watched)
        return page

    yield make
    for context in contexts:
        context.close()
    problems = [p for w in watchers for p in w.problems]
    assert not problems, "the browser reported problems:\n" + "\n".join(problems)


@pytest.fixture
def page(new_page):
    return new_page()


@pytest.fixture
def shot(request):
    """shot(page, "name"): a full-page screenshot, numbered in the order taken, under artifacts/screenshots/<test>/."""
    counter = {"n": 0}

    def take(page, name: str):
        counter["n"] += 1
        path = support.screenshot_path(request.node.name, f"{counter['n']:02d}-{name}")
        page.screenshot(path=path, full_page=True)
        return path

    return take


def unique_email(prefix: str) -> str:
    return f"{prefix}.{uuid.uuid4().hex[:10]}@majafirma.pl"


def sign_up(api, *, full_name="Jan Kowalski", company_name="Majama Michał Zając", locale="pl") -> dict:
    """A person who signed up through the API and followed the e-mailed link."""
    email = unique_email("jan.kowalski")
    body = {"email": email, "password": PASSWORD, "full_name": full_name, "company_name": company_name,
            "locale": locale}
    return dict(body, **signup.sign_up(api, email, PASSWORD, full_name, company_name, locale))


def api_login(api, email: str, password: str = PASSWORD) -> dict:
    response = api.post(api.url("/api/v1/auth/login"), json={"email": email, "password": password})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


@pytest.fixture
def owner(api, require_routes):
    require_routes("POST /accounts", "POST /auth/login", "GET /me")
    return sign_up(api)


def token_link(mail, page_name: str) -> str:
    """The link of an e-mail that opens /app/<page_name>#token=..."""
    for link in mail.links():
        if f"/app/{page_name}#token=" in link:
            return link
    raise AssertionError(f"no /app/{page_name} link in {mail.subject!r}: {mail.links()}")


def relative(url: str) -> str:
    """A link from an e-mail as a path on the system under test (the e-mail carries KADRA_PUBLIC_URL)."""
    return re.sub(r"^https?://[^/]+", "", url)


def sign_up_in_browser(page, api, mailbox, shot=None, *, english: bool = False, full_name: str = "Jan Kowalski",
                       company_name: str = "Majama Michał Zając") -> dict:
    """Journey 1 in the browser: the sign-up page ("check your e-mail"), the link from the e-mail, "Potwierdź",
    then the login. The page's language is switched on the sign-up page for `english`. Returns the owner as
    the `owner` fixture does."""
    from playwright.sync_api import expect

    email = unique_email("jan.kowalski")
    page.goto("/app/signup")
    if english:
        page.get_by_role("button", name="English").click()
    expect(page.get_by_role("heading", name="Create an account" if english else "Załóż konto")).to_be_visible()
    page.get_by_label("Full name:" if english else "Imię i nazwisko:").fill(full_name)
    page.get_by_label("E-mail address:" if english else "Adres e-mail:").fill(email)
    page.get_by_label("Password:" if english else "Hasło:").fill(PASSWORD)
    page.get_by_label("Company name:" if english else "Nazwa firmy:").fill(company_name)
    page.get_by_role("button", name="Create the account" if english else "Załóż konto").click()
    sent = page.locator("#signup-sent")
    expect(sent).to_contain_text(email)
    expect(sent).to_contain_text("Check your e-mail" if english else "Sprawdź pocztę")
    expect(sent).to_be_focused()
    if shot:
        shot(page, "signup-check-your-email")

    _, mail = signup.wait_for_confirmation(email, mailbox)
    page.goto(relative(token_link(mail, "confirm-account")))
    expect(page.get_by_role("heading", name="Confirm your new account" if english else "Potwierdź założenie konta"))\
        .to_be_visible()
    assert "token=" not in page.url  # the token left the address bar; it was never sent to the server
    button = page.get_by_role("button", name="Confirm and create the account" if english else "Potwierdź i załóż konto")
    expect(button).to_be_focused()
    if shot:
        shot(page, "confirm-account")
    page.keyboard.press("Enter")
    expect(page.locator("#link-done")).to_have_text("Your account is ready. You can log in now." if english
                                                    else "Konto założone. Możesz się zalogować.")
    if shot:
        shot(page, "account-confirmed")
    page.get_by_role("link", name="Go to log in" if english else "Przejdź do logowania").click()
    page.wait_for_url(re.compile(r"/app/login$"))
    me = api.get(api.url("/api/v1/me"), headers=api_login(api, email)).json()
    (company,) = me["companies"]
    assert (company["name"], company["role"]) == (company_name, "owner")
    return {"email": email, "password": PASSWORD, "full_name": full_name, "company_name": company_name,
            "account_id": me["account_id"], "company_id": company["company_id"]}


def mobile_client(system, state: str, password: str):
    """phone(*args) runs `kadra-mobile` in Polish against this system with its own state file (the password in
    the environment, nothing typed): the completed process."""
    def phone(*args):
        env = dict(os.environ, KADRA_GATEWAY_URL=system.base_url, KADRA_MOBILE_STATE=state, KADRA_MOBILE_LANG="pl",
                   KADRA_MOBILE_PASSWORD=password)
        return subprocess.run([KADRA_MOBILE, *args], env=env, capture_output=True, text=True, timeout=60,
                              stdin=subprocess.DEVNULL)
    return phone


def log_in(page, email: str, password: str = PASSWORD, *, english: bool = False):
    page.goto("/app/login")
    page.get_by_label("E-mail address:" if english else "Adres e-mail:").fill(email)
    page.get_by_label("Password:" if english else "Hasło:").fill(password)
    page.get_by_role("button", name="Log in" if english else "Zaloguj").click()
    page.wait_for_url(re.compile(r"/app/$"))


def unlabelled_fields(page) -> list[str]:
    """Every visible input/select/textarea without a label (label element, aria-label or aria-labelledby)."""
    return page.evaluate("""() => [...document.querySelectorAll('input, select, textarea')]
        .filter((el) => el.type !== 'hidden')
        .filter((el) => !(el.labels && el.labels.length) && !el.getAttribute('aria-label') && !el.getAttribute('aria-labelledby'))
        .map((el) => el.outerHTML)""")


os.environ.setdefault("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1")


def pytest_configure(config):
    config.addinivalue_line("markers", "browser: drives Debian's Chromium headless through Playwright")
