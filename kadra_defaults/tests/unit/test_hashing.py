"""kadra_defaults.hashing: hashes run at most KADRA_HASH_CONCURRENCY at a time."""
import threading
import time

import pytest

from kadra_defaults import hashing


@pytest.fixture
def fresh(monkeypatch):
    monkeypatch.setattr(hashing, "_slots", None)
    return monkeypatch


def test_at_most_the_bound_run_at_once(fresh):
    fresh.setenv(hashing.CONCURRENCY_ENV, "2")
    running, peak, lock = [0], [0], threading.Lock()

    def work(n):
        with lock:
            running[0] += 1
            peak[0] = max(peak[0], running[0])
        time.sleep(0.02)
        with lock:
            running[0] -= 1
        return n * 2

    results = []
    threads = [threading.Thread(target=lambda n=n: results.append(hashing.offload(work, n))) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == [n * 2 for n in range(8)]
    assert peak[0] == 2


def test_the_default_is_the_cpu_count_and_a_bad_value_is_named(fresh):
    fresh.delenv(hashing.CONCURRENCY_ENV, raising=False)
    fresh.setattr(hashing.os, "cpu_count", lambda: 3)
    assert hashing.concurrency() == 3
    fresh.setenv(hashing.CONCURRENCY_ENV, "two")
    with pytest.raises(ValueError, match=hashing.CONCURRENCY_ENV):
        hashing.concurrency()
