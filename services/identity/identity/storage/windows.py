"""Counts of events in a window, in identity's throttle collection (storage/throttle.py, which sweeps them):
failed logins per client address (`c:<client>`: CLIENT_MAX_FAILURES in CLIENT_WINDOW, then every login from it
waits) and reset e-mails per address (`r:<address>`, identity/recovery.py). Each is one document by `_id`; a
window opens with its first event and the next event after it closes opens the next one."""
from datetime import datetime, timedelta

from pymongo import ReturnDocument
from pymongo.errors import DuplicateKeyError

from kadra_defaults import clock
from kadra_defaults.storage import Expiries

THROTTLE = "throttle"
CLIENT_WINDOW = 15 * 60.0
WINDOW_KEPT = timedelta(hours=2)  # a window's document is kept this long after the window opened (windows are shorter)
CLIENT_MAX_FAILURES = 100         # failed logins from one client address per window


class Windows:
    """Counting in windows; mixed into `Throttle` (a Store: `self.db`)."""

    def count_in_window(self, key: str, window: float, now=None) -> int:
        """Count one event under `key` in a window of `window` seconds that opens with its first event;
        returns the count so far, this one included. One write by key and, when a window opens, one more.
        On FerretDB an `$inc` is a read then a write, so under concurrency a count may come out a little
        low: limits built on it let a few more through, never fewer."""
        now = now or clock.now()
        update = {"$inc": {"count": 1}, "$setOnInsert": {"window_start": now}}
        try:
            doc = self.db[THROTTLE].find_one_and_update({"_id": key}, update, upsert=True,
                                                        return_document=ReturnDocument.AFTER)
        except DuplicateKeyError:  # another first event made the document meanwhile: count in its window
            doc = self.db[THROTTLE].find_one_and_update({"_id": key}, update, return_document=ReturnDocument.AFTER)
        opened = doc.get("window_start")
        if doc.get("count") == 1:  # this event made the document: due two hours on (every window is shorter)
            Expiries(self.db).due(THROTTLE, key, now + WINDOW_KEPT)
        if opened is not None and opened > now - timedelta(seconds=window):
            return doc["count"]
        # The window is over: this event opens the next one.
        self.db[THROTTLE].update_one({"_id": key}, {"$set": {"window_start": now, "count": 1}})
        return 1

    def forget(self, key: str) -> None:
        self.db[THROTTLE].delete_one({"_id": key})


def client_wait(doc: dict | None, now: datetime) -> float:
    """Seconds this client address must wait: 100 failures in its 15-minute window."""
    if doc is None:
        return 0.0
    start = doc.get("window_start")
    if start and (now - start).total_seconds() < CLIENT_WINDOW and doc.get("count", 0) >= CLIENT_MAX_FAILURES:
        return CLIENT_WINDOW - (now - start).total_seconds()
    return 0.0
