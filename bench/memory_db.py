"""MemoryDatabase: the write-behind stand-in bench/scale_seed.py runs the services' stores against.

It answers the few operations those writes use (inserts, reads and updates by `_id`, a find by an `_id`
list, the update operators they send) exactly as the database would for a database that was empty, and
refuses anything else with `Unsupported` (a store that starts to use a filter it cannot answer stops the
seed instead of seeding something else). `flush` then writes everything to the real database in batches.
"""
from __future__ import annotations

from pymongo.errors import BulkWriteError, DuplicateKeyError


class Unsupported(RuntimeError):
    """A store sent an operation MemoryDatabase does not answer: extend it, do not seed something else."""


class _Result:
    def __init__(self, matched=0, modified=0, upserted_id=None, deleted=0, inserted_id=None):
        self.matched_count, self.modified_count, self.upserted_id = matched, modified, upserted_id
        self.deleted_count, self.inserted_id, self.acknowledged = deleted, inserted_id, True


def _copy(value):
    """A copy as the database would hand back: dicts and lists anew, scalars (str, numbers, datetimes) shared
    (they are immutable; copy.deepcopy took two thirds of the seeding time)."""
    if isinstance(value, dict):
        return {k: _copy(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_copy(v) for v in value]
    return value


def _only_id(filter_) -> tuple:
    """(the `_id`, the other equality conditions) of a filter by `_id`; Unsupported otherwise."""
    if not isinstance(filter_, dict) or "_id" not in filter_ or isinstance(filter_["_id"], dict):
        raise Unsupported(f"filter not by a plain _id: {filter_!r}")
    rest = {k: v for k, v in filter_.items() if k != "_id"}
    for value in rest.values():
        if isinstance(value, dict):
            raise Unsupported(f"filter with an operator: {filter_!r}")
    return filter_["_id"], rest


def _matches(doc, rest) -> bool:
    return all(doc.get(k) == v for k, v in rest.items())


def _apply(doc: dict, update: dict, inserting: bool) -> None:
    for op, fields in update.items():
        for key, value in fields.items():
            if "." in key:
                raise Unsupported(f"dotted field in an update: {key}")
            if op == "$set" or (op == "$setOnInsert" and inserting):
                doc[key] = _copy(value)
            elif op == "$setOnInsert":
                pass
            elif op == "$unset":
                doc.pop(key, None)
            elif op == "$max":
                if key not in doc or doc[key] is None or value > doc[key]:
                    doc[key] = value
            elif op == "$inc":
                doc[key] = doc.get(key, 0) + value
            elif op == "$push":
                doc.setdefault(key, []).append(_copy(value))
            else:
                raise Unsupported(f"update operator {op}")


class MemoryCollection:
    def __init__(self, database, name):
        self.database, self.name, self.docs = database, name, {}

    def create_index(self, *args, **kwargs):
        return None

    def insert_one(self, doc):
        if doc["_id"] in self.docs:
            raise DuplicateKeyError(f"E11000 duplicate key: {doc['_id']}", 11000)
        self.docs[doc["_id"]] = _copy(doc)
        return _Result(inserted_id=doc["_id"])

    def insert_many(self, docs, ordered=True):
        errors = []
        for index, doc in enumerate(docs):
            try:
                self.insert_one(doc)
            except DuplicateKeyError:
                errors.append({"index": index, "code": 11000, "errmsg": "E11000 duplicate key"})
                if ordered:
                    break
        if errors:
            raise BulkWriteError({"writeErrors": errors, "writeConcernErrors": [], "nInserted": len(docs) - len(errors)})

    def find_one(self, filter_=None, projection=None, **kwargs):
        if kwargs:
            raise Unsupported(f"find_one options {sorted(kwargs)}")
        doc_id, rest = _only_id(filter_)
        doc = self.docs.get(doc_id)
        return _copy(doc) if doc is not None and _matches(doc, rest) else None

    def find(self, filter_=None, projection=None, **kwargs):
        """Only what Store.by_keys sends: `{"_id": {"$in": [...]}}`."""
        keys = (filter_ or {}).get("_id") if isinstance(filter_, dict) and set(filter_) == {"_id"} else None
        if kwargs or not (isinstance(keys, dict) and set(keys) == {"$in"}):
            raise Unsupported(f"find {filter_!r} {sorted(kwargs)}")
        return [_copy(self.docs[key]) for key in keys["$in"] if key in self.docs]

    def update_one(self, filter_, update, upsert=False):
        doc_id, rest = _only_id(filter_)
        doc = self.docs.get(doc_id)
        if doc is not None and _matches(doc, rest):
            _apply(doc, update, inserting=False)
            return _Result(matched=1, modified=1)
        if upsert:
            if doc is not None:
                raise DuplicateKeyError(f"E11000 duplicate key: {doc_id}", 11000)
            new = {"_id": doc_id, **rest}
            _apply(new, update, inserting=True)
            self.docs[doc_id] = new
            return _Result(upserted_id=doc_id)
        return _Result()

    def delete_one(self, filter_):
        doc_id, rest = _only_id(filter_)
        doc = self.docs.get(doc_id)
        if doc is not None and _matches(doc, rest):
            del self.docs[doc_id]
            return _Result(deleted=1)
        return _Result()

    def __getattr__(self, name):
        raise Unsupported(f"collection.{name}")


class MemoryDatabase:
    """What the stores see while seeding: `db[name]`, `db.name`; collections keep their documents here."""

    def __init__(self, name: str):
        self.name = name
        self.collections: dict[str, MemoryCollection] = {}

    def __getitem__(self, name) -> MemoryCollection:
        if name not in self.collections:
            self.collections[name] = MemoryCollection(self, name)
        return self.collections[name]

    def __getattr__(self, name) -> MemoryCollection:
        if name.startswith("_"):
            raise AttributeError(name)
        return self[name]

    def count(self) -> int:
        return sum(len(c.docs) for c in self.collections.values())

    def flush(self, real_db, progress, batch: int = 1000) -> int:
        """Every document into the real database (which held none of them); returns how many."""
        written = 0
        for name, collection in self.collections.items():
            docs = list(collection.docs.values())
            for start in range(0, len(docs), batch):
                chunk = docs[start:start + batch]
                try:
                    real_db[name].insert_many(chunk, ordered=False)
                except BulkWriteError as exc:  # the real database held one already: seeding over data
                    raise RuntimeError(f"{real_db.name}.{name}: {len(exc.details.get('writeErrors') or [])} "
                                       f"documents were there already; seed into empty databases") from None
                written += len(chunk)
                progress(len(chunk))
            collection.docs.clear()
        return written
