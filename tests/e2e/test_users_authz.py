"""Tenant isolation and roles, table-driven: every company route × caller × target company.

Company A has an owner, a manager, an employee and a warehouse keeper; company B has its own owner
("outsider": a member of another company) and a warehouse keeper. Each case is one real HTTP
request; a member of A gets 404 for anything of B (and the outsider for anything of A), no token
gets 401, and within its own company a role gets exactly what the matrix allows.
"""
import pytest

from tests.support.users import API, join, sign_up, unique_email

pytestmark = pytest.mark.e2e

CALLERS = ("owner", "manager", "employee", "warehouse", "outsider", "none")
TARGETS = ("A", "B")

# route -> expected status for a member of the target company, by role
MATRIX = {
    "GET company": {"owner": 200, "manager": 200, "employee": 200, "warehouse": 200},
    "PATCH company": {"owner": 200, "manager": 200, "employee": 403, "warehouse": 403},
    "GET users": {"owner": 200, "manager": 200, "employee": 403, "warehouse": 403},
    "POST users (invite)": {"owner": 201, "manager": 201, "employee": 403, "warehouse": 403},
    "PATCH users/{id} (role)": {"owner": 200, "manager": 200, "employee": 403, "warehouse": 403},
    "DELETE users/{id}": {"owner": 204, "manager": 204, "employee": 403, "warehouse": 403},
    "GET invitations": {"owner": 200, "manager": 200, "employee": 403, "warehouse": 403},
    "POST invitations/{id}/resend": {"owner": 202, "manager": 202, "employee": 403, "warehouse": 403},
    "DELETE invitations/{id}": {"owner": 204, "manager": 204, "employee": 403, "warehouse": 403},
    "POST ownership/transfer": {"owner": 202, "manager": 403, "employee": 403, "warehouse": 403},
    "GET permissions/check": {"owner": 200, "manager": 200, "employee": 200, "warehouse": 200},
    "GET audit": {"owner": 200, "manager": 200, "employee": 403, "warehouse": 403},
}


class World:
    def __init__(self, api, mailbox):
        self.api, self.mailbox = api, mailbox
        owner_a, self.a = sign_up(api, prefix="a-owner", company_name="Firma A")
        owner_b, self.b = sign_up(api, prefix="b-owner", company_name="Firma B")
        self.people = {"owner": owner_a, "outsider": owner_b}
        for role in ("manager", "employee", "warehouse"):
            self.people[role] = join(api, mailbox, owner_a, self.a, role)
        self.keepers = {self.a: self.people["warehouse"], self.b: join(api, mailbox, owner_b, self.b, "warehouse")}
        self.owners = {self.a: owner_a, self.b: owner_b}
        self.results = []

    def member_of(self, caller: str, company_id: str) -> bool:
        return caller != "none" and (company_id == self.a) == (caller != "outsider")

    def role_in(self, caller: str, company_id: str) -> str | None:
        if not self.member_of(caller, company_id):
            return None
        return "owner" if caller == "outsider" else caller

    def fresh_invitation(self, company_id: str) -> str:
        response = self.api.post(self.api.url(f"{API}/companies/{company_id}/users"),
                                 json={"email": unique_email("pending"), "role": "employee"},
                                 headers=self.owners[company_id].auth)
        assert response.status_code == 201, response.text
        return response.json()["invitation_id"]


@pytest.fixture(scope="module")
def world(system, mailbox_module):
    import requests

    session = requests.Session()
    session.url = lambda path: system.base_url + path
    world = World(session, mailbox_module)
    yield world
    # The summary the issue asks for: not one success across companies.
    crossed = [r for r in world.results if r["success"] and not r["member"]]
    assert crossed == [], f"cross-company successes: {crossed}"
    session.close()


@pytest.fixture(scope="module")
def mailbox_module(smtp_server):
    return smtp_server.mailbox


def request_for(world: World, route: str, caller: str, company_id: str, will_succeed: bool):
    """The HTTP request of one matrix case: (method, path, json body)."""
    c = f"{API}/companies/{company_id}"
    keeper = world.keepers[company_id]
    if route == "GET company":
        return "GET", c, None
    if route == "PATCH company":
        return "PATCH", c, {"contact_phone": "+48 600 100 200"}
    if route == "GET users":
        return "GET", f"{c}/users", None
    if route == "POST users (invite)":
        return "POST", f"{c}/users", {"email": unique_email("matrix"), "role": "employee"}
    if route == "PATCH users/{id} (role)":
        return "PATCH", f"{c}/users/{keeper.account_id}", {"role": "warehouse"}
    if route == "DELETE users/{id}":
        # Only a case that will succeed gets a member of its own to remove; the others aim at the owner
        # (never at the caller: leaving the company oneself is allowed to everyone but the owner).
        target = join(world.api, world.mailbox, world.owners[company_id], company_id, "employee") if will_succeed \
            else world.owners[company_id]
        return "DELETE", f"{c}/users/{target.account_id}", None
    if route == "GET invitations":
        return "GET", f"{c}/invitations", None
    if route == "POST invitations/{id}/resend":
        return "POST", f"{c}/invitations/{world.fresh_invitation(company_id)}/resend", None
    if route == "DELETE invitations/{id}":
        return "DELETE", f"{c}/invitations/{world.fresh_invitation(company_id)}", None
    if route == "POST ownership/transfer":
        return "POST", f"{c}/ownership/transfer", {"account_id": keeper.account_id}
    if route == "GET permissions/check":
        return "GET", f"{c}/permissions/check?account_id={keeper.account_id}&permission=warehouse.write", None
    if route == "GET audit":
        return "GET", f"{c}/audit", None
    raise AssertionError(route)


@pytest.mark.parametrize("target", TARGETS)
@pytest.mark.parametrize("caller", CALLERS)
@pytest.mark.parametrize("route", list(MATRIX))
def test_company_route_answers_by_membership_and_role(world, route, caller, target):
    company_id = world.a if target == "A" else world.b
    role = world.role_in(caller, company_id)
    expected = 401 if caller == "none" else (MATRIX[route][role] if role else 404)
    method, path, body = request_for(world, route, caller, company_id, will_succeed=expected < 300)
    headers = world.people[caller].auth if caller != "none" else {}
    response = world.api.request(method, world.api.url(path), json=body, headers=headers)
    world.results.append({"route": route, "caller": caller, "target": target, "status": response.status_code,
                          "success": response.status_code < 300, "member": role is not None})
    assert response.status_code == expected, response.text
    if response.status_code >= 400:
        assert response.headers["Content-Type"] == "application/problem+json"
    if expected == 404:
        # a non-member learns nothing: the same answer as for a company that does not exist
        assert response.json()["detail"] == "No such company, or you are not a member of it."


def test_a_member_id_of_another_company_is_not_found(world):
    manager = world.people["manager"]
    b_keeper = world.keepers[world.b]
    for method, body in (("PATCH", {"role": "employee"}), ("DELETE", None)):
        response = world.api.request(method, world.api.url(f"{API}/companies/{world.a}/users/{b_keeper.account_id}"),
                                     json=body, headers=manager.auth)
        assert response.status_code == 404
    # and B's keeper is untouched
    check = world.api.get(world.api.url(f"{API}/companies/{world.b}/permissions/check"),
                          params={"account_id": b_keeper.account_id, "permission": "warehouse.write"},
                          headers=world.owners[world.b].auth)
    assert check.json() == {"allowed": True}


def test_an_invitation_id_of_another_company_is_not_found(world):
    b_invitation = world.fresh_invitation(world.b)
    owner_a = world.people["owner"]
    for method, suffix in (("POST", "/resend"), ("DELETE", "")):
        response = world.api.request(
            method, world.api.url(f"{API}/companies/{world.a}/invitations/{b_invitation}{suffix}"),
            headers=owner_a.auth)
        assert response.status_code == 404


def test_permission_check_about_a_person_of_another_company_is_false(world):
    response = world.api.get(world.api.url(f"{API}/companies/{world.a}/permissions/check"),
                             params={"account_id": world.keepers[world.b].account_id, "permission": "warehouse.read"},
                             headers=world.people["employee"].auth)
    assert response.status_code == 200 and response.json() == {"allowed": False}
