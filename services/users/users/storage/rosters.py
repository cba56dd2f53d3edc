"""The users table's stored copy (`rosters`) and the stamps that say whether it is current.

The users table (`roster`) is a derived copy, never an authority of its own: one document per company,
read by `_id` (on FerretDB's SQLite backend only a filter that is `_id` alone is a key look-up; any
other filter reads the whole collection). Every write that changes the table (a membership added,
changed or removed, an invitation created, accepted, revoked or expired, ownership moved) first
writes its own document, then sets the company's roster stamp to a new random value (`roster_stamps`,
by `_id`). A rebuild reads the stamp, then the memberships and invitations, and stores the rows tagged
with that stamp; a reader uses the copy only while its tag equals the current stamp. A write missing
from a rebuild's scan sets its stamp after the rebuild read the old one, so that copy stops matching.
Not a counter: FerretDB applies `$inc` (like every update) as read-modify-write, and concurrent ones
get lost (500 increments from 20 threads left 57); a fresh random stamp can be overwritten only by
another fresh one, never back to a value a copy was built for. The stamps live in their own
collection so that no other update of a document (say the company's name) can write an old stamp back.
No multi-document transaction is needed. A crash between a write and its stamp is covered by the
copy's maximum age (ROSTER_MAX_AGE).
"""
from __future__ import annotations

import json
import time
import zlib

from bson import Binary
from pymongo.errors import DuplicateKeyError

from kadra_defaults.storage import Store, new_id

ROSTERS = "rosters"
ROSTER_STAMPS = "roster_stamps"
# The table's copy is rebuilt after this long even without a change (names from identity, which sends no
# event for a changed full name, and a crash between a write and its stamp).
ROSTER_MAX_AGE = 30.0


class Rosters(Store):
    """The users table's copy per company, current while its stamp is."""

    def changed(self, company_id: str) -> None:
        """Mark the company's table changed; call it after the write that changed it."""
        if not isinstance(company_id, str):
            return
        stamp = {"$set": {"stamp": new_id()}}
        try:
            self.db[ROSTER_STAMPS].update_one({"_id": company_id}, stamp, upsert=True)
        except DuplicateKeyError:  # a concurrent first stamp was inserted meanwhile
            self.db[ROSTER_STAMPS].update_one({"_id": company_id}, stamp)

    def current(self, company_id: str) -> tuple[list | None, str | None]:
        """(rows, stamp): the stored table while it is current, else (None, the stamp to build it for).

        Two key look-ups.
        """
        found = self.by_key(ROSTER_STAMPS, company_id)
        stamp = found["stamp"] if found else None
        copy = self.by_key(ROSTERS, company_id)
        if (copy is not None and stamp is not None and copy.get("stamp") == stamp
                and 0 <= time.time() - copy.get("built_at", 0) <= ROSTER_MAX_AGE):
            return json.loads(zlib.decompress(copy["rows"])), stamp
        return None, stamp

    def save(self, company_id: str, stamp: str | None, rows: list) -> None:
        """Store the table built for `stamp`: the rows as one zlib-compressed JSON value (FerretDB decodes
        every field of a document on each read: 200 rows as sub-documents took 5-15 ms, as one JSON string
        (56 kB) ~1.5-2 ms, compressed (8 kB) ~1 ms)."""
        if stamp is None:  # no write has stamped this company yet (none exists, or a crash): nothing to tag
            return
        rows_json = json.dumps(rows, separators=(",", ":")).encode()
        doc = {"stamp": stamp, "built_at": time.time(), "rows": Binary(zlib.compress(rows_json, 1))}
        try:
            self.db[ROSTERS].replace_one({"_id": company_id}, doc, upsert=True)
        except DuplicateKeyError:  # a concurrent rebuild's upsert won; either copy is checked by its stamp
            pass
