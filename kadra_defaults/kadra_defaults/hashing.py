"""Run a CPU-bound hash (argon2id) off the event loop, at most one per core at a time.

argon2-cffi releases the GIL, so eventlet's thread pool lets one service process use every core
while its other green threads keep answering. Without a bound, eight logins at once ran eight
19–64 MiB hashes on two cores: each took four times as long and the memory they churn through
made every one of them dearer. KADRA_HASH_CONCURRENCY sets the bound (default: the CPU count).
"""
import os
import threading

import eventlet.patcher
from eventlet import tpool

from kadra_defaults import settings

CONCURRENCY_ENV = "KADRA_HASH_CONCURRENCY"

_slots = None
_slots_lock = threading.Lock()


def concurrency() -> int:
    """KADRA_HASH_CONCURRENCY, or the CPU count (read now, not at import)."""
    return settings.current().hash_concurrency or os.cpu_count() or 1


def _semaphore():
    global _slots
    if _slots is None:
        with _slots_lock:
            if _slots is None:
                _slots = threading.BoundedSemaphore(concurrency())
    return _slots


def offload(fn, *args):
    """fn(*args) in eventlet's thread pool when under eventlet (nameko), else directly; bounded either way."""
    with _semaphore():
        if eventlet.patcher.is_monkey_patched("thread"):
            return tpool.execute(fn, *args)
        return fn(*args)
