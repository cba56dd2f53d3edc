"""identity's throttle store on the real database (no services): counters, their windows and the sweep."""
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest

from identity.storage import IdentityStore
from kadra_defaults import clock
from kadra_defaults.storage import connect
from tests.support.infra import store_on_own_database

pytestmark = pytest.mark.integration


@pytest.fixture
def store(real_parts):
    """The throttle counters of an IdentityStore on a database of its own."""
    with store_on_own_database(IdentityStore, "identity_store") as store:
        yield store.throttle


@pytest.fixture
def shift(monkeypatch):
    """Move this process's clock (the store's) forward; back at the end."""
    monkeypatch.setenv(clock.ALLOW_ENV, "1")
    yield clock.advance
    clock.reset()


def test_a_window_counts_until_it_is_over_then_the_next_event_opens_another(store, shift):
    assert [store.count_in_window("r:a@example.com", 3600) for _ in range(4)] == [1, 2, 3, 4]
    assert store.count_in_window("r:b@example.com", 3600) == 1  # each key its own
    shift(3601)
    assert store.count_in_window("r:a@example.com", 3600) == 1
    assert store.count_in_window("r:a@example.com", 3600) == 2


def _checks(store, email, n, client_ip=None):
    """`n` password checks of `email` one after the other, each failing: their numbers (None: refused)."""
    numbers = []
    for _ in range(n):
        attempt = store.begin(email, client_ip)
        if attempt.allowed:
            store.failed(attempt, client_ip)
        numbers.append(attempt.number)
    return numbers


def test_five_checks_then_one_per_wait(store, shift):
    assert _checks(store, "a@example.com", 7) == [1, 2, 3, 4, 5, None, None]
    refused = store.begin("a@example.com", None)
    assert not refused.allowed and 58 < refused.wait <= 60
    shift(61)
    assert _checks(store, "a@example.com", 2) == [6, None]
    assert 118 < store.begin("a@example.com", None).wait <= 120
    assert _checks(store, "b@example.com", 1) == [1]  # each address its own


def test_a_success_starts_a_new_streak(store):
    assert _checks(store, "a@example.com", 4) == [1, 2, 3, 4]
    attempt = store.begin("a@example.com", None)
    store.succeeded(attempt)
    assert _checks(store, "a@example.com", 6) == [1, 2, 3, 4, 5, None]
    store.record_success("a@example.com")  # a completed reset
    assert _checks(store, "a@example.com", 1) == [1]


def test_a_failure_streak_a_day_old_starts_again(store, shift):
    assert _checks(store, "a@example.com", 3) == [1, 2, 3]
    shift(23 * 3600)
    assert _checks(store, "a@example.com", 1) == [4]  # the streak began 23 h ago
    shift(2 * 3600)
    assert _checks(store, "a@example.com", 2) == [1, 2]


def test_forty_racing_checks_on_four_replicas_get_five_numbers_then_one_per_wait(store, shift):
    """Each thread is a request on one of four identity replicas (its own client): however they interleave,
    5 checks start before the wait, and 1 after it; the refused ones wait only for those checks."""
    replicas = [IdentityStore(connect("mongodb://127.0.0.1:27017/")[store.db.name]).throttle for _ in range(4)]
    try:
        def guess(i):
            replica = replicas[i % 4]
            attempt = replica.begin("a@example.com", None)
            if attempt.allowed:
                time.sleep(0.05)  # the hash
                replica.failed(attempt, None)
            return attempt

        def race():
            started = time.monotonic()
            with ThreadPoolExecutor(40) as pool:
                attempts = list(pool.map(guess, range(40)))
            assert time.monotonic() - started < 5  # nobody waited for more than the checks
            assert all(a.wait > 0 for a in attempts if not a.allowed)
            return sorted(a.number for a in attempts if a.allowed)

        assert race() == [1, 2, 3, 4, 5]
        shift(61)
        assert race() == [6]
    finally:
        for replica in replicas:
            replica.db.client.close()


def test_the_owners_racing_checks_all_go_on_as_each_success_ends_its_streak(store):
    def login(_):
        attempt = store.begin("owner@example.com", None)
        if attempt.allowed:
            time.sleep(0.05)
            store.succeeded(attempt)
        return attempt.allowed

    with ThreadPoolExecutor(20) as pool:
        assert all(pool.map(login, range(20)))


def test_the_fifth_failure_stores_the_notice_once(store):
    event = {"id": "e1", "type": "login_locked_out"}
    results = []
    for _ in range(7):
        attempt = store.begin("locked@example.com", None)
        if attempt.allowed:
            results.append(store.failed(attempt, None, lambda until: event)["notified"])
    assert results == [False, False, False, False, True]
    assert store.by_key("throttle", "e:locked@example.com")["outbox"] == [event]


def test_the_sweep_removes_throttle_counters_nothing_reads_any_more(store, shift):
    # The sweep reads due buckets of an hour, a minute after each ends (kit: due buckets): start at ten past
    # an hour, so that each document's bucket ends at a known moment.
    started = clock.now()
    shift(((70 - started.minute) % 60) * 60 - started.second)
    _checks(store, "a@example.com", 1, "192.0.2.1")
    for _ in range(5):  # a lockout: its notice waits in the counter's outbox
        attempt = store.begin("locked@example.com", None)
        store.failed(attempt, None, lambda until: {"id": "e1", "type": "login_locked_out"})
    assert store.count_in_window("r:a@example.com", 3600) == 1
    assert store.count_in_window("r:a@example.com", 3600) == 2
    ids = {d["_id"] for d in store.db.throttle.find({}, {"_id": 1})}
    assert ids == {"e:a@example.com", "c:192.0.2.1", "e:locked@example.com", "r:a@example.com"}
    reservations = store.db.attempts.count_documents({})
    assert reservations == 1 + 1 + 5 + 1  # the numbers and each streak's hint

    now = clock.now()
    assert store.sweep(now + timedelta(minutes=30)) == 0               # all still in use
    assert store.sweep(now + timedelta(hours=3)) == 2                 # the windows are long closed
    assert {d["_id"] for d in store.db.throttle.find({}, {"_id": 1})} == {"e:a@example.com", "e:locked@example.com"}
    # a day on, the streaks are over: the address's counter goes by the end of that hour (the pending notice
    # stays), and a day and an hour on, the reservations too, by the end of the hour they expire in
    assert store.sweep(now + timedelta(hours=24, minutes=30)) == 0   # over, but its bucket has not ended
    assert store.sweep(now + timedelta(hours=24, minutes=55)) == 1
    assert [d["_id"] for d in store.db.throttle.find({}, {"_id": 1})] == ["e:locked@example.com"]
    assert store.sweep(now + timedelta(hours=26, minutes=1)) == reservations
    assert store.db.attempts.count_documents({}) == 0
    assert store.count_in_window("r:a@example.com", 3600) == 1        # a swept window starts again
    shift(25 * 3600 + 60)
    assert _checks(store, "a@example.com", 1) == [1]                  # and so does a swept streak


def test_a_counter_from_before_numbered_streaks_is_carried_on(store):
    """A counter written by the code before issue 14 (failures, locked_until, no streak number)."""
    now = clock.now()
    store.db.throttle.insert_one({"_id": "e:old@example.com", "failures": 3, "streak_at": now,
                                  "locked_until": None, "last_failure_at": now})
    assert _checks(store, "old@example.com", 6) == [1, 2, 3, 4, 5, None]
    store.succeeded(store.begin("new@example.com", None))
    store.record_success("old@example.com")
    doc = store.by_key("throttle", "e:old@example.com")
    assert doc["streak"] == 1 and "failures" not in doc and "last_failure_at" not in doc
