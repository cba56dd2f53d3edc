"""Factories for the users suites: people who signed up, companies, members who joined by invitation.

Everything goes through the public API (sign-up and its e-mailed link, login, invitation e-mail, accept),
so a member made here is made the way a person would be.
"""
import re
import uuid
from dataclasses import dataclass, field
from urllib.parse import unquote

from tests.support import signup

PASSWORD = "Dobre-Haslo-2025!"
API = "/api/v1"


@dataclass
class Person:
    email: str
    password: str
    full_name: str
    account_id: str = ""
    token: str = ""
    companies: dict = field(default_factory=dict)

    @property
    def auth(self) -> dict:
        return {"Authorization": f"Bearer {self.token}"}


def unique_email(prefix: str = "u") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}@example.com"


def login(api, person: Person) -> Person:
    response = api.post(api.url(f"{API}/auth/login"), json={"email": person.email, "password": person.password})
    assert response.status_code == 200, response.text
    person.token = response.json()["access_token"]
    return person


def sign_up(api, prefix: str = "owner", company_name: str = "Majama Michał Zając", full_name: str = "Jan Kowalski",
            locale: str = "pl", mailbox=None) -> tuple[Person, str]:
    """A new person and their new company (they are its owner, through the e-mailed link); (person, company_id)."""
    person = Person(email=unique_email(prefix), password=PASSWORD, full_name=full_name)
    made = signup.sign_up(api, person.email, person.password, full_name, company_name, locale, mailbox)
    person.account_id = made["account_id"]
    person.companies[made["company_id"]] = "owner"
    login(api, person)
    return person, made["company_id"]


def invite(api, actor: Person, company_id: str, email: str, role: str):
    return api.post(api.url(f"{API}/companies/{company_id}/users"), json={"email": email, "role": role},
                    headers=actor.auth)


def token_from(mail) -> str:
    """The token in the fragment of the e-mail's link (`.../app/<page>#token=...`)."""
    for link in mail.links():
        match = re.search(r"#token=([^&\s]+)", link)
        if match:
            return unquote(match.group(1))
    raise AssertionError(f"no #token= link in: {mail.text[:500]}")


def invitation_token(mailbox, email: str, count: int = 1) -> str:
    """The token of the `count`-th invitation e-mail to `email`."""
    mails = mailbox.wait_for(email, count=count, timeout=30)
    return token_from(sorted(mails, key=lambda m: m.name)[count - 1])


def accept(api, token: str, password: str | None = PASSWORD, full_name: str | None = "Anna Nowak", headers=None):
    body = {"token": token}
    if password is not None:
        body["password"] = password
    if full_name is not None:
        body["full_name"] = full_name
    return api.post(api.url(f"{API}/invitations/accept"), json=body, headers=headers or {})


def join(api, mailbox, actor: Person, company_id: str, role: str, prefix: str | None = None,
         full_name: str = "Anna Nowak") -> Person:
    """A new person invited by `actor` who accepts (new account) and logs in."""
    person = Person(email=unique_email(prefix or role), password=PASSWORD, full_name=full_name)
    response = invite(api, actor, company_id, person.email, role)
    assert response.status_code == 201, response.text
    response = accept(api, invitation_token(mailbox, person.email), full_name=full_name)
    assert response.status_code == 200, response.text
    person.account_id = response.json()["account_id"]
    person.companies[company_id] = role
    return login(api, person)


def users_table(api, actor: Person, company_id: str) -> list[dict]:
    response = api.get(api.url(f"{API}/companies/{company_id}/users"), headers=actor.auth)
    assert response.status_code == 200, response.text
    return response.json()


def owners(mongo, system_env, company_id: str) -> list[str]:
    """Straight from the users database: the accounts whose membership role is owner."""
    db = mongo[f"{system_env['KADRA_MONGO_DB_PREFIX']}_users"]
    return [m["account_id"] for m in db["memberships"].find({"company_id": company_id, "role": "owner"})]


def audit_entries(api, company_id: str, headers: dict, action: str, count: int = 1) -> list[dict]:
    """The company's audit entries of one kind, newest first, once `count` of them are there (events travel
    asynchronously)."""
    from tests.support.infra import wait_until

    def found():
        page = api.get(api.url(f"/api/v1/companies/{company_id}/audit"), headers=headers)
        assert page.status_code == 200, page.text
        items = [item for item in page.json()["items"] if item["action"] == action]
        return items if len(items) >= count else None

    return wait_until(found, 15, what=f"{count} audit entr(y/ies) {action}")
