"""Throttle counters: failed password checks per e-mail address (whether or not it has an account) and per
client address, and counts of events in a window (reset e-mails per address).

Documents, all looked up by `_id` alone (kit: key look-ups; this collection holds a counter for every
address anybody tried): `e:<address>` a failure streak and its lockout, `c:<client>` failures in a window,
`r:<address>` reset e-mails in a window.
"""
from datetime import timedelta

from pymongo import ReturnDocument
from pymongo.errors import DuplicateKeyError

from kadra_defaults import clock
from kadra_defaults.outbox import with_outbox
from kadra_defaults.storage import Store, in_parallel

THROTTLE = "throttle"

FREE_FAILURES = 5                 # the 5th consecutive failure starts the first wait
FIRST_WAIT = 60.0                 # seconds; doubles with each further failure
MAX_WAIT = 15 * 60.0
FAILURES_FORGOTTEN_AFTER = 24 * 3600.0  # a failure streak older than this starts again
CLIENT_WINDOW = 15 * 60.0
CLIENT_MAX_FAILURES = 100         # failed logins from one client address per window


def wait_for(failures: int) -> float:
    """The wait after `failures` consecutive failures (0 before the 5th)."""
    if failures < FREE_FAILURES:
        return 0.0
    return min(MAX_WAIT, FIRST_WAIT * 2 ** (failures - FREE_FAILURES))


class Throttle(Store):
    """The throttle collection."""

    def wait(self, email_norm: str, client_ip: str | None) -> tuple[float, dict | None]:
        """(seconds to wait before this attempt may be checked, the address's streak document)."""
        email_doc, client_doc = in_parallel(lambda: self.by_key(THROTTLE, f"e:{email_norm}"),
                                            lambda: self.by_key(THROTTLE, f"c:{client_ip}") if client_ip else None)
        now = clock.now()
        wait = 0.0
        if email_doc is not None:
            locked = email_doc.get("locked_until")
            if locked and locked > now:
                wait = max(wait, (locked - now).total_seconds())
        if client_doc is not None:
            start = client_doc.get("window_start")
            if start and (now - start).total_seconds() < CLIENT_WINDOW and client_doc.get("count", 0) >= CLIENT_MAX_FAILURES:
                wait = max(wait, CLIENT_WINDOW - (now - start).total_seconds())
        return wait, email_doc

    def record_failure(self, email_norm: str, client_ip: str | None, lockout_event=None) -> dict:
        """Count a failed check; returns {"failures", "locked_until", "notified"}.

        `lockout_event(locked_until)` -> an envelope or None: stored in the same update that starts
        a lockout (the 5th consecutive failure), so the notice goes out once per lockout.
        """
        now = clock.now()
        key = f"e:{email_norm}"
        doc = self.db[THROTTLE].find_one_and_update(
            {"_id": key}, {"$inc": {"failures": 1}, "$set": {"last_failure_at": now}},
            upsert=True, return_document=ReturnDocument.AFTER)
        failures, streak_at = doc["failures"], doc.get("streak_at")
        update = {"$set": {}}
        if streak_at and streak_at < now - timedelta(seconds=FAILURES_FORGOTTEN_AFTER):
            failures, streak_at = 1, None  # a streak that old starts again
            update["$set"]["failures"] = 1
        if failures == 1 or not streak_at:
            update["$set"]["streak_at"] = now
        locked_until = None
        wait = wait_for(failures)
        if wait:
            locked_until = now + timedelta(seconds=wait)
            update["$set"]["locked_until"] = locked_until
        events = ()
        if failures == FREE_FAILURES and lockout_event is not None:
            event = lockout_event(locked_until)
            if event is not None:
                events = (event,)
        if update["$set"] or events:
            self.db[THROTTLE].update_one({"_id": key}, with_outbox(update, *events))
        if client_ip:
            self.count_in_window(f"c:{client_ip}", CLIENT_WINDOW, now)
        return {"failures": failures, "locked_until": locked_until, "notified": bool(events)}

    def record_success(self, email_norm: str, seen: dict | None | bool = True) -> None:
        """Reset the failure count. `seen`: the streak document read before this attempt (None: there
        was none); with nothing to reset then, nothing is written (a failure that raced with this
        success keeps counting, which only errs on the strict side). Default: look it up now."""
        key = f"e:{email_norm}"
        doc = self.by_key(THROTTLE, key) if seen is True else seen
        if doc is not None and (doc.get("failures") or doc.get("locked_until") or doc.get("streak_at")):
            self.db[THROTTLE].update_one({"_id": key},
                                         {"$set": {"failures": 0, "locked_until": None, "streak_at": None}})

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
        if opened is not None and opened > now - timedelta(seconds=window):
            return doc["count"]
        # The window is over: this event opens the next one.
        self.db[THROTTLE].update_one({"_id": key}, {"$set": {"window_start": now, "count": 1}})
        return 1

    def forget(self, key: str) -> None:
        self.db[THROTTLE].delete_one({"_id": key})

    def sweep(self, now) -> int:
        """Counters nothing reads any more: an address's failures a day old (a streak that old starts again
        anyway, and no wait is that long), windows two hours closed. Every address anybody tries gets a
        counter, so without this the collection only grows. A counter carrying a pending e-mail stays."""
        keep = {"outbox_pending": {"$ne": True}}
        streaks_before = now - timedelta(seconds=FAILURES_FORGOTTEN_AFTER)
        windows_before = now - timedelta(hours=2)
        return (self.db[THROTTLE].delete_many({"last_failure_at": {"$lt": streaks_before}, **keep}).deleted_count
                + self.db[THROTTLE].delete_many({"window_start": {"$lt": windows_before}, **keep}).deleted_count)
