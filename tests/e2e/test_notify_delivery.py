"""Notify as a real process against the real RabbitMQ, database and SMTP server: delivery, dedup, the log.

Each module gets its own vhost, database prefix and SMTP sink; events are published the way every
service publishes them (kadra_defaults.outbox.Publisher, which declares the topology first).
"""
import json
import time
import uuid

import pytest

from kadra_defaults.contracts import mailbus
from tests.support.infra import wait_until
from tests.support.notify import NotifyWorld, reset_event, rpc

pytestmark = [pytest.mark.e2e, pytest.mark.integration]


@pytest.fixture(scope="module")
def world(tmp_path_factory, mongo):
    world = NotifyWorld("kadra-notify-delivery", mongo, tmp_path_factory.mktemp("mail"),
                        tmp_path_factory.mktemp("logs") / "notify.log", KADRA_NOTIFY_RETRY_DELAYS="1,2")
    world.secrets = []

    def publish(envelope):
        world.secrets.extend(v for k, v in envelope["payload"].items() if k in ("token", "undo_token"))
        world.publisher.publish(envelope)
        return envelope

    world.publish = publish
    yield world
    world.close()


def received_ids(world):
    return world.sink.message_ids()


def test_events_published_before_notify_ever_started_are_delivered(world):
    early = [world.publish(reset_event(i)) for i in range(20)]
    assert world.vhost.depth(mailbus.QUEUE) == 20  # durable queue declared by the publisher
    world.notify.start().wait_consuming()
    wait_until(lambda: set(e["id"] for e in early) <= set(received_ids(world)), 30, what="20 early e-mails")
    for envelope in early:
        doc = world.log.find_one({"_id": envelope["id"]})
        assert doc["status"] == "sent" and doc["attempts"] == 1 and doc["sent_at"] is not None
        assert doc["recipient"] == envelope["payload"]["to"]
        assert (doc["template"], doc["locale"], doc["type"]) == ("password_reset", "en", "password_reset_requested")
        assert "token" not in json.dumps(doc, default=str)


def test_the_same_event_published_twice_sends_one_email(world):
    twice = reset_event(99)
    world.publish(twice)
    world.publish(twice)
    wait_until(lambda: twice["id"] in received_ids(world), 20, what="the e-mail")
    sentinel = world.publish(reset_event(100))  # published after both copies: when it is in, both were handled
    wait_until(lambda: sentinel["id"] in received_ids(world), 20, what="the sentinel e-mail")
    wait_until(lambda: world.vhost.depth(mailbus.QUEUE) == 0, 10, what="queue empty")
    time.sleep(0.5)
    assert received_ids(world).count(twice["id"]) == 1
    assert world.log.find_one({"_id": twice["id"]})["attempts"] == 1
    mail = [m for m in world.sink.mailbox.to(twice["payload"]["to"])]
    assert len(mail) == 1 and mail[0].headers["Message-ID"].startswith(f"<{twice['id']}@")


def test_delivery_status_rpc(world):
    sent = world.publish(reset_event(7))
    wait_until(lambda: sent["id"] in received_ids(world), 20, what="the e-mail")
    wait_until(lambda: world.log.find_one({"_id": sent["id"]}), 10, what="log entry")
    unknown = uuid.uuid4().hex
    answer = rpc(world.vhost.uri, "notify", "delivery_status", [sent["id"], unknown])
    assert answer[sent["id"]]["status"] == "sent"
    assert answer[sent["id"]]["attempts"] == 1 and answer[sent["id"]]["last_error"] is None
    assert answer[sent["id"]]["sent_at"].startswith("20")
    assert answer[unknown] == {"status": "queued", "attempts": 0, "last_error": None, "sent_at": None}
    from nameko.exceptions import RemoteError

    with pytest.raises(RemoteError) as error:
        rpc(world.vhost.uri, "notify", "delivery_status", "not-a-list")
    assert error.value.exc_type == "InvalidInput"


def test_tokens_never_reach_the_log(world):
    assert world.secrets
    text = world.notify.raw_log()
    assert "e-mail sent" in text
    leaked = [s for s in world.secrets if s in text]
    assert not leaked
