"""Notify when things go wrong: bad events go to the dead-letter queue while good ones flow; SMTP down.

Short retry delays here (KADRA_NOTIFY_RETRY_DELAYS=1,2,4,8,15,30: 60 s of tries in all) so the
suite stays fast; production uses the defaults (1 s, 5 s, 30 s, 2 min, 10 min).
"""
import json
import time
import uuid

import pytest

from kadra_defaults.contracts import mailbus
from kadra_defaults.outbox import mail_event
from tests.support.infra import wait_until
from tests.support.notify import NotifyWorld, reset_event, rpc

pytestmark = [pytest.mark.e2e, pytest.mark.integration]


@pytest.fixture(scope="module")
def world(tmp_path_factory, mongo):
    world = NotifyWorld("kadra-notify-failures", mongo, tmp_path_factory.mktemp("mail"),
                        tmp_path_factory.mktemp("logs") / "notify.log", KADRA_NOTIFY_RETRY_DELAYS="1,2,4,8,15,30")
    world.notify.start().wait_consuming()
    yield world
    world.close()


def test_bad_events_are_dead_lettered_with_the_reason_while_1000_good_ones_flow(world):
    good = [reset_event(i) for i in range(1000)]
    unknown_type = {"id": uuid.uuid4().hex, "type": "pizza_delivered", "occurred_at": "2030-01-01T00:00:00+00:00",
                    "payload": {"to": "ala@example.com", "token": "never-log-me-1"}}
    bad_payload = {**mail_event("password_reset_requested", {"to": "ola@example.com", "token": "never-log-me-2",
                                                             "expires_at": "2030-01-01T00:00:00Z"})}
    bad_payload["payload"] = dict(bad_payload["payload"], to="not an address")
    no_id = {"type": "password_reset_requested", "payload": {"to": "x@example.com"}}
    for envelope in good[:500]:
        world.publisher.publish(envelope)
    world.vhost.publish_raw(b"{this is not json")
    world.vhost.publish_raw(json.dumps(no_id).encode())
    world.publisher.publish(unknown_type)
    world.publisher.publish(bad_payload)
    for envelope in good[500:]:
        world.publisher.publish(envelope)

    wanted = {e["id"] for e in good}
    wait_until(lambda: wanted <= set(world.sink.message_ids()), 120, what="1,000 good e-mails")
    wait_until(lambda: world.vhost.depth(mailbus.DEAD_QUEUE) == 4, 20, what="4 dead letters")
    received = world.sink.message_ids()
    assert len(received) == len(set(received)) == 1000

    dead = world.vhost.drain(mailbus.DEAD_QUEUE)
    reasons = sorted(headers[mailbus.REASON_HEADER].split(":")[0] for headers, _ in dead)
    assert reasons == ["invalid payload", "malformed envelope", "malformed envelope",
                       "unknown event type (no template)"]
    assert b"{this is not json" in [body for _, body in dead]  # the original message, untouched

    for envelope, reason in ((unknown_type, "unknown event type"), (bad_payload, "invalid payload")):
        doc = world.log.find_one({"_id": envelope["id"]})
        assert doc["status"] == "failed" and doc["last_error"].startswith(reason)
    logged = [line for line in world.notify.lines() if line.get("msg") == "e-mail event dead-lettered"]
    assert len(logged) == 4 and all(line["reason"] for line in logged)
    assert {line["event_id"] for line in logged} >= {unknown_type["id"], bad_payload["id"]}
    assert "never-log-me" not in world.notify.raw_log()
    statuses = rpc(world.vhost.uri, "notify", "delivery_status", [unknown_type["id"], good[0]["id"]])
    assert statuses[unknown_type["id"]]["status"] == "failed"
    assert statuses[good[0]["id"]]["status"] == "sent"


def test_forty_messages_whose_headers_cannot_be_built_are_dead_lettered_at_once_while_mail_flows(world):
    """The attack: 40 names holding a line break (more than the prefetch of 32) used to be retried for
    ever, each held by a worker, and stopped every e-mail behind them."""
    world.vhost.drain(mailbus.DEAD_QUEUE)
    poisoned = []
    for i in range(40):
        event = mail_event("password_reset_requested", {
            "to": f"eve{i}@example.com", "full_name": "Eve\nX-A: 1", "token": f"poison-token-{i}",
            "expires_at": "2030-01-01T00:00:00Z"})
        poisoned.append(event)
    started = time.monotonic()
    for event in poisoned:
        world.publisher.publish(event)
    honest = reset_event(0, domain="after-the-poison.example")
    world.publisher.publish(honest)

    wait_until(lambda: honest["id"] in world.sink.message_ids(), 30, what="the honest reset e-mail")
    wait_until(lambda: world.vhost.depth(mailbus.DEAD_QUEUE) == 40, 30, what="40 dead letters")
    elapsed = time.monotonic() - started
    # At once: the first retry alone would have waited 1 s per message and the retries 60 s in all.
    assert elapsed < 15, f"took {elapsed:.1f} s"
    dead = world.vhost.drain(mailbus.DEAD_QUEUE)
    assert {json.loads(body)["id"] for _, body in dead} == {e["id"] for e in poisoned}
    for headers, _ in dead:
        assert headers[mailbus.REASON_HEADER].startswith("message cannot be built: the To header")
        assert headers[mailbus.ATTEMPT_HEADER] == 0  # never went through a retry queue
    ids = [e["id"] for e in poisoned]
    assert not set(ids) & set(world.sink.message_ids())
    assert world.log.count_documents({"_id": {"$in": ids}, "status": "failed"}) == 40
    assert world.log.count_documents({"_id": {"$in": ids}, "attempts": {"$gt": 1}}) == 0
    logged = [line for line in world.notify.lines() if line.get("event_id") in set(ids)]
    assert len(logged) == 40 and {line["msg"] for line in logged} == {"e-mail event dead-lettered"}
    assert "poison-token" not in world.notify.raw_log()


def test_smtp_down_for_30_seconds_while_100_events_arrive(world):
    world.sink.stop()
    down_at = time.monotonic()
    events = []
    for i in range(100):  # they arrive over ~10 s of the outage
        events.append(reset_event(i, domain="outage.example"))
        world.publisher.publish(events[-1])
        time.sleep(0.1)
    ids = [e["id"] for e in events]
    wait_until(lambda: world.log.count_documents({"_id": {"$in": ids}, "status": "retrying"}) == 100, 30,
               what="100 e-mails waiting for a retry")
    assert not set(ids) & set(world.sink.message_ids())
    time.sleep(max(0.0, 30 - (time.monotonic() - down_at)))
    world.sink.start()
    wait_until(lambda: set(ids) <= set(world.sink.message_ids()), 90, what="100 e-mails after the outage")
    time.sleep(1)
    received = [i for i in world.sink.message_ids() if i in set(ids)]
    assert len(received) == 100  # none twice

    docs = list(world.log.find({"_id": {"$in": ids}}))
    assert all(doc["status"] == "sent" for doc in docs)
    assert all(doc["attempts"] >= 2 for doc in docs)  # every one was tried while the server was down
    assert all(doc["last_error"] for doc in docs)  # the reason of the last failed try is kept
    retries = [line for line in world.notify.lines()
               if line.get("msg") == "e-mail not sent, will retry" and line.get("event_id") in set(ids)]
    assert len(retries) >= 100 and all(line["error"] for line in retries)
    assert sum("ConnectionRefusedError" in line["error"] for line in retries) >= 100
    statuses = rpc(world.vhost.uri, "notify", "delivery_status", ids[:3])
    assert all(s["status"] == "sent" and s["attempts"] >= 2 for s in statuses.values())
