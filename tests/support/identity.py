"""Helpers for identity's end-to-end tests: accounts, logins, mail tokens, source addresses, RPC."""
import re
import urllib.parse
import uuid

import requests
from requests.adapters import HTTPAdapter

from tests.support import signup

PASSWORD = "correct horse battery staple"
TOKEN_IN_LINK = re.compile(r"[#?&]token=([A-Za-z0-9_\-%.~]+)")


def unique_email(tag: str = "p") -> str:
    return f"{tag}-{uuid.uuid4().hex[:10]}@example.com"


def sign_up(api, email: str | None = None, password: str = PASSWORD, full_name: str = "Anna Kowalska",
            company_name: str = "Kowalska Sp. z o.o.", locale: str = "en", mailbox=None) -> dict:
    """A new account and its company, through the e-mailed link; {email, password, account_id, company_id}."""
    email = email or unique_email()
    made = signup.sign_up(api, email, password, full_name, company_name, locale, mailbox)
    return {"email": email, "password": password, **made}


def login(api, email: str, password: str = PASSWORD) -> dict:
    response = api.post(api.url("/api/v1/auth/login"), json={"email": email, "password": password})
    assert response.status_code == 200, response.text
    return response.json()


def bearer(tokens_or_access) -> dict:
    access = tokens_or_access["access_token"] if isinstance(tokens_or_access, dict) else tokens_or_access
    return {"Authorization": f"Bearer {access}"}


def link_token(link: str) -> str:
    match = TOKEN_IN_LINK.search(link)
    assert match, f"no token in {link}"
    return urllib.parse.unquote(match.group(1))


def mail_tokens(mail) -> list[str]:
    """Tokens of every link with a token in an e-mail's text, in order."""
    return [link_token(link) for link in mail.links() if TOKEN_IN_LINK.search(link)]


class _SourceAdapter(HTTPAdapter):
    def __init__(self, source: str, **kwargs):
        self._source = (source, 0)
        super().__init__(**kwargs)

    def init_poolmanager(self, *args, **kwargs):
        kwargs["source_address"] = self._source
        super().init_poolmanager(*args, **kwargs)


def session_from(api, source_ip: str) -> requests.Session:
    """A session whose connections come from another loopback address (its own client-address throttle);
    with an `api`, `session.url(path)` builds its URLs (None: the caller builds them)."""
    session = requests.Session()
    adapter = _SourceAdapter(source_ip)
    session.mount("http://", adapter)
    if api is not None:
        session.url = api.url
    return session


def rpc_client(system_env):
    from gateway.rpc import RpcClient

    return RpcClient(system_env["KADRA_AMQP_URI"], timeout=10)
