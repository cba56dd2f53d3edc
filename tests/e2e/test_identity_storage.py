"""identity's store on the real database (no services): what the sweep removes from the throttle counters."""
import uuid
from datetime import timedelta

import pytest

from identity.storage import IdentityStore
from kadra_defaults import clock
from kadra_defaults.mongo import connect

pytestmark = pytest.mark.integration


@pytest.fixture
def store(real_parts):
    client = connect("mongodb://127.0.0.1:27017/")
    name = f"kt{uuid.uuid4().hex[:8]}_identity_store"
    IdentityStore.ensure_indexes(client[name])
    yield IdentityStore(client[name])
    client.drop_database(name)
    client.close()


def test_the_sweep_removes_throttle_counters_nothing_reads_any_more(store):
    store.record_failure("a@example.com", "192.0.2.1")
    for _ in range(5):  # a lockout: its notice waits in the counter's outbox
        store.record_failure("locked@example.com", None, lambda until: {"id": "e1", "type": "login_locked_out"})
    assert store.count_in_window("r:a@example.com", 3600) == 1
    assert store.count_in_window("r:a@example.com", 3600) == 2
    ids = {d["_id"] for d in store.db.throttle.find({}, {"_id": 1})}
    assert ids == {"e:a@example.com", "c:192.0.2.1", "e:locked@example.com", "r:a@example.com"}

    now = clock.now()
    assert store.sweep_throttle(now + timedelta(minutes=30)) == 0      # all still in use
    assert store.sweep_throttle(now + timedelta(hours=3)) == 2        # the windows are long closed
    assert {d["_id"] for d in store.db.throttle.find({}, {"_id": 1})} == {"e:a@example.com", "e:locked@example.com"}
    assert store.sweep_throttle(now + timedelta(hours=25)) == 1       # a day-old streak; the pending notice stays
    assert [d["_id"] for d in store.db.throttle.find({}, {"_id": 1})] == ["e:locked@example.com"]
    assert store.count_in_window("r:a@example.com", 3600) == 1        # a swept window starts again
