"""The storage kit: every tactic our database needs beyond plain reads and writes, in one place.

Production runs MongoDB; development, tests and CI run FerretDB v1 with its SQLite backend (no
``mongod`` is packaged here). Domain stores (``AccountsStore.by_email``, ``Memberships.set_role``…)
speak the domain and use these tactics; they do not re-invent them. Per tactic: why FerretDB needs
it, and what MongoDB alone would do.

1. **Key look-ups** (``Store.by_key``, ``Store.by_keys``). FerretDB serves a filter with a plain ``_id``
   from the primary key (our build also narrows ``{"_id": x, "status": "active"}`` to that ``_id`` first,
   and reads an ``_id`` range and an ``_id: {"$in": [...]}`` list from it: ``scripts/ferretdb/build.sh``);
   any other filter (another field) reads and decodes the whole collection (85 ms at 5,000 documents,
   measured, against < 1 ms). So every look-up on a path that runs per request or per poll is by ``_id``
   alone (one, a list, or a range), and the rest is judged in Python. MongoDB would use any index; the
   look-ups by key are right for it too.
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
from kadra_defaults.storage.attempts import AttemptCounter, sweep_attempts, window_index, window_left
from kadra_defaults.storage.claims import claim, once, sweep_claims
from kadra_defaults.storage.database import (ATTEMPTS_COLLECTION, CLAIMS_COLLECTION, EXPIRIES_COLLECTION,
                                             HEARTBEAT_COLLECTION, KEYS_COLLECTION, LEASES_COLLECTION, STARTUP_WAIT,
                                             connect, ids, in_parallel, new_id, retry_until_ready)
from kadra_defaults.storage.expiries import Expiries, sweep_expired
from kadra_defaults.storage.keys import PLAIN, KeyIndex, KeySet
from kadra_defaults.storage.leases import Lease, LeaseBusy, expired_leases
from kadra_defaults.storage.store import Mongo, Store

__all__ = [
    "ATTEMPTS_COLLECTION", "CLAIMS_COLLECTION", "EXPIRIES_COLLECTION", "HEARTBEAT_COLLECTION", "KEYS_COLLECTION",
    "LEASES_COLLECTION", "PLAIN", "STARTUP_WAIT", "AttemptCounter", "Expiries", "KeyIndex", "KeySet", "Lease",
    "LeaseBusy", "Mongo", "Store", "claim", "connect", "expired_leases", "ids", "in_parallel", "new_id", "once",
    "retry_until_ready", "sweep_attempts", "sweep_claims", "sweep_expired", "window_index", "window_left",
]
