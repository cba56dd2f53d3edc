"""Signing up as a person does: ask (POST /accounts, 202), read the confirmation e-mail from the SMTP sink,
follow its link (POST /accounts/confirm, 200 {account_id, company_id}).

The suites' factories (tests.support.users.sign_up, .identity.sign_up, .devices.sign_up) call `sign_up`
here. The confirmation e-mail is found in any mailbox of this process (tests.support.mailbox.open_mailboxes:
the session's `smtp_server.mailbox`, or the one a bench opened), or in the `mailbox` given; once followed it is
taken out of the mailbox, so suites that count a person's e-mails count the ones their test caused.
"""
import re
import time
import urllib.parse

from tests.support.mailbox import Mail, Mailbox, open_mailboxes

API = "/api/v1"
CONFIRM_LINK = re.compile(r"/app/confirm-account#token=([A-Za-z0-9_\-%.~]+)")


def request(api, email: str, password: str, full_name: str, company_name: str, locale: str = "pl",
            headers: dict | None = None):
    """POST /accounts as the sign-up page sends it; the response."""
    return api.post(api.url(f"{API}/accounts"), headers=headers or {}, timeout=30, json={
        "email": email, "password": password, "full_name": full_name, "company_name": company_name,
        "locale": locale})


def confirm(api, token: str, headers: dict | None = None):
    """POST /accounts/confirm with a link's token; the response."""
    return api.post(api.url(f"{API}/accounts/confirm"), json={"token": token}, headers=headers or {}, timeout=30)


def token_of(mail: Mail) -> str | None:
    """The token of the mail's /app/confirm-account link (None if it has none)."""
    for link in mail.links():
        match = CONFIRM_LINK.search(link)
        if match:
            return urllib.parse.unquote(match.group(1))
    return None


def _mailboxes(mailbox: Mailbox | None) -> list[Mailbox]:
    return [mailbox] if mailbox is not None else open_mailboxes()


def confirmation_mails(email: str, mailbox: Mailbox | None = None) -> list[tuple[Mailbox, Mail]]:
    """The confirmation e-mails to `email` so far, oldest first, with the mailbox holding each."""
    found = []
    for box in _mailboxes(mailbox):
        found += [(box, m) for m in box.to(email) if token_of(m)]
    return sorted(found, key=lambda pair: pair[1].name)


def wait_for_confirmation(email: str, mailbox: Mailbox | None = None, known: set | None = None,
                          timeout: float = 30.0) -> tuple[Mailbox, Mail]:
    """The first confirmation e-mail to `email` whose file is not in `known` (names seen before), waiting."""
    known = known or set()
    deadline = time.monotonic() + timeout
    while True:
        fresh = [(box, m) for box, m in confirmation_mails(email, mailbox) if m.name not in known]
        if fresh:
            return fresh[0]
        if time.monotonic() > deadline:
            raise AssertionError(f"no sign-up confirmation e-mail to {email} within {timeout} s "
                                 f"(mailboxes: {[b.folder for b in _mailboxes(mailbox)]})")
        time.sleep(0.05)


def sign_up(api, email: str, password: str, full_name: str, company_name: str, locale: str = "pl",
            mailbox: Mailbox | None = None) -> dict:
    """A new account and its company, made through the e-mailed link; {account_id, company_id}."""
    address = email.strip()
    known = {m.name for _, m in confirmation_mails(address, mailbox)}
    response = request(api, email, password, full_name, company_name, locale)
    assert response.status_code == 202, response.text
    box, mail = wait_for_confirmation(address, mailbox, known)
    response = confirm(api, token_of(mail))
    assert response.status_code == 200, response.text
    box.remove(mail)
    return response.json()
