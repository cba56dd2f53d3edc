"""Two notify replicas consuming one mail queue: every event is sent once, also when it arrives twice.

An event arrives twice when two outbox relays publish one envelope, or when the broker redelivers a
message whose first copy is still being sent. Each replica's message-log read says "not sent yet"
to both copies; only a claim held across processes (notify.claims) lets one of them send.
"""
import collections
import time

import pytest

from kadra_defaults import settings
from kadra_defaults.contracts import mailbus
from tests.support.infra import free_port, wait_until
from tests.support.notify import NotifyProcess, NotifyWorld, reset_event

pytestmark = [pytest.mark.e2e, pytest.mark.integration, pytest.mark.slow]

EVENTS = 300


@pytest.fixture
def world(tmp_path, mongo):
    world = NotifyWorld("kadra-notify-replicas", mongo, tmp_path / "mail", tmp_path / "notify.log")
    twin = NotifyProcess(dict(world.notify.env, KADRA_HEALTH_PORT=str(free_port())), str(tmp_path / "notify-2.log"))
    world.twin = twin
    yield world
    twin.stop()
    world.close()


def _queues_empty(world) -> bool:
    queues = [mailbus.QUEUE] + [mailbus.retry_queue(d) for d in mailbus.retry_delays()[:1]]
    return all(world.vhost.depth(q) == 0 for q in queues)


def test_two_replicas_send_each_event_once_when_every_event_is_published_twice(world):
    world.notify.start()
    world.twin.start()
    world.notify.wait_consuming()
    wait_until(lambda: _consumers(world) >= 2, 60, what="both replicas consuming")
    events = [reset_event(i, domain="replicas.example") for i in range(EVENTS)]
    for envelope in events:
        world.publisher.publish(envelope)
        world.publisher.publish(envelope)  # the second relay's copy
    ids = {e["id"] for e in events}

    wait_until(lambda: ids <= set(world.sink.message_ids()), 120, what=f"{EVENTS} e-mails")
    wait_until(lambda: _queues_empty(world), 60, what="the mail queue and the first retry queue empty")
    received = collections.Counter(i for i in world.sink.message_ids() if i in ids)
    twice = {i: n for i, n in received.items() if n > 1}
    assert twice == {}, f"{len(twice)} of {EVENTS} events sent more than once"
    assert len(received) == EVENTS
    # Both replicas did the work, so the copies really met in two processes.
    senders = [sum(1 for line in p.lines() if line.get("msg") == "e-mail sent") for p in (world.notify, world.twin)]
    assert all(n > 0 for n in senders), senders
    assert world.log.count_documents({"_id": {"$in": sorted(ids)}, "status": "sent"}) == EVENTS


def test_a_sigkilled_replicas_claims_are_taken_over_by_the_other_within_seconds(world):
    """The dead replica's claims are not waited out (CLAIM_TTL, 60 s): its liveness lapses in seconds."""
    world.notify.start()
    world.twin.start()
    world.notify.wait_consuming()
    wait_until(lambda: _consumers(world) >= 2, 60, what="both replicas consuming")
    events = [reset_event(i, domain="replica-kill.example") for i in range(600)]
    for envelope in events:
        world.publisher.publish(envelope)
    ids = {e["id"] for e in events}
    wait_until(lambda: world.sink.mailbox.count() >= 100, 60, interval=0.005, what="100 e-mails")
    world.notify.kill()  # SIGKILL, mid-batch; not started again
    killed_at = time.monotonic()
    assert len(ids & set(world.sink.message_ids())) < len(ids), "the batch ended before the kill"
    wait_until(lambda: ids <= set(world.sink.message_ids()), 45, what="600 e-mails from the surviving replica")
    took = time.monotonic() - killed_at
    received = collections.Counter(i for i in world.sink.message_ids() if i in ids)
    duplicates = sum(n - 1 for n in received.values())
    taken_over = [line for line in world.twin.lines() if line.get("msg") == "e-mail event claim taken over from a stopped process"]
    print(f"\nreplica SIGKILLed: the other sent the rest in {took:.1f} s, {len(taken_over)} claim(s) taken over, "
          f"{duplicates} duplicate(s)")
    # What the dead replica journaled but had not logged is replayed, not resent (without the replay: 24
    # duplicates). By design one e-mail per kill can go twice: the SMTP "." and 250 and the journal write
    # happen under the pool's commit lock (notify/smtp.py), so one send at most is between them. CI on a
    # loaded machine saw 2 and 3: the survivor's workers took the dead replica's claims over together and each
    # replayed its journal; the second found it locked by the first replay, skipped it as a live process's,
    # and read the log before the first had written it (fixed: replays run one at a time in a process,
    # notify/journal.py; test_journal.py reproduces it without). Here, with two CPU burners on 2 cores: 1, 1, 1
    # duplicates in three runs before the fix (the race did not show), 1, 0, 0 in three after.
    # The bound stays each event twice at most and no more duplicates than workers (KADRA_NOTIFY_CONCURRENCY)
    # until CI has shown the one per kill on loaded machines too; 24 without the replay still fails it.
    assert all(n <= 2 for n in received.values()), received.most_common(3)
    assert duplicates <= settings.current().notify_concurrency


def _consumers(world) -> int:
    from tests.support.notify import consumers

    return consumers(world.vhost.name, mailbus.QUEUE)
