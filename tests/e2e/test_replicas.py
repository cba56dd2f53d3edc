"""Two of everything, as the Kubernetes base runs Kadra: two processes of every service, two gateways.

The races of the other suites run in this shape too (test_users_concurrency.py is parametrised over
both shapes); here: that the shape is what it claims, that what one gateway changes the other
applies on its next request, and that every e-mail goes out once while two notify replicas consume.
"""
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from tests.support.infra import wait_until
from tests.support.notify import consumers
from tests.support.second_factor import enrol
from tests.support.systems import spread_session
from tests.support.users import API, PASSWORD, Person, invite, join, login, sign_up, unique_email

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

SERVICES = ("identity", "users", "devices", "notify")


@pytest.fixture
def api(replicated_api):
    return replicated_api


def _vhost(running) -> str:
    return running.env["KADRA_AMQP_URI"].rsplit("/", 1)[1]


def test_two_processes_of_every_service_consume_and_two_gateways_answer(replicated_system):
    running = replicated_system
    for name in SERVICES:
        assert [p for p in running.processes(name) if p in running.procs] == [name, f"{name}-2"]
        # Both processes consume the service's RPC queue (nameko's `rpc-<service>`); the management API
        # counts consumers with its statistics, seconds behind.
        wait_until(lambda: consumers(_vhost(running), f"rpc-{name}") == 2, 30, what=f"two consumers of rpc-{name}")
    wait_until(lambda: consumers(_vhost(running), "notify.mail") == 2, 30, what="two consumers of notify.mail")
    assert running.dead() == []
    assert len(set(running.base_urls)) == 2
    for url in running.base_urls:
        assert requests.get(url + "/readyz", timeout=5).status_code == 200


def _on(url: str, method: str, path: str, person: Person, **kwargs) -> int:
    return requests.request(method, url + path, headers=person.auth, timeout=10, **kwargs).status_code


def _seen_everywhere(urls, check, expected, within: float = 1.0):
    """Seconds until every gateway answers `expected` to `check(url)`; fails after `within` seconds."""
    started = time.monotonic()
    pending = list(urls)
    while pending:
        pending = [url for url in pending if check(url) != expected]
        if pending and time.monotonic() - started > within:
            raise AssertionError(f"not seen within {within} s on {pending}")
    return time.monotonic() - started


def test_a_role_change_made_through_one_gateway_holds_on_both_at_the_next_request(api, replicated_system, mailbox):
    running = replicated_system
    owner, company_id = sign_up(api)
    member = join(api, mailbox, owner, company_id, "employee")
    users = f"{API}/companies/{company_id}/users"
    first, second = running.base_urls
    # Each gateway answers once for the employee, so both hold its membership in their copies.
    assert [_on(url, "GET", users, member) for url in running.base_urls] == [403, 403]
    assert _on(first, "PATCH", f"{users}/{member.account_id}", owner, json={"role": "manager"}) == 200
    took = _seen_everywhere([second, first], lambda url: _on(url, "GET", users, member), 200)
    assert _on(second, "PATCH", f"{users}/{member.account_id}", owner, json={"role": "employee"}) == 200
    back = _seen_everywhere([first, second], lambda url: _on(url, "GET", users, member), 403)
    print(f"\nrole change seen on both gateways after {took * 1000:.0f} / {back * 1000:.0f} ms")


def test_the_second_factor_policy_switched_through_one_gateway_holds_on_both_within_a_second(api, replicated_system,
                                                                                            mailbox):
    running = replicated_system
    owner, company_id = sign_up(api)
    member = join(api, mailbox, owner, company_id, "employee")
    enrol(api, owner.auth)
    company = f"{API}/companies/{company_id}"
    first, second = running.base_urls
    # Each gateway answers once for the member, so both hold its membership in their copies.
    assert [_on(url, "GET", company, member) for url in running.base_urls] == [200, 200]
    policy = f"{company}/second-factor-policy"
    assert _on(first, "PUT", policy, owner, json={"required": True}) == 200
    took = _seen_everywhere([second, first], lambda url: _on(url, "GET", company, member), 403)
    assert _on(second, "PUT", policy, owner, json={"required": False}) == 200
    back = _seen_everywhere([first, second], lambda url: _on(url, "GET", company, member), 200)
    print(f"\nsecond-factor policy seen on both gateways after {took * 1000:.0f} / {back * 1000:.0f} ms")


def test_a_logout_through_one_gateway_ends_the_token_on_both(api, replicated_system):
    running = replicated_system
    owner, _ = sign_up(api)
    first, second = running.base_urls
    assert [_on(url, "GET", f"{API}/me", owner) for url in running.base_urls] == [200, 200]
    assert _on(first, "POST", f"{API}/auth/logout", owner, json={}) == 204
    _seen_everywhere([second, first], lambda url: _on(url, "GET", f"{API}/me", owner), 401)


def test_every_invitation_e_mail_goes_out_once_while_two_notify_replicas_consume(api, replicated_system, mailbox):
    owner, company_id = sign_up(api)
    addresses = [unique_email("twice") for _ in range(40)]

    def send(address):
        with spread_session(replicated_system) as session:
            return invite(session, owner, company_id, address, "employee").status_code

    with ThreadPoolExecutor(8) as pool:
        assert list(pool.map(send, addresses)) == [201] * len(addresses)
    for address in addresses:
        assert len(mailbox.wait_for(address, count=1, timeout=60)) >= 1
    time.sleep(3)  # a second copy, if any, would have come by now (the claim's retry is 1 s)
    counts = {address: len(mailbox.to(address)) for address in addresses}
    assert [a for a, n in counts.items() if n != 1] == []


def test_a_person_logs_in_on_either_gateway_after_signing_up_on_the_other(replicated_system):
    first, second = replicated_system.base_urls
    with requests.Session() as one:
        one.url = lambda path: first + path
        person, _ = sign_up(one)
    with requests.Session() as two:
        two.url = lambda path: second + path
        assert login(two, Person(email=person.email, password=PASSWORD, full_name="")).token


def test_twenty_concurrent_activations_over_both_gateways_store_one_device(api, replicated_system, mongo):
    from tests.support.devices import Phone, concurrently, devices_of, web_login
    from tests.support.devices import sign_up as device_account

    account = device_account(api)
    web = web_login(api, account)
    for run in range(5):
        # 20 racers (the single-process suite runs 50): each checks the password (argon2id), and twice the
        # processes share the same two cores here.
        phones = [Phone(api, name=f"phone-{run}-{i}") for i in range(20)]
        responses = concurrently([lambda p=p: p.activate(account) for p in phones], workers=20)
        statuses = sorted(r.status_code for r in responses)
        assert statuses == [201] + [409] * 19, f"run {run}: {statuses}"
        stored = devices_of(mongo, replicated_system.env, account["account_id"])
        winner = next(p for p, r in zip(phones, responses) if r.status_code == 201)
        assert [d["_id"] for d in stored] == [winner.device_id], f"run {run}"
        # clear the account for the next run (from the web, as a person would)
        assert api.delete(api.url(f"/api/v1/me/devices/{winner.device_id}"), headers=web).status_code == 204


def test_sixteen_concurrent_redemptions_of_one_reset_link_over_both_gateways_one_wins(api, replicated_system, mailbox):
    from tests.support.users import token_from

    person, _ = sign_up(api)
    for run in range(5):
        assert api.post(api.url(f"{API}/auth/password/forgot"), json={"email": person.email}).status_code == 202
        mails = mailbox.wait_for(person.email, subject_contains="ustaw nowe hasło", count=run + 1, timeout=30)
        token = token_from(sorted(mails, key=lambda m: m.name)[-1])
        password = f"{PASSWORD} run {run}"

        def redeem(_):
            with spread_session(replicated_system) as session:
                return session.post(session.url(f"{API}/auth/password/reset"),
                                    json={"token": token, "new_password": password}, timeout=30).status_code

        with ThreadPoolExecutor(16) as pool:
            statuses = sorted(pool.map(redeem, range(16)))
        assert statuses == [204] + [400] * 15, f"run {run}: {statuses}"
        person.password = password
        assert login(api, person).token
