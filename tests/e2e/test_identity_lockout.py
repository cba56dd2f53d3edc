"""Login throttling with the identity service's clock moved forward (RPC advance_clock)."""
import pytest

from tests.support.identity import PASSWORD, rpc_client, session_from, sign_up, unique_email

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
        assert a[0] == b[0] == 429, (step, a, b)
        assert a[1] == b[1] and a[2] == b[2]
        assert int(a[2]) in (wait - 1, wait), (step, a[2])
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
