"""Ending every session of an account or of a device reads their key sets on the real database, never the
whole sessions collection (issue 15); live sessions from before the sets are listed once at start."""
import pytest

from identity.storage.sessions import SESSION_KEYS_MADE, SESSIONS, Sessions
from kadra_defaults.storage import KEYS_COLLECTION, new_id
from tests.support.infra import store_on_own_database

pytestmark = [pytest.mark.integration]


@pytest.fixture
def sessions(real_parts):
    with store_on_own_database(Sessions, "identity_sessions") as store:
        yield store


_id = new_id


def test_an_accounts_and_a_devices_sessions_are_ended_through_their_key_sets(sessions):
    anna, ewa, phone = _id(), _id(), _id()
    web, app, other = _id(), _id(), _id()
    sessions.open(web, anna, None, _id())
    sessions.open(app, anna, phone, _id())
    sessions.open(other, ewa, None, _id())
    assert [s["_id"] for s in sessions.end(device_id=phone, reason="device_removed")] == [app]
    assert sessions.get(app)["ended_at"] is not None and sessions.get(web)["ended_at"] is None
    assert sessions.end(device_id=phone) == []  # ended ones are no longer listed
    assert [s["_id"] for s in sessions.end(account_id=anna, reason="password_changed")] == [web]
    assert sessions.get(other)["ended_at"] is None
    again = _id()
    sessions.open(again, anna, None, _id())
    assert [s["_id"] for s in sessions.end(account_id=anna, except_session=again)] == []
    assert [s["_id"] for s in sessions.end(account_id=anna)] == [again]


def test_live_sessions_from_before_the_key_sets_are_listed_once_at_start(sessions):
    anna, old, ended = _id(), _id(), _id()
    for session_id, ended_at in ((old, None), (ended, "2026-01-01")):
        sessions.db[SESSIONS].insert_one({"_id": session_id, "account_id": anna, "device_id": None,
                                          "refresh_hash": _id(), "ended_at": ended_at})
    assert sessions.end(account_id=anna) == []  # written by a version before the sets
    sessions.db[KEYS_COLLECTION].delete_one({"_id": SESSION_KEYS_MADE})
    Sessions.ensure_indexes(sessions.db)
    assert [s["_id"] for s in sessions.end(account_id=anna)] == [old]


def test_an_accounts_live_links_are_voided_through_their_list_and_leave_it_when_used_or_swept(real_parts):
    from datetime import timedelta

    from identity.storage.onetime import ONETIME, OneTime
    with store_on_own_database(OneTime, "identity_onetime") as onetime:
        anna = _id()
        first, second, used, decoy = _id(), _id(), _id(), _id()
        for token in (first, second, used):
            onetime.insert(token, "reset", anna, 1800)
        onetime.insert(decoy, "decoy", None, 1800, decoy_mail=True)
        assert onetime.consume(used, "reset")["_id"] == used
        assert sorted(onetime._live("reset").refs(anna)) == sorted([first, second])  # the used one left
        onetime.void(anna, "reset")
        assert all(onetime.peek(t, "reset")["voided"] for t in (first, second))
        assert onetime.consume(first, "reset") is None and onetime._live("reset").refs(anna) == []
        onetime.void("-", "reset")  # what an unknown address's request does: nothing to void
        assert onetime.peek(decoy, "decoy")["voided"] is False
        # expired tokens are swept with their list entries (the decoy's too)
        later = onetime.db[ONETIME].find_one({"_id": decoy})["expires_at"] + timedelta(days=2)
        onetime.insert(_id(), "reset", anna, 1800)
        onetime.void(anna, "reset")
        assert onetime.sweep(later) >= 4
        assert onetime._live("decoy").refs("-") == [] and onetime._live("reset").refs(anna) == []
