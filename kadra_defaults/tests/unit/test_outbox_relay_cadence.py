"""The outbox relay's poll cadence (no broker or database: `relay_once` is replaced): every POLL_INTERVAL for
QUIET_AFTER after an e-mail, twice that when quiet (from the start until the first e-mail); a kick is served
at once either way."""
import threading
import time

from kadra_defaults.outbox import relay as relay_module
from kadra_defaults.outbox.relay import QUIET_AFTER, OutboxRelay


class Passes(OutboxRelay):
    def __init__(self, publishes=()):
        super().__init__(db=None, collections=(), poll_interval=0.5)
        self.publishes = list(publishes)  # what each pass "publishes", in order; 0 after the list
        self.passes = 0
        self.ran = threading.Event()

    def relay_once(self) -> int:
        self.passes += 1
        self.ran.set()
        return self.publishes.pop(0) if self.publishes else 0


def test_quiet_from_the_start_active_after_an_email_quiet_again_after_a_minute(monkeypatch):
    now = [1000.0]
    monkeypatch.setattr(relay_module.time, "monotonic", lambda: now[0])
    relay = Passes()
    assert relay.idle_wait() == 1.0  # nothing published yet
    relay._active_at = now[0]  # what run() records after a pass that published
    assert relay.idle_wait() == 0.5
    now[0] += QUIET_AFTER - 1
    assert relay.idle_wait() == 0.5
    now[0] += 2
    assert relay.idle_wait() == 1.0


def test_a_pass_that_publishes_makes_the_relay_active_and_a_kick_is_served_while_it_waits():
    relay = Passes(publishes=[0, 3])
    thread = threading.Thread(target=relay.run)
    thread.start()
    try:
        assert relay.ran.wait(5)  # the first pass publishes nothing: quiet, waiting 1 s
        assert relay.idle_wait() == 1.0
        relay.ran.clear()
        relay.kick()  # served long before the 1 s wait ends (the second pass publishes 3)
        assert relay.ran.wait(0.9)
        deadline = time.monotonic() + 5
        while relay.idle_wait() != 0.5 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert relay.idle_wait() == 0.5
    finally:
        relay.stop()
        thread.join(5)
