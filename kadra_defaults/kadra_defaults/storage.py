"""The storage kit: every tactic our database needs beyond plain reads and writes, in one place.

Production runs MongoDB; development, tests and CI run FerretDB v1 with its SQLite backend (no
``mongod`` is packaged here). Domain stores (``AccountsStore.by_email``, ``Memberships.set_role``…)
speak the domain and use these tactics; they do not re-invent them. Per tactic: why FerretDB needs
it, and what MongoDB alone would do.

1. **Key look-ups** (``Store.by_key``). FerretDB serves a filter with a plain ``_id`` from the
   primary key (our build also narrows ``{"_id": x, "status": "active"}`` to that ``_id`` first:
   ``scripts/ferretdb/build.sh``); any other filter (another field, ``_id: {"$in": [...]}``) reads and
   decodes the whole collection (85 ms at 5,000 documents, measured, against < 1 ms). So every look-up on a
   path that runs per request or per poll is by ``_id`` alone, and the rest is judged in Python.
   MongoDB would use any index; the look-ups by key are right for it too.
2. **Claims** (``claim``). "Exactly once" (a token spent, a link accepted, an event handled) is a
   unique-key insert: of any number of racing callers exactly one insert wins. A filtered
   ``find_one_and_update`` is not enough on FerretDB, which applies it as a read, then a write by
   ``_id`` (16 concurrent ones on one document had 1 to 12 winners, measured). On MongoDB the
   filtered update alone would be atomic; the claim is just as right there.
3. **Key documents** (``KeyIndex``). A look-up by a field other than ``_id`` (an account by its
   e-mail address) goes through a small document whose ``_id`` is that field's value and which names
   the owner's ``_id``: two key look-ups instead of a scan, and the key document's unique ``_id`` is
   itself the uniqueness guarantee. MongoDB would use a (unique) secondary index on the field; we
   create that index too (prod runs MongoDB), the key documents make FerretDB keyed.
   Several documents per value (a company's memberships, an account's companies) go through
   ``KeySet``: one key document per pair, ``<kind>:<value>:<ref>``, listed by an ``_id`` range that
   MongoDB and our FerretDB build (``scripts/ferretdb/id_range.py``) read from the ``_id`` index — only
   inserts and deletes, each atomic, where an array in one document (``$addToSet``) would be a read then
   a write on FerretDB and lose a racer's entry.
4. **Counted attempts** (``AttemptCounter``). "At most N per key" (5 password checks before the wait,
   3 reset e-mails an hour, invitations a day) must hold however many requests race, on every replica:
   each attempt reserves its number first — a claim ``<key>:<n>`` by unique insert, n = 1, 2, … — and
   only the attempts that got a number within the limit go on. A counter with ``$inc`` would be a read
   then a write on FerretDB (500 increments from 20 threads left 57, measured) and a read of the count
   followed by the work lets every racer through. MongoDB's ``$inc`` is atomic, but "check, then act"
   would still race; reserving first is right on both.
5. **Leases** (``Lease``). Work that one process at a time may do across every replica (a company's
   role changes, a sweep): a lease document ``lease:<name>`` taken by a unique insert, with an owner
   and an expiry, released by its owner, taken over once expired. A per-process lock
   (``threading.Lock``) holds for one replica only. MongoDB would offer the same with a filtered
   ``find_one_and_update``; FerretDB needs the insert.
6. **Parallel key reads** (``in_parallel``). Two or three independent key look-ups a request needs
   (an account and its throttle counters) are sent at once, on green threads under nameko, so the
   request waits for the slowest one, not their sum (FerretDB answers each in ~0.3 ms of its own CPU
   but a round trip costs more). MongoDB needs nothing different.
7. **Retries at start-up** (``retry_until_ready``). A service may start before the database
   answers (a rolling restart, a fresh machine): indexes are made and journals replayed once it
   does, with one log line every few seconds, up to a deadline. Either database needs it.
8. **Due buckets** (``Expiries``). What must go at a time (a session past its expiry, an e-mail log
   entry past its retention) is put, when it is written, into the time bucket of that moment under a
   numbered slot ``<kind>:<bucket>:<n>`` (dense numbers taken by unique insert, as counted attempts);
   a sweep tick reads only the buckets that ended since the last tick, slot by slot by ``_id``, asks
   the kind's rule whether each document may go, and deletes it by ``_id``. A tick with nothing due
   is three key look-ups, whatever the collections hold. A ``delete_many`` on ``expires_at`` would
   scan the collection every tick on FerretDB; MongoDB would use a TTL index (FerretDB has none).

No transactions and no TTL indexes (FerretDB v1 has neither): every document that expires carries its
own ``expires_at``, checked on use and swept on a timer (by due buckets where a collection grows).
"""
from __future__ import annotations

import logging
import re
import time
import uuid
from datetime import datetime, timedelta, timezone
from typing import Callable, Iterable, TypeVar

from nameko.extensions import DependencyProvider
from pymongo import MongoClient
from pymongo.errors import BulkWriteError, DuplicateKeyError, PyMongoError

from kadra_defaults import clock, settings

log = logging.getLogger(__name__)

T = TypeVar("T")
HEARTBEAT_COLLECTION = "heartbeat"
CLAIMS_COLLECTION = "claims"
KEYS_COLLECTION = "keys"
LEASES_COLLECTION = "leases"
ATTEMPTS_COLLECTION = "attempts"
EXPIRIES_COLLECTION = "expiries"
STARTUP_WAIT = 60.0


def connect(uri: str | None = None) -> MongoClient:
    """A client with short timeouts, so a missing database fails fast instead of hanging."""
    return MongoClient(
        uri or settings.current().mongo_uri,
        serverSelectionTimeoutMS=3000,
        connectTimeoutMS=3000,
        socketTimeoutMS=10000,
        tz_aware=True,
        uuidRepresentation="standard",
        appname="kadra",
    )


def new_id() -> str:
    """A fresh document id (128 random bits, hex)."""
    return uuid.uuid4().hex


# 7. retries at start-up

def retry_until_ready(step: Callable[[], T], what: str, wait: float = STARTUP_WAIT) -> T:
    """`step()` once the database answers: retried every 2 s (logged) until `wait` seconds have passed."""
    deadline = time.monotonic() + wait
    while True:
        try:
            return step()
        except PyMongoError as exc:
            if time.monotonic() > deadline:
                raise
            log.warning("database not ready, retrying", extra={"step": what, "error": str(exc)[:300]})
            time.sleep(2)


# 6. parallel key reads

def in_parallel(*reads: Callable[[], T]) -> list[T]:
    """Run independent reads at once (green threads under nameko), return their results in order.

    Outside eventlet (tests, scripts) they simply run one after the other. An exception of any read
    is raised once all are done.
    """
    import eventlet.patcher

    if len(reads) < 2 or not eventlet.patcher.is_monkey_patched("socket"):
        return [read() for read in reads]
    import eventlet

    pending = [eventlet.spawn(read) for read in reads[1:]]
    first = reads[0]()
    return [first, *(thread.wait() for thread in pending)]


class Store:
    """Base of each service's store: a thin, domain-named object over one database."""

    def __init__(self, db):
        self.db = db

    @classmethod
    def ensure_indexes(cls, db) -> None:
        """Create the indexes this store relies on (unique ones are invariants)."""

    # 1. key look-ups

    def by_key(self, collection: str, key) -> dict | None:
        """The document whose `_id` is `key` (None for a key that is not a string)."""
        if not isinstance(key, str):
            return None
        return self.db[collection].find_one({"_id": key})

    def by_keys(self, collection: str, keys: Iterable) -> list[dict]:
        """The documents with these `_id`s that exist, in the keys' order (one key look-up each, sent at once
        under nameko: kit tactic 6); `{"_id": {"$in": [...]}}` would scan the collection on FerretDB."""
        wanted = [key for key in dict.fromkeys(keys) if isinstance(key, str)]
        found = in_parallel(*[lambda key=key: self.db[collection].find_one({"_id": key}) for key in wanted])
        return [doc for doc in found if doc is not None]

    # 2. claims

    def claim(self, key: str, expires_at: datetime | None = None) -> bool:
        """True for exactly one caller per key, however many race: a unique-key insert.

        Use it for anything that must happen once (a token spent, a link accepted). `expires_at`
        says when the sweep may forget the claim (after the thing claimed can no longer be used).
        """
        return claim(self.db, key, expires_at)

    def heartbeat(self, who: str) -> dict:
        """Write a document and read it back: proves the database answers for this service."""
        now = datetime.now(timezone.utc)
        try:
            self.db[HEARTBEAT_COLLECTION].update_one({"_id": who}, {"$set": {"at": now}}, upsert=True)
        except DuplicateKeyError:
            # Two first pings at once (FerretDB's upsert is a read, then an insert): the other inserted it.
            self.db[HEARTBEAT_COLLECTION].update_one({"_id": who}, {"$set": {"at": now}})
        doc = self.db[HEARTBEAT_COLLECTION].find_one({"_id": who})
        return {"database": self.db.name, "written_at": doc["at"].isoformat() if doc else None}


def claim(db, key: str, expires_at: datetime | None = None) -> bool:
    """See Store.claim. A claim with an expiry is made due then first (kit: due buckets)."""
    if expires_at is not None:
        Expiries(db).due(CLAIMS_COLLECTION, key, expires_at)
    try:
        db[CLAIMS_COLLECTION].insert_one({"_id": key, "at": clock.now(), "expires_at": expires_at})
        return True
    except DuplicateKeyError:
        return False


def sweep_claims(db, now: datetime | None = None) -> int:
    """Forget claims whose `expires_at` is before `now` (a claim without one is kept): due buckets, no scan."""
    return sweep_expired(db, CLAIMS_COLLECTION, now)


# 3. key documents

class KeyIndex:
    """Look-ups by a field other than `_id`, through key documents `{_id: "<kind>:<value>", "ref": <id>}`.

    `put` is a unique insert, so a value can point at one document only: the key document is the
    uniqueness guarantee as well as the index. Write the key document first, then the document it
    points to; a reader that finds a key whose document is missing (a crash in between) treats it as
    absent, and the writer's retry finds its own key (same `ref`) and goes on.
    """

    def __init__(self, db, kind: str, collection: str = KEYS_COLLECTION):
        self.db = db
        self.kind = kind
        self.collection = db[collection]

    def _id(self, value: str) -> str:
        return f"{self.kind}:{value}"

    def put(self, value: str, ref: str) -> bool:
        """Point `value` at `ref`; False when it already points at another document."""
        try:
            self.collection.insert_one({"_id": self._id(value), "ref": ref, "at": clock.now()})
            return True
        except DuplicateKeyError:
            found = self.collection.find_one({"_id": self._id(value)})
            return found is not None and found.get("ref") == ref

    def take(self, value: str, ref: str, load: Callable[[str], dict | None], holds: Callable[[dict], bool],
             young: timedelta = timedelta(minutes=5)) -> None:
        """Point `value` at `ref` before the write that gives `ref`'s document the value; DuplicateKeyError
        when another document has it. The key's current holder is read with `load`; one whose document
        no longer `holds` the value (a write that failed, a value changed since) is taken over, and so is
        one whose document never appeared — unless its key is younger than `young` (that document may be
        about to be written)."""
        if self.put(value, ref):
            return
        key = self.collection.find_one({"_id": self._id(value)}) or {}
        holder = key.get("ref")
        held = load(holder) if holder else None
        at = key.get("at")
        if at is not None and at.tzinfo is None:
            at = at.replace(tzinfo=timezone.utc)
        is_young = at is not None and at > clock.now() - young
        if holder and ((held is not None and holds(held)) or (held is None and is_young)):
            raise DuplicateKeyError(f"{self.kind} is taken", 11000)
        self.drop(value, holder)
        if not self.put(value, ref):
            raise DuplicateKeyError(f"{self.kind} is taken", 11000)

    def get(self, value: str) -> str | None:
        """The `_id` `value` points at, or None."""
        found = self.collection.find_one({"_id": self._id(value)})
        return found.get("ref") if found else None

    def drop(self, value: str, ref: str) -> None:
        """Forget `value` if it still points at `ref` (a filter with the ref: never someone else's key)."""
        found = self.collection.find_one({"_id": self._id(value)})
        if found is not None and found.get("ref") == ref:
            self.collection.delete_one({"_id": self._id(value)})


PLAIN = re.compile(r"[A-Za-z0-9._-]+")


class KeySet:
    """Look-ups of several documents by a field other than `_id`: `{_id: "<kind>:<value>:<ref>", "ref": <ref>}`
    per pair, all of a value listed by the `_id` range `<kind>:<value>:` up to `<kind>:<value>;`.

    `add` is an insert (adding twice is a no-op) and `remove` a delete by `_id`: single-document writes that
    no racer can undo. Add before writing the document the key names and remove after deleting it (or
    after it stops matching): a crash in between leaves a key whose document is missing or no longer
    matches — readers check what they read — never a document its value does not list. A set holds
    what its value has now (a company's members), so reading it costs what it lists.

    Values and refs are plain ids (letters, digits, `.`, `_`, `-`): the `_id` range is read from the
    index only for those (scripts/ferretdb/id_range.py), and no `:` inside a value can make one value's
    range hold another's keys.
    """

    def __init__(self, db, kind: str, collection: str = KEYS_COLLECTION):
        if not PLAIN.fullmatch(kind):
            raise ValueError(f"a KeySet kind must be a plain id: {kind!r}")
        self.db = db
        self.kind = kind
        self.collection = db[collection]

    def _plain(self, value: str) -> str:
        if not (isinstance(value, str) and PLAIN.fullmatch(value)):
            raise ValueError(f"{self.kind}: not a plain id: {value!r}")
        return value

    def _prefix(self, value: str) -> str:
        return f"{self.kind}:{self._plain(value)}:"

    def add(self, value: str, ref: str) -> None:
        try:
            self.collection.insert_one({"_id": self._prefix(value) + self._plain(ref), "ref": ref, "at": clock.now()})
        except DuplicateKeyError:
            pass

    def remove(self, value: str, ref: str) -> None:
        self.collection.delete_one({"_id": self._prefix(value) + self._plain(ref)})

    def refs(self, value: str) -> list[str]:
        """Every ref of `value`, sorted (one range read of the index); none for a value that is not a plain
        id (nothing can have been added under it)."""
        if not (isinstance(value, str) and PLAIN.fullmatch(value)):
            return []
        prefix = self._prefix(value)
        return sorted(doc["ref"] for doc in self.collection.find({"_id": {"$gte": prefix, "$lt": prefix[:-1] + ";"}}))


def once(db, marker: str, fill: Callable[[], None]) -> None:
    """Run `fill` once per database — a one-off pass that makes keys for data written before them (one
    scan) — marked by `marker` in the keys collection. Replicas starting together may both run it: a fill
    must be idempotent (KeyIndex.put, KeySet.add)."""
    if db[KEYS_COLLECTION].find_one({"_id": marker}) is not None:
        return
    fill()
    try:
        db[KEYS_COLLECTION].insert_one({"_id": marker, "at": clock.now()})
    except DuplicateKeyError:
        pass


# 4. counted attempts

class AttemptCounter:
    """Numbered attempts per key, reserved before the work: `reserve(key, limit)` -> n, or None past it.

    `key` names what is counted and its window (`"login:ala@example.pl:<streak>"`,
    `f"invite:{company}:{window_index(86400)}"`). A small hint document per key remembers the highest
    number handed out, so a reservation usually costs one read and one insert, not n inserts.
    Reservations expire with `expires_at` (the sweep removes them: `sweep_attempts`).
    """

    def __init__(self, db, collection: str = ATTEMPTS_COLLECTION):
        self.collection = db[collection]

    def reserve(self, key: str, limit: int, expires_at: datetime | None = None, fields: dict | None = None) -> int | None:
        """The number of this attempt (1..limit), or None when all `limit` are taken (`fields`: stored with it)."""
        hint = self.collection.find_one({"_id": f"{key}#"})
        n = (hint or {}).get("n", 0) + 1
        while n <= limit:
            if expires_at is not None:  # the number and the hint go with the sweep then (kit: due buckets)
                Expiries(self.collection.database).due_many(self.collection.name, [f"{key}:{n}", f"{key}#"],
                                                            expires_at)
            try:
                self.collection.insert_one({"_id": f"{key}:{n}", "at": clock.now(), "expires_at": expires_at,
                                            **(fields or {})})
            except DuplicateKeyError:
                n += 1
                continue
            try:  # the hint only ever grows to a number really handed out; a lost update costs an insert later
                self.collection.update_one({"_id": f"{key}#"}, {"$max": {"n": n}, "$set": {"expires_at": expires_at}},
                                           upsert=True)
            except DuplicateKeyError:
                self.collection.update_one({"_id": f"{key}#"}, {"$max": {"n": n}})
            return n
        return None

    def taken(self, key: str, n: int) -> bool:
        """Whether the n-th number under `key` has been handed out (one key look-up, never lags)."""
        return self.collection.find_one({"_id": f"{key}:{n}"}) is not None

    def used(self, key: str) -> int:
        """How many numbers were handed out under `key` (from the hint: may lag a racing reservation)."""
        hint = self.collection.find_one({"_id": f"{key}#"})
        return (hint or {}).get("n", 0)


def window_index(seconds: float, now: datetime | None = None) -> int:
    """Which fixed window of `seconds` `now` falls in (for keys of per-window limits)."""
    return int((now or clock.now()).timestamp() // seconds)


def window_left(seconds: float, now: datetime | None = None) -> float:
    """Seconds until the current fixed window of `seconds` ends (a Retry-After)."""
    stamp = (now or clock.now()).timestamp()
    return seconds - (stamp % seconds)


def sweep_attempts(db, now: datetime | None = None) -> int:
    """Forget reservations (and hints) whose `expires_at` has passed: due buckets, no scan."""
    return sweep_expired(db, ATTEMPTS_COLLECTION, now)


# 5. leases

class Lease:
    """Exclusive work across processes: `with Lease(db, "company:42").held(): ...`.

    Taking it inserts `lease:<name>` (a unique key: one holder); a lease whose holder died is taken
    over once its `ttl` has passed. Keep the work well inside the ttl; `held()` waits up to `wait`
    seconds for the lease and raises `LeaseBusy` after that.
    """

    def __init__(self, db, name: str, ttl: float = 10.0, collection: str = LEASES_COLLECTION):
        self.db = db
        self.name = name
        self.ttl = ttl
        self.collection = db[collection]
        self.owner = new_id()

    @property
    def _key(self) -> str:
        return f"lease:{self.name}"

    def take(self) -> bool:
        """Take the lease now if it is free (or its holder's time ran out); True when this one holds it."""
        now = clock.now()
        doc = {"_id": self._key, "owner": self.owner, "until": now + timedelta(seconds=self.ttl)}
        try:
            self.collection.insert_one(doc)
            return True
        except DuplicateKeyError:
            pass
        held = self.collection.find_one({"_id": self._key})
        if held is not None and held.get("until") and held["until"] < now:
            # Expired: remove that holder's document (by its owner, so never a newer holder's), then race
            # the others for the insert.
            self.collection.delete_one({"_id": self._key, "owner": held["owner"]})
            try:
                self.collection.insert_one(doc)
                return True
            except DuplicateKeyError:
                return False
        return False

    def renew(self) -> bool:
        """Extend this holder's lease by its ttl from now; False when the lease is no longer this holder's
        (its time ran out and another took it, or it was never taken)."""
        until = clock.now() + timedelta(seconds=self.ttl)
        return self.collection.update_one({"_id": self._key, "owner": self.owner},
                                          {"$set": {"until": until}}).matched_count == 1

    def release(self) -> None:
        """Give the lease back (only this holder's document is removed)."""
        self.collection.delete_one({"_id": self._key, "owner": self.owner})

    def held(self, wait: float = 5.0, poll: float = 0.01):
        """A context manager holding the lease for its block."""
        return _Held(self, wait, poll)


class LeaseBusy(RuntimeError):
    """The lease stayed taken for longer than the caller would wait."""


class _Held:
    def __init__(self, lease: Lease, wait: float, poll: float):
        self.lease, self.wait, self.poll = lease, wait, poll

    def __enter__(self) -> Lease:
        deadline = time.monotonic() + self.wait
        delay = self.poll
        while not self.lease.take():
            if time.monotonic() > deadline:
                raise LeaseBusy(self.lease.name)
            time.sleep(delay)
            delay = min(0.1, delay * 2)
        return self.lease

    def __exit__(self, *exc) -> None:
        self.lease.release()


def expired_leases(db, now: datetime | None = None) -> int:
    """Remove leases whose holders' time ran out long ago (a minute)."""
    now = now or clock.now()
    return db[LEASES_COLLECTION].delete_many({"until": {"$lt": now - timedelta(minutes=1)}}).deleted_count


# 8. due buckets

class Expiries:
    """`due(kind, ref, at)`: `ref` (a document `_id`) is to be judged at `at`; `sweep(kind, rule)`: judge
    everything whose bucket has ended, without a scan.

    A bucket is `bucket_seconds` long (an hour by default; a day suits things kept for weeks). Slots are
    numbered 1, 2, … per bucket by unique insert; a process remembers the next free number per bucket
    (and a hint document, made before the bucket's first slot and moved every `HINT_EVERY` numbers, helps
    a fresh process and tells the sweep a bucket is empty), so a `due` usually costs one insert. `rule(ref, bucket_end)` deletes what may go (by `_id`) and may call `due` again for a later
    time; it must be idempotent (a sweep that died half-way repeats its bucket), and answers true when it
    deleted. A document goes within one bucket after its time, not at the first tick after it. One sweeper at a time
    per kind (a lease); the sweep remembers the last bucket done in `<kind>:swept`.
    """

    HINT_EVERY = 32
    LOOKBACK = 48  # buckets a first sweep looks back
    SETTLE = 60  # seconds after its end before a bucket is swept (a writer's clock a little behind the sweeper's)
    _next: dict = {}  # (database, kind, bucket) -> the first number this process has not seen taken

    def __init__(self, db, bucket_seconds: int = 3600, collection: str = EXPIRIES_COLLECTION):
        self.db = db
        self.bucket_seconds = int(bucket_seconds)
        self.collection = db[collection]

    def bucket(self, at: datetime) -> int:
        return int(at.timestamp() // self.bucket_seconds)

    def due(self, kind: str, ref: str, at: datetime) -> None:
        """Judge document `ref` of `kind` once `at`'s bucket has ended."""
        self.due_many(kind, [ref], at)

    def due_many(self, kind: str, refs: list, at: datetime) -> None:
        if not refs:
            return
        bucket = max(self.bucket(at), self.bucket(clock.now()))  # never a bucket a sweep may have done
        cache = (self.db.name, kind, bucket)
        n = Expiries._next.get(cache)
        if n is None:
            hint = self.collection.find_one({"_id": f"{kind}:{bucket}#"})
            if hint is None:  # the bucket's hint exists before its first slot: no hint, an empty bucket
                try:
                    self.collection.update_one({"_id": f"{kind}:{bucket}#"}, {"$max": {"n": 0}}, upsert=True)
                except DuplicateKeyError:
                    pass
            n = (hint or {}).get("n", 0) + 1
        waiting = list(refs)
        while waiting:  # a block of numbers at once; the ones another process took go again, later
            block = [{"_id": f"{kind}:{bucket}:{n + i}", "ref": ref} for i, ref in enumerate(waiting)]
            taken = set()
            try:
                self.collection.insert_many(block, ordered=False)
            except BulkWriteError as exc:
                errors = exc.details.get("writeErrors") or []
                if any(error.get("code") != 11000 for error in errors):
                    raise
                taken = {error["index"] for error in errors}
            top = n + len(block) - 1
            if top // self.HINT_EVERY != (n - 1) // self.HINT_EVERY:
                try:
                    self.collection.update_one({"_id": f"{kind}:{bucket}#"}, {"$max": {"n": top}}, upsert=True)
                except DuplicateKeyError:
                    self.collection.update_one({"_id": f"{kind}:{bucket}#"}, {"$max": {"n": top}})
            waiting = [waiting[i] for i in sorted(taken)]
            n = top + 1
        if len(Expiries._next) > 10000:  # forget buckets this process no longer writes to
            Expiries._next.clear()
        Expiries._next[cache] = n

    def adopt_once(self, kind: str, collection: str, when: Callable[[dict], datetime | None],
                   query: dict | None = None) -> None:
        """Make due, once per database, the documents of `collection` written before they were made due
        when written: one scan (`query`), then a marker `made-due:<kind>:v1`. `when(doc)`: its time, or None."""
        marker = f"made-due:{kind}:v1"
        if self.collection.find_one({"_id": marker}) is not None:
            return
        for doc in self.db[collection].find(query or {}):
            at = when(doc)
            if at is not None and isinstance(doc["_id"], str):
                self.due(kind, doc["_id"], _aware(at))
        try:
            self.collection.insert_one({"_id": marker})
        except DuplicateKeyError:
            pass

    def sweep(self, kind: str, rule: Callable[[str, datetime], object], now: datetime | None = None) -> int:
        """Run `rule` on every slot of `kind` in buckets that ended before `now`; returns how many times it
        answered true (deleted)."""
        now = now or clock.now()
        lease = Lease(self.db, f"sweep:{kind}", ttl=600)
        if not lease.take():
            return 0
        try:
            return self._sweep(kind, rule, now)
        finally:
            lease.release()

    def _sweep(self, kind, rule, now) -> int:
        state_id = f"{kind}:swept"
        state = self.collection.find_one({"_id": state_id}) or {}
        last = self.bucket(now - timedelta(seconds=self.SETTLE)) - 1  # the newest bucket that has ended
        cleanup = state.get("cleanup")
        if cleanup:  # slots of a bucket done by a sweep that stopped before deleting them
            self._drop_slots(kind, *cleanup)
        first = state["bucket"] + 1 if "bucket" in state else last - self.LOOKBACK
        judged = 0
        for bucket in range(first, last + 1):
            if self.collection.find_one({"_id": f"{kind}:{bucket}#"}) is None:
                continue  # nothing was ever made due in it: one key look-up
            end = datetime.fromtimestamp((bucket + 1) * self.bucket_seconds, tz=timezone.utc)
            n, misses, highest = 1, 0, 0
            while misses < 3:  # numbers are dense; a few more looks cover a reservation that failed
                slot = self.collection.find_one({"_id": f"{kind}:{bucket}:{n}"})
                if slot is None:
                    misses += 1
                else:
                    misses, highest = 0, n
                    judged += 1 if rule(slot["ref"], end) else 0
                n += 1
            self.collection.update_one({"_id": state_id}, {"$set": {"bucket": bucket, "cleanup": [bucket, highest]}},
                                       upsert=True)
            self._drop_slots(kind, bucket, highest)
            self.collection.update_one({"_id": state_id}, {"$set": {"cleanup": None}})
        if first <= last:
            self.collection.update_one({"_id": state_id}, {"$set": {"bucket": last}}, upsert=True)
        return judged

    def _drop_slots(self, kind: str, bucket: int, highest: int) -> None:
        for n in range(1, highest + 1):
            self.collection.delete_one({"_id": f"{kind}:{bucket}:{n}"})
        self.collection.delete_one({"_id": f"{kind}:{bucket}#"})


def sweep_expired(db, collection: str, now: datetime | None = None, keep: timedelta = timedelta(0),
                  gone: Callable[[dict], None] | None = None) -> int:
    """Delete the documents of `collection` made due (kind = the collection's name) whose `expires_at` +
    `keep` is before the end of their bucket; one whose expiry moved later, or that still holds e-mail
    envelopes (an `outbox`), is made due again. Documents from before the due buckets are made due once per
    database (one scan, a marker). `gone(doc)` is told of each document deleted (to drop its keys)."""
    now = now or clock.now()
    expiries = Expiries(db)
    expiries.adopt_once(collection, collection, lambda doc: _aware(doc.get("expires_at")) + keep
                        if isinstance(doc.get("expires_at"), datetime) else None, {"expires_at": {"$ne": None}})

    def rule(doc_id: str, bucket_end: datetime) -> bool:
        doc = db[collection].find_one({"_id": doc_id})
        expires_at = _aware((doc or {}).get("expires_at"))
        if expires_at is None:
            return False
        if doc.get("outbox"):  # an e-mail still waits for the relay: look again in an hour
            expiries.due(collection, doc_id, bucket_end + timedelta(hours=1))
            return False
        if expires_at + keep <= bucket_end:
            deleted = db[collection].delete_one({"_id": doc_id}).deleted_count == 1
            if deleted and gone is not None:
                gone(doc)
            return deleted
        expiries.due(collection, doc_id, expires_at + keep)
        return False
    return expiries.sweep(collection, rule, now)


_aware = clock.aware


def ids(docs: Iterable[dict]) -> list:
    """The `_id`s of documents, in order."""
    return [doc["_id"] for doc in docs]


class Mongo(DependencyProvider):
    """The nameko DependencyProvider: opens the client once in setup(), closes it in stop(), gives each
    worker a store (`store_class(db)`), after creating the store's indexes (waiting for the database)."""

    def __init__(self, store_class: type[Store], service: str | None = None, startup_wait: float = STARTUP_WAIT):
        self.store_class = store_class
        self.service = service
        self.startup_wait = startup_wait
        self.client = None
        self.db = None

    def setup(self):
        service = self.service or self.container.service_name
        self.client = connect()
        self.db = self.client[settings.current().database_name(service)]
        retry_until_ready(lambda: self.store_class.ensure_indexes(self.db), f"{service} indexes", self.startup_wait)

    def stop(self):
        if self.client is not None:
            self.client.close()
            self.client = None

    def kill(self):
        self.stop()

    def get_dependency(self, worker_ctx):
        return self.store_class(self.db)
