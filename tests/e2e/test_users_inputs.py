"""Bad input on every users route: a 4xx that names the field, and nothing stored."""
import pytest

from tests.support.users import API, join, sign_up

pytestmark = pytest.mark.e2e

LONG = "x" * 201


@pytest.fixture(scope="module")
def setup(system, smtp_server):
    import requests

    session = requests.Session()
    session.url = lambda path: system.base_url + path
    owner, company_id = sign_up(session)
    member = join(session, smtp_server.mailbox, owner, company_id, "employee")
    yield session, owner, company_id, member
    session.close()


def snapshot(mongo, system_env, company_id):
    """Everything a users route could have written for this company."""
    db = mongo[f"{system_env['KADRA_MONGO_DB_PREFIX']}_users"]
    strip = lambda docs: sorted((str(sorted(d.items())) for d in docs))  # noqa: E731
    return {
        "company": str(sorted(db["companies"].find_one({"_id": company_id}).items())),
        "companies": db["companies"].count_documents({}),
        "memberships": strip(db["memberships"].find({"company_id": company_id})),
        "invitations": strip(db["invitations"].find({"company_id": company_id})),
        "audit": db["audit"].count_documents({"company_id": company_id}),
        "transfers": db["ownership_transfers"].count_documents({"company_id": company_id}),
    }


# (method, path under /companies/{c} or absolute, json body, expected status, field named)
CASES = [
    ("POST", "/users", {"email": "a@example.com", "role": "boss"}, 422, "role"),
    ("POST", "/users", {"email": "a@example.com", "role": "owner"}, 422, "role"),
    ("POST", "/users", {"email": "not-an-email", "role": "employee"}, 422, "email"),
    ("POST", "/users", {"role": "employee"}, 422, "email"),
    ("POST", "/users", {"email": "a@example.com"}, 422, "role"),
    ("POST", "/users", {"email": "a" * 250 + "@example.com", "role": "employee"}, 422, "email"),
    ("POST", "/users", {"email": ["a@example.com"], "role": "employee"}, 422, "email"),
    ("POST", "/users", {"email": "a@example.com", "role": 3}, 422, "role"),
    ("POST", "/users", {"email": "a@example.com", "role": "employee", "admin": True}, 422, "admin"),
    ("POST", "/users", [1, 2], 422, "body"),
    ("PATCH", "/users/{member}", {"role": "superuser"}, 422, "role"),
    ("PATCH", "/users/{member}", {"role": None}, 422, "role"),
    ("PATCH", "/users/{member}", {}, 422, "role"),
    ("PATCH", "/users/ffffffffffffffffffffffffffffffff", {"role": "employee"}, 404, None),
    ("DELETE", "/users/ffffffffffffffffffffffffffffffff", None, 404, None),
    ("PATCH", "", {"nip": "1234567890"}, 422, "nip"),
    ("PATCH", "", {"regon": "12345678"}, 422, "regon"),
    ("PATCH", "", {"name": LONG}, 422, "name"),
    ("PATCH", "", {"name": ""}, 422, "name"),
    ("PATCH", "", {"name": 5}, 422, "name"),
    ("PATCH", "", {"contact_email": "nope"}, 422, "contact_email"),
    ("PATCH", "", {"contact_phone": "call me"}, 422, "contact_phone"),
    ("PATCH", "", {"address": {"street": "Polna 1", "postal_code": "123", "city": "Kraków"}}, 422,
     "address.postal_code"),
    ("PATCH", "", {"address": "Polna 1"}, 422, "address"),
    ("PATCH", "", {}, 422, "body"),
    ("POST", "/invitations/ffffffffffffffffffffffffffffffff/resend", None, 404, None),
    ("DELETE", "/invitations/ffffffffffffffffffffffffffffffff", None, 404, None),
    ("POST", "/ownership/transfer", {}, 422, "account_id"),
    ("POST", "/ownership/transfer", {"account_id": "ffffffffffffffffffffffffffffffff"}, 422, "account_id"),
    ("POST", "/ownership/transfer", {"account_id": 12}, 422, "account_id"),
    ("GET", "/permissions/check?account_id=x", None, 422, "permission"),
    ("GET", "/permissions/check?permission=invoices.read", None, 422, "account_id"),
    ("GET", "/permissions/check?account_id=x&permission=everything", None, 422, "permission"),
    ("GET", "/audit?page=0", None, 422, "page"),
    ("GET", "/audit?per_page=100000", None, 422, "per_page"),
    ("GET", "/audit?page=abc", None, 422, "page"),
    ("POST", "//companies", {"name": LONG}, 422, "name"),
    ("POST", "//companies", {}, 422, "name"),
    ("POST", "//companies", {"name": ["A"]}, 422, "name"),
    ("POST", "//invitations/accept", {}, 422, "token"),
    ("POST", "//invitations/accept", {"token": 5}, 422, "token"),
    ("POST", "//invitations/accept", {"token": "no-such-token", "password": "x" * 20}, 400, "token"),
    ("POST", "//ownership/accept", {"token": "no-such-token"}, 400, "token"),
    ("POST", "//ownership/accept", {}, 422, "token"),
]


@pytest.mark.parametrize("method, path, body, status, field", CASES,
                         ids=[f"{c[0]} {c[1]} {c[4]}" for c in CASES])
def test_bad_input_names_the_field_and_stores_nothing(setup, mongo, system_env, method, path, body, status, field):
    session, owner, company_id, member = setup
    path = path.replace("{member}", member.account_id)
    url = f"{API}{path[1:]}" if path.startswith("//") else f"{API}/companies/{company_id}{path}"
    before = snapshot(mongo, system_env, company_id)
    response = session.request(method, session.url(url), json=body, headers=owner.auth)
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"] == "application/problem+json"
    problem = response.json()
    assert problem["detail"] and problem["detail_pl"]
    if field:
        named = [e["field"] for e in problem.get("errors", [])]
        # A value of the wrong JSON type as a whole is reported by marshmallow as "<field>._schema"
        # ("_schema" for the body itself): that still names the field.
        named += [n[:-len("._schema")] for n in named if n.endswith("._schema")]
        named += ["body" for n in named if n == "_schema"]
        assert field in named, problem
        assert all(e["message"] and e["message_pl"] for e in problem["errors"])
    assert snapshot(mongo, system_env, company_id) == before
