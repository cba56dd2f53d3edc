"""Notify killed in the middle of a batch: nothing lost, at most one duplicate per SIGKILL; SIGTERM loses nothing."""
import collections
import signal
import time

import pytest

from kadra_defaults.contracts import mailbus
from tests.support.infra import wait_until
from tests.support.notify import NotifyWorld, reset_event

pytestmark = [pytest.mark.e2e, pytest.mark.integration]


@pytest.fixture
def world(tmp_path, mongo):
    world = NotifyWorld("kadra-notify-crash", mongo, tmp_path / "mail", tmp_path / "notify.log")
    yield world
    world.close()


def _batch(world, n):
    events = [reset_event(i, domain="crash.example") for i in range(n)]
    for envelope in events:
        world.publisher.publish(envelope)
    return [e["id"] for e in events]


def _received(world, ids):
    wanted = set(ids)
    return [i for i in world.sink.message_ids() if i in wanted]


@pytest.mark.parametrize("kills", [2])
def test_sigkill_in_the_middle_of_a_batch_of_300(world, kills):
    ids = _batch(world, 300)
    world.notify.start()
    for kill in range(kills):
        threshold = 80 + 100 * kill
        wait_until(lambda: world.sink.mailbox.count() >= threshold, 60, interval=0.005,
                   what=f"{threshold} e-mails before kill {kill + 1}")
        world.notify.kill()  # SIGKILL, mid-batch
        print(f"kill {kill + 1} at {world.sink.mailbox.count()} e-mails")
        assert len(set(_received(world, ids))) < 300, "the batch ended before the kill: make it bigger"
        world.notify.start()  # no waiting for the management API: it lags by seconds
    wait_until(lambda: set(ids) <= set(_received(world, ids)), 60, what="all 300 e-mails")
    wait_until(lambda: world.vhost.depth(mailbus.QUEUE) == 0, 10, what="queue empty")
    time.sleep(1)
    received = _received(world, ids)
    duplicates = {i: n for i, n in collections.Counter(received).items() if n > 1}
    print(f"\nSIGKILL x{kills} in a batch of 300: {len(set(received))} delivered, "
          f"{sum(n - 1 for n in duplicates.values())} duplicate(s)")
    assert len(set(received)) == 300
    assert sum(n - 1 for n in duplicates.values()) <= kills
    assert world.log.count_documents({"_id": {"$in": ids}, "status": "sent"}) == 300


def test_sigterm_in_the_middle_of_a_batch_finishes_work_in_hand_and_sends_nothing_twice(world):
    # 2,000, not 300: notify sends ~500 a second, and the whole of a 300 batch went out between the
    # signal and the exit (nameko's stop sequence takes a moment before our consumer sees it).
    size = 2000
    ids = _batch(world, size)
    world.notify.start()
    wait_until(lambda: world.sink.mailbox.count() >= 100, 60, interval=0.005, what="100 e-mails")
    world.notify.signal(signal.SIGTERM)
    assert world.notify.proc.wait(30) == 0
    stopped_at = len(set(_received(world, ids)))
    print(f"\nSIGTERM after 100 e-mails: {stopped_at} of {size} sent before the exit")
    assert stopped_at < size, "the batch ended before the stop: make it bigger"
    world.notify.start()
    wait_until(lambda: set(ids) <= set(_received(world, ids)), 90, what=f"all {size} e-mails")
    time.sleep(1)
    received = _received(world, ids)
    assert len(received) == size  # a clean stop acks what it sent and nothing else: no duplicate
