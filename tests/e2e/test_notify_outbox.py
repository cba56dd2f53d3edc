"""The publishing side of e-mail: mail_event / with_outbox / outbox_fields and the outbox relay.

Against the real RabbitMQ (a vhost of this module) and the real database (a database of this module).
"""
import datetime as dt
import json
import os
import subprocess
import sys
import textwrap
import threading
import uuid

import pytest
from marshmallow import ValidationError

from kadra_defaults.contracts import mailbus
from kadra_defaults.contracts.mail import UnknownMailEvent
from kadra_defaults.outbox import OutboxRelay, mail_event, outbox_fields, with_outbox
from tests.support.infra import ROOT, wait_until
from tests.support.notify import Vhost

pytestmark = [pytest.mark.e2e, pytest.mark.integration]


def reset_payload(to="ala@example.com", **extra):
    return {"to": to, "locale": "en", "token": "tok-" + uuid.uuid4().hex,
            "expires_at": "2030-01-01T10:00:00+00:00", **extra}


@pytest.fixture(scope="module")
def vhost():
    made = Vhost("kadra-outbox")
    yield made
    made.delete()


@pytest.fixture
def db(mongo):
    name = f"ktoutbox{uuid.uuid4().hex[:8]}_identity"
    yield mongo[name]
    mongo.drop_database(name)


def test_mail_event_validates_at_once_and_keeps_the_json_payload():
    expires = dt.datetime(2030, 1, 1, 10, 0, tzinfo=dt.timezone.utc)
    event = mail_event("password_reset_requested", {"to": "ala@example.com", "token": "t", "expires_at": expires})
    assert set(event) >= {"id", "type", "occurred_at", "payload"}
    assert event["type"] == "password_reset_requested"
    assert event["payload"] == {"to": "ala@example.com", "token": "t", "expires_at": expires.isoformat()}
    json.dumps(event)  # JSON-safe as is
    with pytest.raises(ValidationError):
        mail_event("password_reset_requested", {"to": "not-an-email", "token": "t", "expires_at": expires})
    with pytest.raises(ValidationError):
        mail_event("password_reset_requested", {"to": "ala@example.com"})
    with pytest.raises(UnknownMailEvent):
        mail_event("no_such_event", {"to": "ala@example.com"})
    with pytest.raises(ValueError):
        mail_event("no_such_event", {"to": "ala@example.com"})


def test_with_outbox_merges_into_the_callers_update():
    a, b = mail_event("password_reset_requested", reset_payload()), mail_event("password_reset_requested",
                                                                               reset_payload())
    update = {"$set": {"reset_at": "x"}, "$inc": {"n": 1}, "$push": {"log": 1}}
    merged = with_outbox(update, a, b)
    assert merged == {"$set": {"reset_at": "x", "outbox_pending": True}, "$inc": {"n": 1},
                      "$push": {"log": 1, "outbox": {"$each": [a, b]}}}
    assert update == {"$set": {"reset_at": "x"}, "$inc": {"n": 1}, "$push": {"log": 1}}  # not mutated
    assert outbox_fields(a) == {"outbox": [a], "outbox_pending": True}


def test_relay_publishes_confirmed_envelopes_and_removes_exactly_those(vhost, db):
    envelopes = [mail_event("password_reset_requested", reset_payload()) for _ in range(5)]
    db.accounts.insert_one({"_id": "a1", "email": "ala@example.com", **outbox_fields(*envelopes[:3])})
    db.accounts.insert_one({"_id": "a2", "email": "ola@example.com"})
    db.accounts.update_one({"_id": "a2"}, with_outbox({"$set": {"x": 1}}, *envelopes[3:]))
    relay = OutboxRelay(db, ["accounts"], service="identity", amqp_uri=vhost.uri)
    assert relay.relay_once() == 5
    relay.publisher.close()
    got = vhost.drain(mailbus.QUEUE)
    assert sorted(json.loads(body)["id"] for _, body in got) == sorted(e["id"] for e in envelopes)
    assert all(headers[mailbus.ATTEMPT_HEADER] == 0 for headers, _ in got)
    for doc in db.accounts.find():
        assert doc.get("outbox", []) == [] and doc.get("outbox_pending") in (False, None)
    assert db.accounts.find_one({"_id": "a2"})["x"] == 1


def test_a_push_racing_the_relay_keeps_the_document_pending(vhost, db):
    first = mail_event("password_reset_requested", reset_payload())
    db.accounts.insert_one({"_id": "a1", **outbox_fields(first)})
    relay = OutboxRelay(db, ["accounts"], service="identity", amqp_uri=vhost.uri)
    second = mail_event("password_reset_requested", reset_payload())
    original = relay.publisher.publish

    def publish_then_race(envelope):
        original(envelope)
        if envelope["id"] == first["id"]:  # a request pushes a new e-mail while the relay works
            db.accounts.update_one({"_id": "a1"}, with_outbox({}, second))

    relay.publisher.publish = publish_then_race
    relay.relay_once()
    doc = db.accounts.find_one({"_id": "a1"})
    assert [e["id"] for e in doc["outbox"]] == [second["id"]] and doc["outbox_pending"] is True
    relay.relay_once()
    relay.publisher.close()
    doc = db.accounts.find_one({"_id": "a1"})
    assert doc["outbox"] == [] and doc["outbox_pending"] is False
    ids = [json.loads(body)["id"] for _, body in vhost.drain(mailbus.QUEUE)]
    assert ids == [first["id"], second["id"]]


def test_kick_publishes_at_once_and_stop_ends_the_loop(vhost, db):
    relay = OutboxRelay(db, ["accounts"], service="identity", amqp_uri=vhost.uri, poll_interval=30)
    thread = threading.Thread(target=relay.run, daemon=True)
    thread.start()
    event = mail_event("password_reset_requested", reset_payload())
    db.accounts.insert_one({"_id": "k1", **outbox_fields(event)})
    relay.kick()
    wait_until(lambda: relay.published == 1, 5, what="kicked relay published")
    relay.stop()
    thread.join(5)
    assert not thread.is_alive()
    assert [json.loads(body)["id"] for _, body in vhost.drain(mailbus.QUEUE)] == [event["id"]]


RELAY_UNDER_NAMEKO = textwrap.dedent("""
    import eventlet; eventlet.monkey_patch()
    import json, sys, time
    from nameko.containers import ServiceContainer
    from nameko.rpc import rpc
    from kadra_defaults.outbox import Outbox, mail_event, outbox_fields
    from kadra_defaults.storage import connect
    from kadra_defaults import settings

    class Svc:
        name = "identity"
        outbox = Outbox(collections=("accounts",), service="identity", poll_interval=30)

        @rpc
        def noop(self):
            return self.outbox

    container = ServiceContainer(Svc, {"AMQP_URI": sys.argv[1]})
    container.start()
    db = connect()[settings.current().database_name("identity")]
    n = int(sys.argv[2])
    ticks = []
    def ticker():
        while True:
            ticks.append(time.monotonic()); eventlet.sleep(0.005)
    eventlet.spawn(ticker)
    provider = next(d for d in container.dependencies if isinstance(d, Outbox))
    handle = provider.get_dependency(None)
    docs = [{"_id": f"d{i}", **outbox_fields(mail_event("password_reset_requested",
            {"to": f"u{i}@example.com", "token": "t", "expires_at": "2030-01-01T00:00:00Z"}))} for i in range(n)]
    db.accounts.insert_many(docs)
    started = time.monotonic()
    handle.kick()
    while provider.relay.published < n and time.monotonic() - started < 60:
        eventlet.sleep(0.01)
    took = time.monotonic() - started
    gaps = [b - a for a, b in zip(ticks, ticks[1:]) if a >= started]
    container.stop()
    print(json.dumps({"published": provider.relay.published, "seconds": took,
                      "max_gap_ms": max(gaps) * 1000 if gaps else None}))
""")


def test_outbox_provider_publishes_under_eventlet_without_blocking_other_green_threads(vhost, mongo, tmp_path):
    prefix = f"ktoutbox{uuid.uuid4().hex[:8]}"
    script = tmp_path / "relay.py"
    script.write_text(RELAY_UNDER_NAMEKO)
    env = dict(os.environ, KADRA_MONGO_DB_PREFIX=prefix, KADRA_AMQP_URI=vhost.uri)
    try:
        out = subprocess.run([sys.executable, str(script), vhost.uri, "300"], env=env, cwd=ROOT,
                             capture_output=True, text=True, timeout=120)
        assert out.returncode == 0, out.stderr[-2000:]
        result = json.loads(out.stdout.strip().splitlines()[-1])
        print("relay under eventlet:", result)
        assert result["published"] == 300
        # other green threads kept running while the relay waited for confirms
        assert result["max_gap_ms"] < 250
        assert vhost.depth(mailbus.QUEUE) == 300
        assert mongo[f"{prefix}_identity"].accounts.count_documents({"outbox_pending": True}) == 0
    finally:
        vhost.drain(mailbus.QUEUE)
        mongo.drop_database(f"{prefix}_identity")
