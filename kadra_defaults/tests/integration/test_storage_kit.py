"""The storage kit's tactics against the real database (FerretDB here, MongoDB in production)."""
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest

from kadra_defaults import clock
from kadra_defaults.storage import (KeyIndex, KeySet, Lease, LeaseBusy, Store, claim, connect, in_parallel, once,
                                    sweep_claims)

pytestmark = pytest.mark.integration


@pytest.fixture
def db():
    client = connect("mongodb://127.0.0.1:27017/")
    name = f"kt{uuid.uuid4().hex[:8]}_kit"
    yield client[name]
    client.drop_database(name)
    client.close()


def _race(n, fn):
    barrier = threading.Barrier(n)

    def run(i):
        barrier.wait()
        return fn(i)

    with ThreadPoolExecutor(n) as pool:
        return list(pool.map(run, range(n)))


def test_a_claim_is_won_by_exactly_one_of_twenty_racing_callers(db):
    wins = _race(20, lambda i: claim(db, "token:abc"))
    assert wins.count(True) == 1


def test_claims_are_forgotten_only_once_expired(db):
    now = clock.now()
    claim(db, "old", now - timedelta(seconds=1))
    claim(db, "live", now + timedelta(hours=5))
    claim(db, "forever")
    # The sweep reads due buckets (an hour each) a minute after they end: judged 62 minutes on, when the
    # old claim's bucket has surely ended and the live one's has not.
    assert sweep_claims(db, now + timedelta(minutes=62)) == 1
    assert not claim(db, "live") and not claim(db, "forever") and claim(db, "old")


def test_a_key_points_at_one_document_however_many_race_for_it(db):
    index = KeyIndex(db, "email")
    results = _race(16, lambda i: index.put("ala@example.pl", f"account-{i}"))
    assert results.count(True) == 1
    winner = f"account-{results.index(True)}"
    assert index.get("ala@example.pl") == winner
    assert index.put("ala@example.pl", winner)  # the writer's retry finds its own key
    index.drop("ala@example.pl", "account-someone-else")
    assert index.get("ala@example.pl") == winner
    index.drop("ala@example.pl", winner)
    assert index.get("ala@example.pl") is None


def test_a_key_set_lists_every_ref_of_its_value_however_many_add_at_once(db):
    members = KeySet(db, "company-members")
    _race(20, lambda i: members.add("c1", f"a{i:02d}"))
    members.add("c1", "a03")  # twice: no-op
    members.add("c10", "x")  # a value sharing a prefix ("c1" / "c10") is another set
    members.add("c1-", "y")
    assert members.refs("c1") == [f"a{i:02d}" for i in range(20)]
    members.remove("c1", "a05")
    members.remove("c1", "never-added")
    assert "a05" not in members.refs("c1") and len(members.refs("c1")) == 19
    assert members.refs("c10") == ["x"] and members.refs("nobody") == []
    for bad in ("a:b", "", "ę", None, "a b"):
        with pytest.raises(ValueError):
            members.add(bad, "x")
        with pytest.raises(ValueError):
            members.add("c1", bad)
        assert members.refs(bad) == []  # a look-up with anything a caller sends is never an error


def test_a_key_set_is_read_from_the_id_index(db):
    """The range read is an index search, never a scan (our FerretDB build: scripts/ferretdb/id_range.py)."""
    sets = KeySet(db, "k")
    for i in range(50):
        sets.add(f"v{i % 5}", f"r{i}")
    plan = db.command("explain", {"find": "keys", "filter": {"_id": {"$gte": "k:v1:", "$lt": "k:v1;"}}})
    text = str(plan.get("queryPlanner", plan))
    assert "SCAN" not in text.replace("IXSCAN", "") and ("SEARCH" in text or "IXSCAN" in text or "IDHACK" in text), text


def test_a_one_off_pass_runs_once_per_database(db):
    runs = []
    once(db, "made:test:v1", lambda: runs.append(1))
    once(db, "made:test:v1", lambda: runs.append(1))
    assert runs == [1]


def test_a_lease_is_held_by_one_process_at_a_time(db):
    inside, overlaps, done = [0], [0], []

    def work(i):
        with Lease(db, "company:42", ttl=10).held(wait=30):
            inside[0] += 1
            if inside[0] > 1:
                overlaps[0] += 1
            time.sleep(0.01)
            inside[0] -= 1
            done.append(i)

    _race(12, work)
    assert overlaps[0] == 0 and sorted(done) == list(range(12))


def test_a_lease_whose_holder_died_is_taken_over_after_its_time(db):
    dead = Lease(db, "sweep", ttl=0.2)
    assert dead.take()
    assert not Lease(db, "sweep", ttl=5).take()
    time.sleep(0.3)
    heir = Lease(db, "sweep", ttl=5)
    assert heir.take()
    dead.release()  # the old holder coming back never frees the heir's lease
    assert not Lease(db, "sweep", ttl=5).take()


def test_a_renewed_lease_stays_its_holders_and_a_lost_one_says_so(db):
    holder = Lease(db, "relay", ttl=0.3)
    assert holder.take()
    for _ in range(3):  # renewed within its time, past three of its ttls
        time.sleep(0.15)
        assert holder.renew()
        assert not Lease(db, "relay", ttl=5).take()
    time.sleep(0.4)  # not renewed: taken over
    assert Lease(db, "relay", ttl=5).take()
    assert not holder.renew()  # the old holder learns it lost it, and never extends the new one's


def test_a_busy_lease_gives_up_after_the_wait(db):
    assert Lease(db, "busy", ttl=30).take()
    with pytest.raises(LeaseBusy):
        with Lease(db, "busy").held(wait=0.2):
            pass


def test_key_look_ups_and_parallel_reads(db):
    store = Store(db)
    db.things.insert_many([{"_id": "a", "n": 1}, {"_id": "b", "n": 2}])
    assert store.by_key("things", "a")["n"] == 1 and store.by_key("things", 5) is None
    assert in_parallel(lambda: store.by_key("things", "b")["n"], lambda: 7) == [2, 7]


def test_forty_racing_attempts_get_exactly_five_numbers(db):
    from kadra_defaults.storage import AttemptCounter

    counter = AttemptCounter(db)
    numbers = _race(40, lambda i: counter.reserve("login:ala@example.pl:streak1", 5))
    assert sorted(n for n in numbers if n is not None) == [1, 2, 3, 4, 5]
    assert numbers.count(None) == 35
    assert counter.reserve("login:ala@example.pl:streak2", 5) == 1  # another key (a new streak) starts at 1
    assert counter.used("login:ala@example.pl:streak1") <= 5  # a hint: may lag a racing reservation
    assert counter.taken("login:ala@example.pl:streak1", 5) and not counter.taken("login:ala@example.pl:streak1", 6)


def test_attempt_reservations_expire_with_the_sweep(db):
    from kadra_defaults.storage import AttemptCounter, sweep_attempts

    counter = AttemptCounter(db)
    now = clock.now()
    assert counter.reserve("reset:a", 1, expires_at=now - timedelta(seconds=1)) == 1
    assert counter.reserve("reset:a", 1) is None
    assert sweep_attempts(db, now + timedelta(minutes=62)) == 2  # the reservation and its hint (bucket ended)
    assert counter.reserve("reset:a", 1) == 1


def test_twenty_first_heartbeats_at_once_all_answer(db):
    """Readiness probes of several gateway workers ping a fresh service at once: none may fail."""
    store = Store(db)
    answers = _race(20, lambda i: store.heartbeat("identity"))
    assert all(a["written_at"] for a in answers)


def test_a_list_of_keys_is_read_in_one_query_from_the_id_index(db):
    """Store.by_keys asks once for `_id: {$in: [...]}`; our FerretDB build reads it from the `_id` index
    (scripts/ferretdb/id_range.py), as MongoDB does: found in the keys' order, missing keys left out."""
    store = Store(db)
    db.things.insert_many([{"_id": f"t{n}", "n": n} for n in range(30)])
    wanted = ["t7", "missing", "t3", "t29", "t3", 42]
    assert [doc["n"] for doc in store.by_keys("things", wanted)] == [7, 3, 29]
    assert store.by_keys("things", ["t5"]) == [{"_id": "t5", "n": 5}]
    assert store.by_keys("things", []) == []
    plan = db.command("explain", {"find": "things", "filter": {"_id": {"$in": ["t1", "t2"]}}})
    text = str(plan.get("queryPlanner", plan))
    assert "SCAN" not in text.replace("IXSCAN", "") and ("SEARCH" in text or "IXSCAN" in text or "IDHACK" in text), text
