"""Throttle counters: password checks per e-mail address (whether or not it has an account), failures per
client address, and counts of events in a window (reset e-mails per address).

**Password checks per address: numbered before the check** (kit: counted attempts). Each check of a password
for an address first reserves its number in the address's current *streak* (`AttemptCounter`, a unique
insert per number), and only a check that got a number is done; so at most 5 checks start before the first
wait, however many requests race and on however many identity replicas — never "read the count, check the
password, write the count", which let 11 of 40 parallel guesses through (issue 14). The schedule:

- numbers 1-5 are free; number n > 5 may be reserved once number n-1 is `wait_for(n-1)` old (60 s, then
  doubling to 15 minutes): one more check per wait. A reservation counts as a failure from the moment it is
  made; a check that succeeds ends the streak (`succeeded`: the next check starts a new one), so a
  reservation whose check is still running, or whose process died, holds the wait as a failure would.
- a streak that began more than 24 h ago is over: the next check starts a new one.
- a request refused while checks of its streak are still running waits for them (up to CHECK_SETTLE): if
  one succeeds, it goes on in the next streak, so the owner's parallel logins all pass (50 device
  activations at once in the tests); if they all fail (each failure leaves a claim `checked:<key>:<n>`), it
  is refused at once. Guesses never end a streak, so they are refused as soon as the checks are done.
- the check that is the 5th failure stores the lockout notice e-mail with its counter (once per streak).

The address's document `e:<address>` names its current streak — `base` (random, made with the document) and
`streak` (a number raised by 1 to start the next) — and when it began (`streak_at`). The reservations are
keyed `login:<address>:<base>:<streak>`. Racing requests that start the next streak all write the same
number (the one after the streak they saw), so they meet in one streak, never one each.

Other documents, all looked up by `_id` alone (kit: key look-ups; this collection holds a counter for every
address anybody tried): `c:<client>` failures in a window, `r:<address>` reset e-mails in a window
(storage/windows.py counts them; the sweep here removes them).
"""
import itertools
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

from pymongo import ReturnDocument
from pymongo.errors import DuplicateKeyError

from kadra_defaults import clock
from kadra_defaults.outbox import update_with_outbox
from kadra_defaults.storage import (CLAIMS_COLLECTION, AttemptCounter, Expiries, Store, claim, in_parallel, new_id,
                                    sweep_attempts)

from identity.storage.windows import CLIENT_WINDOW, THROTTLE, WINDOW_KEPT, Windows, client_wait

FREE_FAILURES = 5                 # the 5th consecutive failure starts the first wait
FIRST_WAIT = 60.0                 # seconds; doubles with each further failure
MAX_WAIT = 15 * 60.0
FAILURES_FORGOTTEN_AFTER = 24 * 3600.0  # a failure streak older than this starts again
# A reservation is kept until its streak is surely over (a streak lives 24 h from its start, and every
# reservation is made after that start), with an hour to spare.
RESERVATION_KEPT = FAILURES_FORGOTTEN_AFTER + 3600.0
# How long a request refused while checks of its streak run waits for them at most (a check is ~50 ms; many
# at once queue on a replica's cores); a check unfinished after that is taken for one whose process died.
CHECK_SETTLE = 10.0
SETTLE_POLL = 0.015        # the address's document (a success ends the streak): one key read
FAILURES_POLL_EVERY = 6    # polls; the failures' claims (up to 5 key reads, in parallel)
# What a counter counted before streaks were numbered (issue 14): dropped when its next streak starts, and the
# sweep forgets a counter that still has them a day after its last failure.
LEGACY_FIELDS = ("failures", "locked_until", "last_failure_at")


def wait_for(failures: int) -> float:
    """The wait after `failures` consecutive failures (0 before the 5th)."""
    if failures < FREE_FAILURES:
        return 0.0
    return min(MAX_WAIT, FIRST_WAIT * 2 ** (failures - FREE_FAILURES))


@dataclass(frozen=True)
class Attempt:
    """One password check: its number in the address's streak, or the wait before one may be made."""

    email_norm: str
    streak: tuple = ()            # (base, number) of the streak the number was reserved in
    number: int | None = None     # None: refused, see `wait`
    wait: float = 0.0             # seconds (> 0: refused; Retry-After)

    @property
    def allowed(self) -> bool:
        return self.number is not None


class Attempts(AttemptCounter):
    """The kit's AttemptCounter, plus when a number was reserved (its claim document's `at`)."""

    def reserved_at(self, key: str, n: int) -> datetime | None:
        doc = self.collection.find_one({"_id": f"{key}:{n}"})
        return doc.get("at") if doc else None


class Throttle(Windows, Store):
    """The throttle collection and the password checks' reservations (its windows: storage/windows.py)."""

    def __init__(self, db):
        super().__init__(db)
        self.attempts = Attempts(db)

    # -- password checks per address ---------------------------------------------------------------

    def begin(self, email_norm: str, client_ip: str | None) -> Attempt:
        """Reserve a number for one password check of `email_norm` before it is made (`Attempt.allowed`),
        or say how long to wait (`Attempt.wait`): the client's failures in its window, or the address's
        streak. Refused attempts reserve nothing and so never lengthen a wait.

        Refused while checks of the streak are still running, it waits for them (up to CHECK_SETTLE): if one
        succeeds, the streak is over and this check goes on in the next one. So the owner's parallel logins
        (8 at once in the bench) all go through, while guesses, which never end a streak, are refused as
        soon as the checks are done."""
        deadline = time.monotonic() + CHECK_SETTLE
        settled = False
        while True:
            attempt, last = self._reserve(email_norm, client_ip)
            if attempt.allowed or last is None or settled:
                return attempt
            key, number, reserved = last
            until = min(deadline, time.monotonic()
                        + (reserved + timedelta(seconds=CHECK_SETTLE) - clock.now()).total_seconds())
            if until <= time.monotonic():
                return attempt
            # When the streak ends, try again in the next one; when its checks are all done (failed), or the
            # time is up, look once more only for the wait counted from now.
            settled = not self._checks_end_streak(email_norm, attempt.streak, key, number, until)

    def _reserve(self, email_norm: str, client_ip: str | None) -> tuple[Attempt, tuple | None]:
        """One try of `begin`: the attempt, and when the streak refused it, (its key, its last number, when
        that was taken)."""
        now = clock.now()
        email_doc, client_doc = in_parallel(lambda: self.by_key(THROTTLE, f"e:{email_norm}"),
                                            lambda: self.by_key(THROTTLE, f"c:{client_ip}") if client_ip else None)
        waits = client_wait(client_doc, now)
        if waits > 0:
            return Attempt(email_norm, wait=waits), None
        streak = self._current_streak(email_norm, email_doc, now)
        key = _key(email_norm, streak)
        expires = now + timedelta(seconds=RESERVATION_KEPT)
        number = self.attempts.reserve(key, FREE_FAILURES, expires)
        if number is not None:
            return Attempt(email_norm, streak, number), None
        # 1..5 are taken: the next number only once the last one's wait is over. The hint may lag or have
        # lost an update (FerretDB), so the last number is found by looking forward from it.
        last = max(self.attempts.used(key), FREE_FAILURES)
        while self.attempts.taken(key, last + 1):
            last += 1
        now = clock.now()  # after the reservations were read, some of which may be younger than the first `now`
        reserved = self.attempts.reserved_at(key, last) or now
        opens = reserved + timedelta(seconds=wait_for(last))
        if opens > now:
            return Attempt(email_norm, streak, wait=(opens - now).total_seconds()), (key, last, reserved)
        number = self.attempts.reserve(key, last + 1, expires)
        if number is None:  # another request took it this instant: its check starts the next wait
            return Attempt(email_norm, streak, wait=wait_for(last + 1)), (key, last + 1, now)
        return Attempt(email_norm, streak, number), None

    def _checks_end_streak(self, email_norm: str, streak: tuple, key: str, last: int, until: float) -> bool:
        """Wait until `streak` ends (True) or its checks 1..`last` have all failed or `until` (time.monotonic())
        has come (False). The address's document is read every SETTLE_POLL, the failures' claims less often."""
        pending = set(range(1, last + 1))
        for poll in itertools.count():
            if time.monotonic() >= until:
                return False
            time.sleep(min(SETTLE_POLL, max(0.0, until - time.monotonic())))
            doc = self.by_key(THROTTLE, f"e:{email_norm}")
            if doc is None or (doc.get("base", "0"), int(doc.get("streak", 0))) != streak:
                return True
            if poll % FAILURES_POLL_EVERY == FAILURES_POLL_EVERY - 1:
                numbers = sorted(pending)
                checked = in_parallel(*(lambda n=n: self.by_key(CLAIMS_COLLECTION, _checked(key, n))
                                        for n in numbers))
                pending -= {n for n, found in zip(numbers, checked) if found is not None}
                if not pending:
                    return False
        return False

    def _current_streak(self, email_norm: str, doc: dict | None, now: datetime) -> tuple:
        """(base, number) of the address's current streak; a streak 24 h old is replaced by the next."""
        if doc is None:
            doc = self._first_streak(email_norm, now)
        streak = (doc.get("base", "0"), int(doc.get("streak", 0)))
        began = doc.get("streak_at")
        if began is None or began < now - timedelta(seconds=FAILURES_FORGOTTEN_AFTER):
            return self._next_streak(email_norm, streak, now)
        return streak

    def _first_streak(self, email_norm: str, now: datetime) -> dict:
        """The address's document, made now if it is not there (of racing makers, one insert wins); made due
        for the sweep when its streak would be over (kit: due buckets; the sweep looks again if it is not)."""
        Expiries(self.db).due(THROTTLE, f"e:{email_norm}", now + timedelta(seconds=FAILURES_FORGOTTEN_AFTER))
        update = {"$setOnInsert": {"base": new_id(), "streak": 0, "streak_at": now}}
        for _ in range(2):
            try:
                return self.db[THROTTLE].find_one_and_update({"_id": f"e:{email_norm}"}, update, upsert=True,
                                                             return_document=ReturnDocument.AFTER)
            except DuplicateKeyError:  # another request made it meanwhile: read it
                continue
        return self.by_key(THROTTLE, f"e:{email_norm}")

    def _next_streak(self, email_norm: str, seen: tuple, now: datetime) -> tuple:
        """Start the streak after `seen`. Every request that saw `seen` writes the same next number (never
        one each), and `$max` never moves the number back."""
        base, number = seen
        self.db[THROTTLE].update_one({"_id": f"e:{email_norm}"}, {
            "$max": {"streak": number + 1}, "$set": {"streak_at": now},
            "$unset": {field: "" for field in LEGACY_FIELDS}})
        return base, number + 1

    def failed(self, attempt: Attempt, client_ip: str | None, lockout_event=None) -> dict:
        """A reserved check failed: {"failures", "locked_until", "notified"}. Counts the client's failure;
        the 5th failure of a streak stores `lockout_event(locked_until)` (an envelope or None) with the
        address's counter, so the notice goes out once per streak."""
        now = clock.now()
        failures = attempt.number or 0
        if attempt.allowed:  # requests waiting for this streak's checks stop waiting once all have failed
            claim(self.db, _checked(_key(attempt.email_norm, attempt.streak), attempt.number),
                  now + timedelta(seconds=RESERVATION_KEPT))
        locked_until = now + timedelta(seconds=wait_for(failures)) if wait_for(failures) else None
        events = ()
        if failures == FREE_FAILURES and lockout_event is not None:
            event = lockout_event(locked_until)
            if event is not None:
                events = (event,)
                update_with_outbox(self.db[THROTTLE], {"_id": f"e:{attempt.email_norm}"},
                                   {"$set": {"locked_at": now}}, *events)
        if client_ip:
            self.count_in_window(f"c:{client_ip}", CLIENT_WINDOW, now)
        return {"failures": failures, "locked_until": locked_until, "notified": bool(events)}

    def held(self, attempt: Attempt) -> None:
        """A reserved check passed but the login needs a second step: its number stays counted (the streak
        goes on until `succeeded`), and requests waiting for this streak's checks need not wait for it."""
        if attempt.allowed:
            claim(self.db, _checked(_key(attempt.email_norm, attempt.streak), attempt.number),
                  clock.now() + timedelta(seconds=RESERVATION_KEPT))

    def succeeded(self, attempt: Attempt) -> None:
        """A reserved check succeeded: its streak is over, the next check starts a new one."""
        if attempt.allowed:
            self._next_streak(attempt.email_norm, attempt.streak, clock.now())

    def record_success(self, email_norm: str) -> None:
        """The address's streak is over (a completed password reset): the next check starts a new one."""
        doc = self.by_key(THROTTLE, f"e:{email_norm}")
        if doc is not None:
            self._next_streak(email_norm, (doc.get("base", "0"), int(doc.get("streak", 0))), clock.now())

    def sweep(self, now) -> int:
        """What nothing reads any more: reservations past their keeping; an address's document whose streak
        is over (24 h old: the next check starts a new streak, with a new base when the document is gone);
        windows two hours closed. Every address anybody tries gets a document, so without this the
        collection only grows. A document carrying a pending e-mail stays. Due buckets (made due when a
        document is made): no scan, whatever the collection holds."""
        expiries = Expiries(self.db)
        expiries.adopt_once(THROTTLE, THROTTLE, _done_at)
        return sweep_attempts(self.db, now) + expiries.sweep(THROTTLE, self._judge, now)

    def _judge(self, key: str, bucket_end: datetime) -> bool:
        """The sweep's rule: delete the document once nothing in it counts any more, else look again then."""
        doc = self.by_key(THROTTLE, key)
        if doc is None:
            return False
        done = _done_at(doc)
        if doc.get("outbox_pending"):  # its lockout notice waits for the relay
            done = max(done or bucket_end, bucket_end + timedelta(hours=1))
        if done is not None and done > bucket_end:
            Expiries(self.db).due(THROTTLE, key, done)
            return False
        return self.db[THROTTLE].delete_one({"_id": key}).deleted_count == 1


def _done_at(doc: dict) -> datetime | None:
    """When nothing in a throttle document counts any more: its streak 24 h old, its window two hours old."""
    times = [clock.aware(doc[field]) + keep for field, keep in (
        ("streak_at", timedelta(seconds=FAILURES_FORGOTTEN_AFTER)),
        ("last_failure_at", timedelta(seconds=FAILURES_FORGOTTEN_AFTER)),
        ("window_start", WINDOW_KEPT)) if isinstance(doc.get(field), datetime)]
    return max(times) if times else None


def _checked(key: str, number: int) -> str:
    return f"checked:{key}:{number}"


def _key(email_norm: str, streak: tuple) -> str:
    base, number = streak
    return f"login:{email_norm}:{base}:{number}"
