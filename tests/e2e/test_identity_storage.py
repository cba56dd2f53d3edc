"""identity's throttle store on the real database (no services): counters, their windows and the sweep."""
from datetime import timedelta

import pytest

from identity.storage import IdentityStore
from kadra_defaults import clock
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


def test_a_failure_streak_a_day_old_starts_again(store, shift):
    for n in (1, 2, 3):
        assert store.record_failure("a@example.com", None)["failures"] == n
    shift(23 * 3600)
    assert store.record_failure("a@example.com", None)["failures"] == 4  # the streak began 23 h ago
    shift(2 * 3600)
    assert store.record_failure("a@example.com", None)["failures"] == 1
    assert store.record_failure("a@example.com", None)["failures"] == 2


def test_the_sweep_removes_throttle_counters_nothing_reads_any_more(store):
    store.record_failure("a@example.com", "192.0.2.1")
    for _ in range(5):  # a lockout: its notice waits in the counter's outbox
        store.record_failure("locked@example.com", None, lambda until: {"id": "e1", "type": "login_locked_out"})
    assert store.count_in_window("r:a@example.com", 3600) == 1
    assert store.count_in_window("r:a@example.com", 3600) == 2
    ids = {d["_id"] for d in store.db.throttle.find({}, {"_id": 1})}
    assert ids == {"e:a@example.com", "c:192.0.2.1", "e:locked@example.com", "r:a@example.com"}

    now = clock.now()
    assert store.sweep(now + timedelta(minutes=30)) == 0               # all still in use
    assert store.sweep(now + timedelta(hours=3)) == 2                 # the windows are long closed
    assert {d["_id"] for d in store.db.throttle.find({}, {"_id": 1})} == {"e:a@example.com", "e:locked@example.com"}
    assert store.sweep(now + timedelta(hours=25)) == 1                # a day-old streak; the pending notice stays
    assert [d["_id"] for d in store.db.throttle.find({}, {"_id": 1})] == ["e:locked@example.com"]
    assert store.count_in_window("r:a@example.com", 3600) == 1        # a swept window starts again
