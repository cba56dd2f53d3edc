"""Login throttling: the schedule with the identity service's clock moved forward (RPC advance_clock), and
parallel guesses as an attacker sends them — on this run's system and on one with two identity replicas."""
import os
import time
import urllib.request
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.support.identity import (PASSWORD, bearer, login, rpc_client, session_from, sign_up, unique_email)
from tests.support.infra import create_vhost, delete_vhost, free_port, wait_until

pytestmark = pytest.mark.e2e


def _strip(body: dict) -> dict:
    return {k: v for k, v in body.items() if k != "request_id"}


@pytest.fixture
def clock(system_env):
    client = rpc_client(system_env)

    def advance(seconds):
        client.call("identity", "advance_clock", seconds)
    yield advance
    client.close()


def _alike(a, b):
    """The two 429 answers are the same but for the seconds left, which may differ by the one second that can pass
    between the two requests (each is rounded up from its own moment: 240 against 239)."""
    assert a[0] == b[0] == 429, (a, b)
    assert abs(int(a[2]) - int(b[2])) <= 1, (a[2], b[2])
    seconds = {"retry_after", "detail", "detail_pl"}
    assert {k: v for k, v in a[1].items() if k not in seconds} == {k: v for k, v in b[1].items() if k not in seconds}
    for answer in (a, b):
        waited = answer[2]
        assert answer[1]["retry_after"] == waited
        assert answer[1]["detail"] == f"Too many attempts. Try again in {waited} s."
        assert answer[1]["detail_pl"] == f"Zbyt wiele prób. Spróbuj ponownie za {waited} s."


def _attempt(http, email, password):
    response = http.post(http.url("/api/v1/auth/login"), json={"email": email, "password": password})
    return response.status_code, _strip(response.json()), response.headers.get("Retry-After")


def test_lockout_schedule_is_the_same_for_an_account_and_an_unknown_address(api, clock, mailbox):
    # its own client address, so the per-client limit of other tests never mixes in
    http = session_from(api, "127.0.0.21")
    person = sign_up(api)
    known, unknown = person["email"], unique_email("nobody")
    wrong = "not the right password"

    def both(password_known, password_unknown=None):
        a = _attempt(http, known, password_known)
        b = _attempt(http, unknown, password_unknown or password_known)
        return a, b

    # failures 1..5 are answered 401, identically for the account and the unknown address
    for _ in range(5):
        a, b = both(wrong)
        assert a[0] == b[0] == 401 and a[1] == b[1]
    # now each address waits 60 s: even the right password gets 429, with the same body and Retry-After
    expected_waits = [60, 120, 240, 480, 900, 900]
    for step, wait in enumerate(expected_waits):
        a, b = both(PASSWORD, wrong)
        _alike(a, b)
        assert int(a[2]) in (wait - 1, wait) and int(b[2]) in (wait - 1, wait), (step, a[2], b[2])
        # failures during the wait don't count (the next wait is still exactly twice the last)
        for _ in range(3):
            assert both(wrong)[0][0] == 429
        clock(wait - 2)
        assert both(wrong)[0][0] == 429  # not yet
        clock(3)
        if step < len(expected_waits) - 1:
            a, b = both(wrong)          # one more failure after the wait: locked again, for twice as long
            assert a[0] == b[0] == 401 and a[1] == b[1]
    # after the wait the right password works and resets the count
    status, _, _ = _attempt(http, known, PASSWORD)
    assert status == 200
    for _ in range(4):
        assert _attempt(http, known, wrong)[0] == 401
    assert _attempt(http, known, PASSWORD)[0] == 200
    # one notice e-mail for the lockout, not one per wait
    mails = mailbox.wait_for(known, "temporarily locked", timeout=30)
    assert len(mails) == 1


@pytest.mark.slow
def test_one_client_address_cannot_try_many_accounts(api, clock):
    http = session_from(api, "127.0.0.22")
    clock(16 * 60)  # a fresh window for this address
    for i in range(100):
        status = _attempt(http, unique_email(f"spray{i}"), "a guessed password")[0]
        assert status == 401, (i, status)
    status, body, retry_after = _attempt(http, unique_email("spray-last"), "a guessed password")
    assert status == 429 and int(retry_after) > 0 and body["code"] == "too_many_requests"
    # another client address is not affected
    assert _attempt(session_from(api, "127.0.0.23"), unique_email(), "a guessed password")[0] == 401
    clock(15 * 60 + 1)
    assert _attempt(http, unique_email(), "a guessed password")[0] == 401


@pytest.mark.slow
def test_behind_the_proxy_the_client_limit_counts_each_forwarded_client(api, clock):
    """One ingress in front of the gateway: its address must not be one limit for everybody."""
    proxy = session_from(api, "127.0.0.25")
    clock(16 * 60)  # a fresh window

    def attempt(forwarded_for=None, prefix="spray"):
        headers = {"X-Forwarded-For": forwarded_for} if forwarded_for else {}
        response = proxy.post(proxy.url("/api/v1/auth/login"), headers=headers,
                              json={"email": unique_email(prefix), "password": "a guessed password"})
        return response.status_code

    for i in range(100):
        assert attempt("198.51.100.7") == 401, i
    assert attempt("198.51.100.7") == 429
    # another client behind the same proxy, and the proxy's own address, are not affected
    assert attempt("198.51.100.8") == 401
    assert attempt() == 401
    # a client cannot dodge its limit by putting another address in front: the proxy appends the real one
    assert attempt("203.0.113.1, 198.51.100.7") == 429


# -- parallel guesses (issue 14: 40 parallel wrong passwords got 11 checks before the first 429) ---------------

GUESSES = 40


def _in_parallel(base_url, source_ip, email, password, n=GUESSES):
    """`n` logins at once, each on its own connection from `source_ip`: [(status, body, Retry-After)]."""
    def one(_):
        http = session_from(None, source_ip)
        try:
            response = http.post(base_url + "/api/v1/auth/login", json={"email": email, "password": password},
                                 timeout=60)
            return response.status_code, _strip(response.json()), response.headers.get("Retry-After")
        finally:
            http.close()

    with ThreadPoolExecutor(n) as pool:
        return list(pool.map(one, range(n)))


def _assert_five_checks_then_waits(answers):
    statuses = sorted(status for status, _, _ in answers)
    assert statuses == [401] * 5 + [429] * (GUESSES - 5), f"{statuses.count(401)} checks (401): {statuses}"
    for status, body, retry_after in answers:
        if status == 429:
            assert body["code"] == "too_many_requests" and 0 < int(retry_after) <= 60, (body, retry_after)
        else:
            assert body["code"] == "unauthorized"


def test_forty_parallel_wrong_passwords_get_five_checks_for_an_account_and_an_unknown_address(api, mailbox):
    person = sign_up(api)
    known, unknown = person["email"], unique_email("nobody")
    # each address from its own client address, so the per-client limit never mixes in
    answers_known = _in_parallel(api.url(""), "127.0.0.31", known, "a wrong guess 1")
    answers_unknown = _in_parallel(api.url(""), "127.0.0.32", unknown, "a wrong guess 1")
    _assert_five_checks_then_waits(answers_known)
    _assert_five_checks_then_waits(answers_unknown)
    # the same shape for both: the same bodies for the 401s, the same code for the 429s
    assert {str(b) for s, b, _ in answers_known if s == 401} == {str(b) for s, b, _ in answers_unknown if s == 401}
    # the wait holds for the right password too, and the person gets one notice
    status, _, retry_after = _attempt(session_from(api, "127.0.0.31"), known, PASSWORD)
    assert status == 429 and int(retry_after) > 0
    assert len(mailbox.wait_for(known, "temporarily locked", timeout=30)) == 1


def test_wrong_current_passwords_count_towards_the_same_lockout(api):
    """Re-confirmations (the current password of a change) are checks like logins: 5 wrong ones, in
    parallel, and the next login waits."""
    person = sign_up(api)
    tokens = login(api, person["email"])

    def change(_):
        http = session_from(api, "127.0.0.33")
        try:
            return http.post(api.url("/api/v1/auth/password/change"), headers=bearer(tokens),
                             json={"current_password": "not my password", "new_password": "a whole new passphrase"},
                             timeout=60).status_code
        finally:
            http.close()

    with ThreadPoolExecutor(20) as pool:
        statuses = sorted(pool.map(change, range(20)))
    assert statuses == [422] * 5 + [429] * 15, f"{statuses.count(422)} checks (422): {statuses}"
    status, _, _ = _attempt(session_from(api, "127.0.0.33"), person["email"], PASSWORD)
    assert status == 429


def test_the_owners_parallel_logins_all_go_through(api):
    """8 connections logging in over and over with the right password (as the bench does): a check that
    succeeds ends its streak, so the requests waiting for a number go on in the next one; none is refused."""
    person = sign_up(api)

    def logins(_):
        http = session_from(api, "127.0.0.35")
        try:
            return [http.post(api.url("/api/v1/auth/login"), json={"email": person["email"], "password": PASSWORD},
                              timeout=60).status_code for _ in range(5)]
        finally:
            http.close()

    with ThreadPoolExecutor(8) as pool:
        statuses = [status for batch in pool.map(logins, range(8)) for status in batch]
    assert statuses == [200] * 40, statuses


@pytest.fixture
def two_identity_replicas(system_env, tmp_path):
    """A Kadra of its own with two identity processes behind one gateway (login needs nothing else): its
    own vhost and database, and clocks nobody has moved."""
    import sys

    from tests.support.infra import ROOT
    sys.path.insert(0, os.path.join(ROOT, "scripts"))
    from system import BIN, System

    run = uuid.uuid4().hex[:8]
    vhost = f"kadra-replicas-{run}"
    create_vhost(vhost)
    port = free_port()
    env = dict(system_env, KADRA_AMQP_URI=f"amqp://guest:guest@127.0.0.1:5672/{vhost}",
               KADRA_MONGO_DB_PREFIX=f"kr{run}", KADRA_GATEWAY_PORT=str(port),
               KADRA_PUBLIC_URL=f"http://127.0.0.1:{port}", KADRA_GATEWAY_SPOOL_DIR=str(tmp_path / "spool"))
    health = {"identity": free_port(), "identity-2": free_port()}
    running = System(env, str(tmp_path / "logs"), gateway_port=port, health_ports=health, gateway_workers=2)
    running.start_service("identity")
    running._spawn("identity-2", [os.path.join(BIN, "kadra-service"), "identity"],
                   {"KADRA_HEALTH_PORT": str(health["identity-2"]), "KADRA_ROOT": ROOT})
    running.start_gateway()

    def ready():
        assert not running.dead(), running.tails(running.dead())
        try:
            for name in ("identity", "identity-2"):
                with urllib.request.urlopen(f"http://127.0.0.1:{health[name]}/readyz", timeout=2):
                    pass
            with urllib.request.urlopen(running.base_url + "/healthz", timeout=2):
                return True
        except OSError:
            return False

    try:
        wait_until(ready, 120, interval=0.5, what="two identity replicas and a gateway")
        yield running
    finally:
        running.stop()
        from pymongo import MongoClient
        client = MongoClient("mongodb://127.0.0.1:27017/", serverSelectionTimeoutMS=3000)
        client.drop_database(f"kr{run}_identity")
        client.close()
        delete_vhost(vhost)


@pytest.mark.slow
def test_two_identity_replicas_give_five_checks_in_all(two_identity_replicas):
    base = two_identity_replicas.base_url
    for attack in range(2):
        started = time.monotonic()
        answers = _in_parallel(base, "127.0.0.34", unique_email("target"), f"a wrong guess {attack}")
        _assert_five_checks_then_waits(answers)
        assert time.monotonic() - started < 60
