"""The company audit log on the real database: kept, numbered per company, read a page at a time by key."""
from datetime import datetime, timedelta, timezone

import pytest
from pymongo import MongoClient

from tests.support.infra import by_key, command_log, store_on_own_database
from users.storage.audit import AUDIT, NUMBERED, NUMBERS, AuditLog

pytestmark = pytest.mark.integration

T0 = datetime(2030, 1, 1, tzinfo=timezone.utc)


@pytest.fixture
def audit(real_parts):
    with store_on_own_database(AuditLog, "users_audit") as store:
        yield store


def test_pages_are_newest_first_and_read_by_key_only(audit):
    for i in range(45):
        audit.write("c1", "member_invited", T0 + timedelta(seconds=i), actor_account_id="a", details={"i": i})
        if i % 3 == 0:
            audit.write("c2", "member_invited", T0 + timedelta(seconds=i), actor_account_id="b", details={"i": i})
    audit.write("c1", "member_invited", T0, entry_id="event-1:c1")
    audit.write("c1", "member_invited", T0, entry_id="event-1:c1")  # the same event delivered twice: once
    log = command_log()
    host, port = audit.db.client.address
    client = MongoClient(f"mongodb://{host}:{port}/", event_listeners=[log], tz_aware=True)
    try:
        watched = AuditLog(client[audit.db.name])
        first, total = watched.page("c1", 1, 20)
        third, _ = watched.page("c1", 3, 20)
        other, other_total = watched.page("c2", 1, 50)
    finally:
        client.close()
    assert total == 46 and other_total == 15
    assert [e["_id"] for e in first][0] == "event-1:c1"
    assert [e["details"]["i"] for e in first[1:]] == list(range(44, 25, -1))
    assert [e["details"]["i"] for e in third] == list(range(5, -1, -1))
    assert [e["details"]["i"] for e in other] == list(range(42, -1, -3))
    finds = [body for name, body in log.commands if name == "find"]
    assert finds and all(by_key(body["filter"]) for body in finds)
    # a page costs the same few queries however long it is: its numbers in one, its entries in one
    assert len(finds) <= 3 * 5, [body["filter"] for body in finds]
    assert not [name for name, _ in log.commands if name in ("count", "aggregate")]


def test_entries_from_before_the_numbers_get_theirs_in_time_order(audit):
    db = audit.db
    for i in (2, 0, 1):  # written by a version without numbers, out of order
        db[AUDIT].insert_one({"_id": f"old{i}", "company_id": "c9", "action": "x", "at": T0 + timedelta(minutes=i),
                              "details": {"i": i}})
    db[NUMBERS].delete_one({"_id": NUMBERED})
    AuditLog.ensure_indexes(db)
    audit.write("c9", "y", T0 + timedelta(hours=1), details={"i": 3})
    entries, total = audit.page("c9", 1, 10)
    assert total == 4 and [e["details"]["i"] for e in entries] == [3, 2, 1, 0]
    AuditLog.ensure_indexes(db)  # the marker: not numbered twice
    assert audit.page("c9", 1, 10)[1] == 4
