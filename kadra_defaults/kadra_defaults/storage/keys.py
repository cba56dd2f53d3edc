"""Key documents (kit tactic 3): look-ups by a field other than `_id` — one document per value (`KeyIndex`) or
one per pair, listed by an `_id` range (`KeySet`)."""
from __future__ import annotations

import re
from datetime import timedelta, timezone
from typing import Callable

from pymongo.errors import DuplicateKeyError

from kadra_defaults import clock
from kadra_defaults.storage.database import KEYS_COLLECTION


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
