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
from kadra_defaults.outbox import (INDEX, OutboxRelay, announce_decoy, insert_with_outbox, mail_event, outbox_fields, update_with_outbox,
                                   with_outbox)
from tests.support.infra import ROOT, command_log, wait_until
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
            update_with_outbox(db.accounts, {"_id": "a1"}, {}, second)

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
    insert_with_outbox(db.accounts, {"_id": "k1"}, event)
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
    from kadra_defaults.outbox import Outbox, insert_with_outbox, mail_event
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
    for i in range(n):
        insert_with_outbox(db.accounts, {"_id": f"d{i}"}, mail_event("password_reset_requested",
            {"to": f"u{i}@example.com", "token": "t", "expires_at": "2030-01-01T00:00:00Z"}))
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


# The pending index: the relay reads `outbox_index`, then each named document by `_id` alone.

def test_a_crash_between_the_index_entry_and_the_domain_write_publishes_nothing_and_drops_the_entry(vhost, db):
    from kadra_defaults.outbox import _announce

    event = mail_event("password_reset_requested", reset_payload())
    db.accounts.insert_one({"_id": "c1", "email": "ala@example.com"})
    _announce(db.accounts, "c1", (event,))  # the process dies here: the update never happens
    real_now = dt.datetime.now(dt.timezone.utc)
    relay = OutboxRelay(db, ["accounts"], service="identity", amqp_uri=vhost.uri, grace=300,
                        now=lambda: real_now)
    assert relay.relay_once() == 0
    assert db[INDEX].count_documents({}) == 1  # young: the write it announced may still land
    relay.now = lambda: real_now + dt.timedelta(seconds=301)
    assert relay.relay_once() == 0
    relay.publisher.close()
    assert db[INDEX].count_documents({}) == 0
    assert vhost.drain(mailbus.QUEUE) == []
    assert db.accounts.find_one({"_id": "c1"}).get("outbox") is None


def test_a_domain_write_landing_after_a_pass_is_published_by_the_next_one(vhost, db):
    from kadra_defaults.outbox import _announce

    event = mail_event("password_reset_requested", reset_payload())
    db.accounts.insert_one({"_id": "s1"})
    _announce(db.accounts, "s1", (event,))
    relay = OutboxRelay(db, ["accounts"], service="identity", amqp_uri=vhost.uri)
    assert relay.relay_once() == 0  # the writer is slow: its entry is there, its write not yet
    db.accounts.update_one({"_id": "s1"}, with_outbox({}, event))
    assert relay.relay_once() == 1
    relay.publisher.close()
    assert db[INDEX].count_documents({}) == 0
    assert [json.loads(body)["id"] for _, body in vhost.drain(mailbus.QUEUE)] == [event["id"]]


def test_a_crash_after_the_domain_write_before_publishing_is_published_by_the_next_relay(vhost, db):
    events = [mail_event("password_reset_requested", reset_payload()) for _ in range(3)]
    insert_with_outbox(db.onetime, {"_id": "t1", "kind": "reset"}, events[0])
    db.accounts.insert_one({"_id": "a1"})
    update_with_outbox(db.accounts, {"_id": "a1"}, {"$set": {"x": 1}}, *events[1:])
    # the process that wrote them died before its relay ran; a new one (a restart, another replica) starts
    relay = OutboxRelay(db, ["accounts", "onetime"], service="identity", amqp_uri=vhost.uri)
    assert relay.relay_once() == 3
    relay.publisher.close()
    assert sorted(json.loads(body)["id"] for _, body in vhost.drain(mailbus.QUEUE)) == sorted(e["id"] for e in events)
    assert db[INDEX].count_documents({}) == 0
    for doc in (db.onetime.find_one({"_id": "t1"}), db.accounts.find_one({"_id": "a1"})):
        assert doc["outbox"] == [] and doc["outbox_pending"] is False


def test_a_write_that_matches_nothing_withdraws_its_entry_at_once(db):
    from pymongo.errors import DuplicateKeyError

    event = mail_event("password_reset_requested", reset_payload())
    assert update_with_outbox(db.accounts, {"_id": "missing"}, {"$set": {"x": 1}}, event).matched_count == 0
    db.accounts.insert_one({"_id": "dup"})
    with pytest.raises(DuplicateKeyError):
        insert_with_outbox(db.accounts, {"_id": "dup"}, event)
    assert db[INDEX].count_documents({}) == 0
    with pytest.raises(ValueError):
        update_with_outbox(db.accounts, {"email": "ala@example.com"}, {"$set": {"x": 1}}, event)


def _domain_filters(commands, domain):
    """(command, collection, filter) of every read or write of a domain collection."""
    seen = []
    for name, body in commands:
        collection = body.get(name)
        if collection not in domain:
            continue
        if name in ("find", "count", "aggregate", "distinct"):
            seen.append((name, collection, body.get("filter", body.get("query", body.get("pipeline")))))
        elif name == "update":
            seen.extend((name, collection, u["q"]) for u in body["updates"])
        elif name == "delete":
            seen.extend((name, collection, d["q"]) for d in body["deletes"])
        elif name == "findAndModify":
            seen.append((name, collection, body["query"]))
    return seen


def test_the_relay_looks_domain_documents_up_by_id_alone(vhost, db):
    from pymongo import MongoClient

    listener = command_log()
    host, port = db.client.address
    client = MongoClient(f"mongodb://{host}:{port}/", event_listeners=[listener], tz_aware=True)
    try:
        watched = client[db.name]
        for i in range(30):  # documents with and without e-mails, a domain collection bigger than a batch of work
            db.accounts.insert_one({"_id": f"x{i}", "email": f"u{i}@example.com"})
        relay = OutboxRelay(watched, ["accounts", "onetime"], service="identity", amqp_uri=vhost.uri)
        relay.relay_once()  # the first pass adopts old documents: one query per collection, once
        adoption = _domain_filters(listener.commands, {"accounts", "onetime"})
        assert sorted(c for _, c, _ in adoption) == ["accounts", "onetime"]
        assert all(f == {"outbox_pending": True} for _, _, f in adoption)
        listener.commands.clear()
        events = [mail_event("password_reset_requested", reset_payload()) for _ in range(4)]
        update_with_outbox(db.accounts, {"_id": "x3"}, {"$set": {"y": 1}}, events[0])
        update_with_outbox(db.accounts, {"_id": "x7"}, {"$set": {"y": 1}}, events[1], events[2])
        insert_with_outbox(db.onetime, {"_id": "t9", "kind": "reset"}, events[3])
        published = sum(relay.relay_once() for _ in range(3))  # publishing passes, then idle polls
        relay.publisher.close()
        assert published == 4
        seen = _domain_filters(listener.commands, {"accounts", "onetime"})
        assert seen, "the relay read no domain document"
        assert all(set(f) == {"_id"} and isinstance(f["_id"], str) for _, _, f in seen), seen
        assert {c for _, c, _ in seen} == {"accounts", "onetime"}
        assert any(name == "find" and body.get("find") == INDEX for name, body in listener.commands)
        assert sorted(json.loads(body)["id"] for _, body in vhost.drain(mailbus.QUEUE)) == \
            sorted(e["id"] for e in events)
    finally:
        client.close()


def _running(relay):
    thread = threading.Thread(target=relay.run, daemon=True)
    thread.start()
    return thread


def test_two_replicas_relays_publish_each_envelope_once_and_the_standby_takes_over_a_dead_holder(vhost, db):
    """Two relays on one database (two replicas of a service): one holds the relay lease and publishes,
    the other stands by; when the holder dies without giving the lease back, the other takes over once the
    lease's time runs out, and what was written meanwhile is published once."""
    vhost.drain(mailbus.QUEUE)
    relays = [OutboxRelay(db, ["accounts"], service="identity", amqp_uri=vhost.uri, poll_interval=0.1, lease_ttl=2)
              for _ in range(2)]
    threads = [_running(relay) for relay in relays]
    first = [mail_event("password_reset_requested", reset_payload(to=f"r{i}@example.com")) for i in range(60)]
    for i, event in enumerate(first):
        insert_with_outbox(db.accounts, {"_id": f"r{i}"}, event)
        relays[i % 2].kick()  # each replica kicks its own relay after its own writes
    wait_until(lambda: sum(r.published for r in relays) >= 60, 20, what="60 envelopes published")
    holder = next(r for r in relays if r.published)
    standby = next(r for r in relays if r is not holder)
    assert (holder.published, standby.published) == (60, 0)

    holder.lease.release = lambda: None  # dies holding the lease: it is never given back
    holder.stop()
    threads[relays.index(holder)].join(5)
    later = [mail_event("password_reset_requested", reset_payload(to=f"s{i}@example.com")) for i in range(20)]
    for i, event in enumerate(later):
        insert_with_outbox(db.accounts, {"_id": f"s{i}"}, event)
    wait_until(lambda: standby.published == 20, 20, what="the standby publishing after the lease ran out")
    standby.stop()
    threads[relays.index(standby)].join(5)
    published = [json.loads(body)["id"] for _, body in vhost.drain(mailbus.QUEUE)]
    assert sorted(published) == sorted(e["id"] for e in first + later)  # each once
    assert db[INDEX].count_documents({}) == 0


def test_a_relay_that_stops_cleanly_hands_over_at_once(vhost, db):
    vhost.drain(mailbus.QUEUE)
    one = OutboxRelay(db, ["accounts"], service="identity", amqp_uri=vhost.uri, poll_interval=0.1, lease_ttl=60)
    thread = _running(one)
    wait_until(lambda: one._leading, 5, what="the first relay leading")
    one.stop()
    thread.join(5)
    two = OutboxRelay(db, ["accounts"], service="identity", amqp_uri=vhost.uri, poll_interval=0.1, lease_ttl=60)
    other = _running(two)
    event = mail_event("password_reset_requested", reset_payload())
    insert_with_outbox(db.accounts, {"_id": "h1"}, event)
    # Well inside the 60 s lease: the first gave it back when it stopped.
    wait_until(lambda: two.published == 1, 5, what="the second relay publishing")
    two.stop()
    other.join(5)
    assert [json.loads(body)["id"] for _, body in vhost.drain(mailbus.QUEUE)] == [event["id"]]


def test_a_decoy_writes_an_index_entry_like_a_real_e_mail_and_the_relay_removes_it_publishing_nothing(vhost, db):
    """A reset request for an unknown address must cost what one for a known address costs (no timing
    oracle): the same index write; the relay drops it at its next pass and publishes nothing."""
    vhost.drain(mailbus.QUEUE)
    db.onetime_tokens.insert_one({"_id": "decoy-1", "kind": "decoy"})
    announce_decoy(db.onetime_tokens, "decoy-1")
    assert db[INDEX].count_documents({}) == 1
    relay = OutboxRelay(db, ["onetime_tokens"], service="identity", amqp_uri=vhost.uri)
    assert relay.relay_once() == 0
    assert db[INDEX].count_documents({}) == 0
    assert vhost.drain(mailbus.QUEUE) == []


def test_adoption_runs_during_the_databases_first_day_only_and_a_failed_one_never_stops_publishing(vhost, db,
                                                                                                  monkeypatch):
    """A database whose first adoption is over a day old skips the query (every writer since writes index
    entries); an adoption that fails (a timeout over a huge collection on FerretDB) is tried again later
    while the indexed e-mails go out."""
    from datetime import timedelta

    from pymongo.errors import NetworkTimeout

    from kadra_defaults import clock
    from kadra_defaults.outbox import ADOPTED_MARK
    from kadra_defaults.storage import KEYS_COLLECTION

    old = mail_event("password_reset_requested", reset_payload())
    db.accounts.insert_one({"_id": "before-index", "outbox": [old], "outbox_pending": True})  # no entry
    failing = OutboxRelay(db, ["accounts"], service="identity", amqp_uri=vhost.uri)
    monkeypatch.setattr(failing, "adopt", lambda: (_ for _ in ()).throw(NetworkTimeout("timed out")))
    fresh = mail_event("password_reset_requested", reset_payload())
    insert_with_outbox(db.accounts, {"_id": "after-index"}, fresh)
    assert failing.relay_once() == 1  # the indexed e-mail went out; the adoption failed and waits
    assert failing._adopt_after > 0 and not failing._adopted
    assert db[KEYS_COLLECTION].find_one({"_id": ADOPTED_MARK}) is None
    failing.publisher.close()

    relay = OutboxRelay(db, ["accounts"], service="identity", amqp_uri=vhost.uri)
    assert relay.relay_once() == 1  # adopts the old document, marks the database, publishes it
    assert db.accounts.find_one({"_id": "before-index"})["outbox"] == []
    relay.publisher.close()
    mark = db[KEYS_COLLECTION].find_one({"_id": ADOPTED_MARK})
    assert mark is not None

    # a day on, a start no longer asks: a document without an entry now is not looked for
    db.accounts.insert_one({"_id": "bypassed", "outbox": [mail_event("password_reset_requested", reset_payload())],
                            "outbox_pending": True})
    monkeypatch.setattr(clock, "now", lambda: mark["at"].replace(tzinfo=None) + timedelta(days=1, minutes=1)
                        if mark["at"].tzinfo is None else mark["at"] + timedelta(days=1, minutes=1))
    later = OutboxRelay(db, ["accounts"], service="identity", amqp_uri=vhost.uri)
    monkeypatch.setattr(later, "adopt", lambda: pytest.fail("adopted a day after the first adoption"))
    assert later.relay_once() == 0 and later._adopted
    later.publisher.close()
