"""identity.signup with its stores on mongomock (same pymongo API, in memory; FerretDB is exercised by tests/e2e),
a recording outbox and a fake users service: what a sign-up request writes for a new and a taken address, the
e-mails it sends, and the link's single use, retry and first-confirmed-wins."""
import types

import mongomock
import pytest
from nameko.exceptions import RemoteError

from kadra_defaults.limits import RateLimited
from identity import signup, tokens
from identity.exceptions import InvalidInput, InvalidToken, Unavailable
from identity.storage import IdentityStore

PASSWORD = "correct horse battery staple"


class FakeUsers:
    """users.create_company: one company per creation key; `down` makes it fail like an outage."""

    def __init__(self):
        self.companies = {}
        self.down = False

    @property
    def create_company(self):
        users = self

        class Call:
            @staticmethod
            def call_async(owner_account_id, name, creation_key):
                if users.down:
                    raise RemoteError("ServiceUnavailable", "users is down")
                company_id = users.companies.setdefault(creation_key, f"company-{len(users.companies) + 1}")
                return types.SimpleNamespace(result=lambda: {"company_id": company_id})

        return Call


class Outbox:
    def __init__(self):
        self.kicks = 0

    def kick(self):
        self.kicks += 1


class Recorder:
    """A pymongo database whose writes are counted per collection and kind (insert, update, delete)."""

    def __init__(self, db):
        self._db, self.writes = db, []

    def __getitem__(self, name):
        collection = self._db[name]
        writes = self.writes

        class Counted:
            def __getattr__(self, attr):
                target = getattr(collection, attr)
                if attr.startswith(("insert", "update", "delete", "find_one_and")):
                    def counted(*args, **kwargs):
                        writes.append((name, attr))
                        return target(*args, **kwargs)
                    return counted
                return target

        return Counted()

    def __getattr__(self, name):
        return getattr(self._db, name)


@pytest.fixture
def deps(monkeypatch):
    monkeypatch.setenv("KADRA_LIMIT_SIGNUPS_PER_CLIENT_HOUR", "3")  # settings are read per environment
    db = Recorder(mongomock.MongoClient(tz_aware=True)["kt_identity"])
    IdentityStore.ensure_indexes(db._db)
    return types.SimpleNamespace(store=IdentityStore(db), outbox=Outbox(), users=FakeUsers(), db=db)


def ask(deps, email, password=PASSWORD, client_ip=None, company="Firma"):
    signup.request(deps, email, password, "Anna Kowalska", company, "pl", client_ip)


def mails(deps):
    """(type, to, payload) of every e-mail event stored so far."""
    out = []
    for doc in deps.db._db["signups"].find():
        out += [(e["type"], e["payload"]["to"], e["payload"]) for e in doc.get("outbox", [])]
    return out


def token_for(deps, email):
    return [p["token"] for t, to, p in mails(deps) if t == "signup_confirmation_requested" and to == email][-1]


def test_a_new_and_a_taken_address_make_the_same_writes_and_answer_nothing(deps):
    ask(deps, "owner@example.pl")
    signup.confirm(deps, token_for(deps, "owner@example.pl"))
    deps.db.writes.clear()
    assert ask(deps, "owner@example.pl", "another passphrase here") is None
    taken = list(deps.db.writes)
    deps.db.writes.clear()
    assert ask(deps, "new@example.pl", "another passphrase here") is None
    assert taken == list(deps.db.writes) and taken  # the same writes, in the same order
    kinds = [(t, to) for t, to, _ in mails(deps)]
    assert ("signup_for_existing_account_attempted", "owner@example.pl") in kinds
    assert ("signup_confirmation_requested", "new@example.pl") in kinds


def test_the_notice_names_the_owner_not_the_person_who_typed_the_address(deps):
    ask(deps, "owner@example.pl")
    signup.confirm(deps, token_for(deps, "owner@example.pl"))
    signup.request(deps, "OWNER@example.pl", "another passphrase here", "Mallory", "Evil", "en", None)
    (notice,) = [p for t, _, p in mails(deps) if t == "signup_for_existing_account_attempted"]
    assert notice["full_name"] == "Anna Kowalska" and notice["locale"] == "pl" and "token" not in notice
    assert "Evil" not in repr(notice)


def test_a_sign_up_stores_only_hashes(deps):
    ask(deps, "anna@example.pl")
    token = token_for(deps, "anna@example.pl")
    doc = deps.db._db["signups"].find_one({"_id": tokens.digest(token)})
    assert doc["password_hash"].startswith("$argon2id$") and PASSWORD not in repr({**doc, "outbox": None})
    assert (doc["expires_at"] - doc["created_at"]).total_seconds() == 24 * 3600
    assert deps.db._db["accounts"].count_documents({}) == 0  # nothing can log in before the link


def test_three_sign_up_emails_an_hour_per_address_then_nothing(deps):
    for _ in range(5):
        ask(deps, "anna@example.pl")
    assert len(mails(deps)) == 3


def test_the_client_limit_refuses_before_any_work(deps):
    for n in range(3):
        ask(deps, f"p{n}@example.pl", client_ip="203.0.113.9")
    deps.db.writes.clear()
    with pytest.raises(RateLimited) as refused:
        ask(deps, "p9@example.pl", client_ip="203.0.113.9")
    assert refused.value.details["headers"]["Retry-After"]
    assert not [w for w in deps.db.writes if w[0] == "signups"]
    ask(deps, "p9@example.pl", client_ip="203.0.113.10")  # another client


def test_a_refused_password_is_refused_before_anything_is_written(deps):
    with pytest.raises(InvalidInput) as refused:
        ask(deps, "anna@example.pl", "short")
    assert refused.value.errors[0]["field"] == "password"
    assert deps.db.writes == []


def test_the_link_works_once_and_a_retry_after_an_outage_finishes_the_same_account(deps):
    ask(deps, "anna@example.pl")
    token = token_for(deps, "anna@example.pl")
    deps.users.down = True
    with pytest.raises(Unavailable):
        signup.confirm(deps, token)
    assert deps.db._db["accounts"].find_one()["status"] == "pending"
    deps.users.down = False
    made = signup.confirm(deps, token)
    assert made == {"account_id": deps.db._db["accounts"].find_one()["_id"], "company_id": "company-1"}
    assert deps.db._db["accounts"].find_one()["status"] == "active"
    with pytest.raises(InvalidToken):
        signup.confirm(deps, token)
    for bad in (None, 5, "", "x" * 19, "x" * 201, "y" * 43):
        with pytest.raises(InvalidToken):
            signup.confirm(deps, bad)


def test_the_first_confirmed_of_several_sign_ups_wins(deps):
    for company in ("Pierwsza", "Druga"):
        ask(deps, "anna@example.pl", company=company)
    first, second = [p["token"] for t, _, p in mails(deps)]
    made = signup.confirm(deps, second)
    with pytest.raises(InvalidToken) as refused:
        signup.confirm(deps, first)
    assert "already has an account" in refused.value.details["detail"]
    assert deps.db._db["accounts"].count_documents({}) == 1
    assert deps.db._db["accounts"].find_one()["_id"] == made["account_id"]
