"""The local journal of accepted e-mails: what a dead process wrote is replayed once; a live one's is left alone."""
import datetime as dt
import os

from notify.journal import Journal

FIELDS = {"type": "password_reset_requested", "template": "password_reset", "locale": "pl",
          "recipient": "a@example.com"}


def _record(event_id, attempts=1):
    return {"event_id": event_id, "fields": FIELDS, "attempts": attempts,
            "sent_at": dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.timezone.utc)}


def test_a_dead_processs_journal_is_replayed_and_removed(tmp_path):
    dead = Journal("k_notify", root=str(tmp_path)).open()
    dead.append(_record("e1"))
    dead.append(_record("e2", attempts=3))
    with open(dead.path, "ab") as f:
        f.write(b'{"event_id": "e3", "fie')  # torn last line: skipped, not fatal
    dead.close(remove=False)  # SIGKILL: the file stays, the lock goes

    written = []
    alive = Journal("k_notify", root=str(tmp_path))
    assert alive.replay(written.extend) == 2
    assert [r["event_id"] for r in written] == ["e1", "e2"]
    assert written[1]["attempts"] == 3 and written[1]["fields"] == FIELDS
    assert written[0]["sent_at"] == _record("e1")["sent_at"]
    assert os.listdir(alive.directory) == []
    assert alive.replay(written.extend) == 0  # replayed once


def test_a_live_processs_journal_is_not_replayed(tmp_path):
    live = Journal("k_notify", root=str(tmp_path)).open()
    live.append(_record("e1"))
    other = Journal("k_notify", root=str(tmp_path))
    written = []
    assert other.replay(written.extend) == 0
    assert os.path.exists(live.path)
    live.close(remove=True)
    assert not os.path.exists(live.directory)


def test_emptied_when_everything_is_logged_and_databases_kept_apart(tmp_path):
    journal = Journal("k_notify", root=str(tmp_path)).open()
    journal.append(_record("e1"))
    journal.empty()
    assert os.path.getsize(journal.path) == 0
    journal.append(_record("e2"))
    journal.close(remove=False)
    written = []
    assert Journal("other_notify", root=str(tmp_path)).replay(written.extend) == 0
    assert Journal("k_notify", root=str(tmp_path)).replay(written.extend) == 1
    assert [r["event_id"] for r in written] == ["e2"]


def test_no_token_in_a_record(tmp_path):
    journal = Journal("k_notify", root=str(tmp_path)).open()
    journal.append(_record("e1"))
    with open(journal.path, encoding="utf-8") as f:
        line = f.read()
    assert "token" not in line and "secret" not in line
    journal.close(remove=True)


def test_empty_journals_of_dead_processes_are_swept_whatever_the_database(tmp_path):
    gone = Journal("dropped_notify", root=str(tmp_path)).open()
    gone.close(remove=False)  # killed with nothing unlogged
    live = Journal("other_notify", root=str(tmp_path)).open()
    Journal("k_notify", root=str(tmp_path)).replay(lambda records: None)
    assert not os.path.exists(gone.path) and not os.path.exists(gone.directory)
    assert os.path.exists(live.path)
    live.close(remove=True)


def test_a_replay_beside_another_waits_for_it_and_then_finds_the_sends_written(tmp_path):
    """Workers taking over a dead replica's claims together each replay before they read the log: the second
    must not skip the dead journal because the first holds it, and read the log before the first wrote it."""
    import threading
    import time

    dead = Journal("k_notify", root=str(tmp_path)).open()
    dead.append(_record("e1"))
    dead.close(remove=False)
    survivor = Journal("k_notify", root=str(tmp_path))
    log, writing = [], threading.Event()

    def slow_write(records):  # the message-log write of the first replay takes a while
        writing.set()
        time.sleep(0.3)
        log.extend(records)

    first = threading.Thread(target=survivor.replay, args=(slow_write,))
    first.start()
    assert writing.wait(5)
    assert survivor.replay(log.extend) == 0  # nothing left to replay once the first is done ...
    assert [r["event_id"] for r in log] == ["e1"]  # ... and the send is in the log when it returns
    first.join(5)
