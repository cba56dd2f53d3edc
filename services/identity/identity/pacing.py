"""Make a sign-up for a taken address last as long as a real one.

A real sign-up creates a company through the users service (writes there and here); a sign-up for a
taken address creates nothing and answers the same. Measured with `make bench` before this: 34 ms for a
taken address against 39 ms for a new one (after one argon2id operation each), a difference that tells
which addresses have accounts. So the taken-address path waits until it has lasted as long as a real
sign-up drawn at random from the last ones this process served: the two then take the same time in
distribution, not only on average. The wait is a green-thread sleep (no CPU, no hash slot).
Until this process has served a real sign-up there is nothing to copy, and nothing is added.
"""
import random
import time
from collections import deque

import eventlet


class DurationMatcher:
    """Durations of recent real operations, and a wait that makes a decoy last as long as one of them."""

    def __init__(self, keep: int = 64, longest: float = 2.0, sleep=eventlet.sleep, clock=time.monotonic):
        self._recent: deque[float] = deque(maxlen=keep)
        self._longest = longest
        self._sleep = sleep
        self._clock = clock

    def record(self, started: float) -> None:
        """A real operation that began at `started` (this matcher's clock) has just finished."""
        self._recent.append(self._clock() - started)

    def wait_like_one(self, started: float) -> float:
        """Sleep until the decoy that began at `started` has lasted as long as a recent real one; the wait."""
        if not self._recent:
            return 0.0
        target = min(random.choice(self._recent), self._longest)
        remaining = target - (self._clock() - started)
        if remaining <= 0:
            return 0.0
        self._sleep(remaining)
        return remaining
