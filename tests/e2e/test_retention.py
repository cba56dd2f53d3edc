"""Retention on the real database, with an injected clock: what expired goes, what lives (and the audit log)
stays, and a sweep tick reads only the due buckets by `_id` (kadra_defaults.storage.Expiries)."""
import uuid
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone

import pytest
from pymongo import MongoClient

from devices.storage import DevicesStore
from identity.storage import IdentityStore
from identity.tokens import REFRESH_TTL
from kadra_defaults import clock
from kadra_defaults.outbox import mail_event
from kadra_defaults.storage import EXPIRIES_COLLECTION, Expiries
from notify.storage import NotifyStore
from tests.support.infra import command_log, store_on_own_database
from users.storage.audit import AuditLog

pytestmark = [pytest.mark.integration, pytest.mark.e2e]

T0 = datetime(2030, 3, 1, 12, 0, tzinfo=timezone.utc)


@pytest.fixture
def at(monkeypatch):
    """Set the clock the stores read (kadra_defaults.clock.now) to a given moment."""
    moment = {"now": T0}
    monkeypatch.setattr(clock, "now", lambda: moment["now"])

    def set_(when):
        moment["now"] = when
        return when
    return set_


@contextmanager
def own(store_cls, tag):
    with store_on_own_database(store_cls, tag) as store:
        yield store


def test_ended_and_expired_sessions_go_live_ones_stay(real_parts, at):
    with own(IdentityStore, "identity_retention") as store:
        sessions = store.sessions
        for sid in ("live", "ended", "expired"):
            sessions.open(sid, f"acc-{sid}", None, f"hash-{sid}")
        sessions.end(session_ids=["ended"], account_id="acc-ended", reason="logout")
        at(T0 + timedelta(hours=23))
        assert sessions.sweep_sessions(clock.now()) >= 0
        assert sessions.get("ended") is not None  # ended less than a day ago: kept
        at(T0 + timedelta(days=2, hours=1))
        sessions.sweep_sessions(clock.now())
        assert sessions.get("ended") is None
        assert sessions.get("live") and sessions.get("expired")
        # "live" refreshes on day 29 (chain generation 0 -> 1): its tokens now last to day 59
        at(T0 + timedelta(days=29))
        assert sessions.rotate_chain("live", 0, "hash-live", "hash-live-1") != {}
        at(T0 + timedelta(seconds=REFRESH_TTL) + timedelta(days=1, hours=1))
        sessions.sweep_sessions(clock.now())
        assert sessions.get("expired") is None  # every token of it expired on day 30
        assert sessions.get("live") is not None
        at(T0 + timedelta(days=29, seconds=REFRESH_TTL) + timedelta(days=1, hours=1))
        sessions.sweep_sessions(clock.now())
        assert sessions.get("live") is None


def test_spent_challenges_and_wrong_pin_slots_go_after_their_expiry(real_parts, at):
    with own(DevicesStore, "devices_retention") as store:
        device = {"_id": uuid.uuid4().hex, "account_id": "acc", "pin_epoch": "e1", "blocked_at": None,
                  "failed_pins": 0}
        store.insert_device(device)
        assert store.spend_challenge("challenge-old", T0 + timedelta(minutes=2))
        assert store.reserve_pin_check(device, T0) == (1, "e1")
        at(T0 + timedelta(hours=2))
        assert store.spend_challenge("challenge-new", clock.now() + timedelta(minutes=2))
        at(T0 + timedelta(hours=3, minutes=30))
        store.sweep_challenges(clock.now())
        claims = store.db.claims
        assert claims.count_documents({}) == 1  # the old one went, the newer one stays its hour
        assert store.db.wrong_pins.count_documents({}) == 2  # a wrong-PIN slot is kept 90 days
        assert not store.spend_challenge("challenge-new", T0 + timedelta(hours=2, minutes=2))  # still spent
        at(T0 + timedelta(days=91))
        store.sweep_challenges(clock.now())
        assert claims.count_documents({}) == 0
        assert store.db.wrong_pins.count_documents({}) == 0


def test_a_removed_devices_record_goes_a_day_later_once_its_e_mail_is_published(real_parts, at):
    with own(DevicesStore, "devices_removed") as store:
        quiet = {"_id": uuid.uuid4().hex, "account_id": "a1", "pin_epoch": "e"}
        noisy = {"_id": uuid.uuid4().hex, "account_id": "a2", "pin_epoch": "e"}
        store.insert_device(quiet)
        store.insert_device(noisy)
        envelope = mail_event("password_reset_requested", {"to": "ala@example.com", "token": "t",
                                                            "expires_at": "2030-01-01T00:00:00Z"})
        store.delete_device(quiet["_id"], T0, "removed")
        store.delete_device(noisy["_id"], T0, "removed", envelopes=(envelope,))
        at(T0 + timedelta(hours=20))
        store.sweep_challenges(clock.now())
        assert store.db.removed_devices.count_documents({}) == 2
        at(T0 + timedelta(days=1, hours=2))
        store.sweep_challenges(clock.now())
        left = list(store.db.removed_devices.find())
        assert [doc["device_id"] for doc in left] == [noisy["_id"]]  # its notice is not published yet
        store.db.removed_devices.update_one({"_id": left[0]["_id"]}, {"$set": {"outbox": []}})  # the relay did
        at(T0 + timedelta(days=1, hours=4))
        store.sweep_challenges(clock.now())
        assert store.db.removed_devices.count_documents({}) == 0
        assert store.db.trusted_devices.count_documents({}) == 0


def test_the_e_mail_log_goes_after_the_retention_the_audit_log_stays(real_parts, at, monkeypatch):
    monkeypatch.setenv("KADRA_MAIL_LOG_RETENTION_DAYS", "30")
    fields = {"type": "password_reset_requested", "template": "password_reset_requested", "locale": "en",
              "recipient": "ala@example.com"}
    with own(NotifyStore, "notify_retention") as notify, own(AuditLog, "users_retention") as audit:
        notify.record_sent("old", fields, 1)
        notify.record_sent_many([{"event_id": "batch", "fields": fields, "attempts": 1, "sent_at": T0}])
        notify.record_failure("failing", fields, status="retrying", attempts=1, error="421")
        audit.write("c1", "member_invited", T0, actor_account_id="a")
        at(T0 + timedelta(days=10))
        notify.record_sent("young", fields, 1)
        at(T0 + timedelta(days=29))
        notify.sweep(clock.now())
        assert notify.messages.count_documents({}) == 4
        at(T0 + timedelta(days=31, hours=2))
        notify.sweep(clock.now())
        assert sorted(doc["_id"] for doc in notify.messages.find()) == ["young"]
        at(T0 + timedelta(days=45))
        notify.sweep(clock.now())
        assert notify.messages.count_documents({}) == 0
        assert audit.db.audit.count_documents({}) == 1  # the company's record is kept


def test_a_sweep_tick_reads_only_due_buckets_by_id_whatever_the_collection_holds(real_parts, at):
    with own(IdentityStore, "identity_tick") as store:
        for i in range(300):  # sessions live for 30 days: nothing is due in the next hours
            store.sessions.open(f"s{i}", f"a{i}", None, f"h{i}")
        listener = command_log()
        host, port = store.db.client.address
        client = MongoClient(f"mongodb://{host}:{port}/", event_listeners=[listener], tz_aware=True)
        try:
            watched = IdentityStore(client[store.db.name]).sessions
            at(T0 + timedelta(hours=5))
            watched.sweep_sessions(clock.now())  # the first tick looks back over 48 empty buckets
            listener.commands.clear()
            at(T0 + timedelta(hours=30))
            assert watched.sweep_sessions(clock.now()) == 0
            reads = [(name, body) for name, body in listener.commands if name in ("find", "delete", "update")]
            assert reads, "the tick read nothing"
            for name, body in reads:
                if name == "find":
                    assert body["find"] in (EXPIRIES_COLLECTION, "leases") and set(body["filter"]) == {"_id"}, body
                else:
                    queries = [u["q"] for u in body.get("updates", [])] + [d["q"] for d in body.get("deletes", [])]
                    assert all("_id" in q for q in queries), body
                    assert body.get("update", body.get("delete")) in (EXPIRIES_COLLECTION, "leases"), body
            assert len(reads) < 20  # a few key look-ups, not one per session
        finally:
            client.close()
        assert store.db.sessions.count_documents({}) == 300


def test_due_numbers_stay_dense_across_processes_and_a_sweep_sees_each_once(real_parts):
    with own(IdentityStore, "identity_due") as store:
        expiries = Expiries(store.db)
        Expiries._next.clear()
        expiries.due_many("k", [f"r{i}" for i in range(40)], T0)
        Expiries._next.clear()  # another process: it starts from the hint and skips the taken numbers
        expiries.due_many("k", [f"q{i}" for i in range(5)], T0)
        seen = []
        assert expiries.sweep("k", lambda ref, end: seen.append((ref, end)) or True, T0 + timedelta(hours=2)) == 45
        assert sorted(ref for ref, _ in seen) == sorted([f"r{i}" for i in range(40)] + [f"q{i}" for i in range(5)])
        assert {end for _, end in seen} == {datetime(2030, 3, 1, 13, 0, tzinfo=timezone.utc)}
        assert expiries.sweep("k", lambda ref, end: seen.append(ref), T0 + timedelta(hours=3)) == 0
        assert store.db[EXPIRIES_COLLECTION].count_documents({"_id": {"$regex": "^k:[0-9]+:"}}) == 0


def test_spent_refresh_links_go_when_the_token_they_hold_has_expired_and_with_their_session(real_parts, at):
    with own(IdentityStore, "identity_spent") as store:
        sessions = store.sessions
        sessions.open("s1", "a1", None, "h0")
        assert sessions.rotate_chain("s1", 0, "h0", "h1") != {}
        at(T0 + timedelta(days=20))
        assert sessions.rotate_chain("s1", 1, "h1", "h2") != {}
        spent = store.db.spent_refresh_tokens
        assert spent.count_documents({}) == 2
        # link 0's next token (h1) expired; link 1's (h2) not. The session is judged when its day bucket
        # ends (no due slot per refresh): alive, so only its expired links go.
        at(T0 + timedelta(seconds=REFRESH_TTL, hours=2))
        store.sweep()
        assert spent.count_documents({}) == 2  # the day bucket has not ended yet
        at(T0 + timedelta(seconds=REFRESH_TTL, days=1))
        store.sweep()
        assert [doc["_id"] for doc in spent.find()] == ["s1:1"]
        assert sessions.of_current_token("s1", 2, "h2") is not None  # the live chain still works
        at(T0 + timedelta(days=21, seconds=REFRESH_TTL))  # every token of the chain expired: the session goes
        store.sweep()
        assert spent.count_documents({}) == 0 and sessions.get("s1") is None


def test_one_time_tokens_and_sign_ups_go_a_day_past_expiry_unless_their_e_mail_still_waits(real_parts, at):
    with own(IdentityStore, "identity_onetime") as store:
        event = mail_event("password_reset_requested", {"to": "ala@example.com", "token": "t",
                                                         "expires_at": "2030-01-01T00:00:00Z"})
        store.onetime.insert("spent", "reset", "a1", 1800)
        store.onetime.insert("waiting", "reset", "a2", 1800, events=(event,))
        store.onetime.insert("long", "email_undo", "a3", 7 * 86400)
        store.signups.add("s1", "signup", 86400, {"email": "ola@example.com"})
        at(T0 + timedelta(hours=23))
        store.sweep()
        assert store.db.onetime_tokens.count_documents({}) == 3
        at(T0 + timedelta(days=1, hours=2))
        store.sweep()
        assert sorted(d["_id"] for d in store.db.onetime_tokens.find()) == ["long", "waiting"]
        assert store.db.signups.count_documents({}) == 1  # its day past expiry is not over
        store.db.onetime_tokens.update_one({"_id": "waiting"}, {"$set": {"outbox": [], "outbox_pending": False}})
        at(T0 + timedelta(days=2, hours=3))
        store.sweep()
        assert [d["_id"] for d in store.db.onetime_tokens.find()] == ["long"]
        assert store.db.signups.count_documents({}) == 0


def test_what_was_written_before_the_due_buckets_is_made_due_once_and_goes(real_parts, at):
    with own(IdentityStore, "identity_before") as identity, own(NotifyStore, "notify_before") as notify, \
            own(DevicesStore, "devices_before") as devices:
        # written raw, as a version without due buckets did
        identity.db.sessions.insert_many([
            {"_id": "old-ended", "account_id": "a", "ended_at": T0, "refresh_expires_at": T0 + timedelta(days=30)},
            {"_id": "old-live", "account_id": "b", "ended_at": None, "refresh_expires_at": T0 + timedelta(days=30)}])
        notify.messages.insert_one({"_id": "old-mail", "status": "sent", "created_at": T0})
        devices.db.removed_devices.insert_one({"_id": "old-removed", "device_id": "d", "removed_at": T0})
        for day in (3, 3, 5):  # made due on the first tick, into the current bucket (the marker: only once)
            at(T0 + timedelta(days=day))
            identity.sessions.sweep_sessions(clock.now())
            notify.sweep(clock.now())
            devices.sweep_challenges(clock.now())
        assert identity.db.expiries.count_documents({"ref": "old-live"}) == 1
        assert [d["_id"] for d in identity.db.sessions.find()] == ["old-live"]
        assert devices.db.removed_devices.count_documents({}) == 0
        assert notify.messages.count_documents({}) == 1
        at(T0 + timedelta(days=91))
        identity.sessions.sweep_sessions(clock.now())
        notify.sweep(clock.now())
        assert identity.db.sessions.count_documents({}) == 0
        assert notify.messages.count_documents({}) == 0
