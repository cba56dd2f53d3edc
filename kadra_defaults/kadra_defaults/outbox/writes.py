"""The outbox's write helpers: each stores e-mail envelopes in the domain write that makes them necessary, after an
entry of the pending index that names the document (the relay reads only the index)."""
from __future__ import annotations

import datetime as dt
import json
import uuid
from typing import Iterable

from pymongo.errors import DuplicateKeyError

from kadra_defaults import clock
from kadra_defaults.contracts.events import envelope
from kadra_defaults.contracts.mail import load_payload

PENDING = "outbox_pending"
OUTBOX = "outbox"
INDEX = "outbox_index"


def _json_safe(value):
    if isinstance(value, (dt.datetime, dt.date)):
        return value.isoformat()
    raise TypeError(f"not JSON-serialisable: {type(value).__name__}")


def mail_event(event_type: str, payload: dict) -> dict:
    """Validate an e-mail event's payload now (a bad one is never stored) and wrap it in an envelope.

    Raises ``mail_events.UnknownMailEvent`` (a ValueError) or ``marshmallow.ValidationError``.
    The envelope holds the caller's payload as JSON (datetimes become ISO strings), not the
    deserialised one, so it can be stored and published as is.
    """
    if not isinstance(payload, dict):
        raise ValueError("a mail event payload must be a dict")
    safe = json.loads(json.dumps(payload, default=_json_safe))
    load_payload(event_type, safe)
    return envelope(event_type, safe)


def with_outbox(update: dict, *envelopes: dict) -> dict:
    """The caller's pymongo update document plus pushing the envelopes and marking the outbox pending."""
    if not envelopes:
        return dict(update)
    result = dict(update)
    push = dict(result.get("$push") or {})
    if OUTBOX in push:
        raise ValueError("the update already pushes to 'outbox'")
    push[OUTBOX] = {"$each": list(envelopes)}
    result["$push"] = push
    set_ = dict(result.get("$set") or {})
    set_[PENDING] = True
    result["$set"] = set_
    return result


def outbox_fields(*envelopes: dict) -> dict:
    """Fields to put into a new document so its envelopes get published."""
    return {OUTBOX: list(envelopes), PENDING: bool(envelopes)}


def _announce(collection, doc_id, envelopes) -> str | None:
    """Write the index entry of a write that stores `envelopes` in document `doc_id` (before that write)."""
    if not envelopes:
        return None
    if not isinstance(doc_id, str):
        raise ValueError("a document that stores e-mail envelopes needs a string _id")
    key = uuid.uuid4().hex  # one entry per write (an envelope may move to another document: devices)
    collection.database[INDEX].insert_one({"_id": key, "c": collection.name, "ref": doc_id,
                                           "ids": [item["id"] for item in envelopes], "at": clock.now()})
    return key


def _withdraw(collection, key: str | None) -> None:
    """The write an entry announced matched nothing: its entry goes at once (not after the grace)."""
    if key is not None:
        collection.database[INDEX].delete_one({"_id": key})


def announce_decoy(collection, doc_id: str) -> None:
    """The index write of a write that stores an e-mail, for a path that must cost the same and sends none
    (the decoy of a password-reset request for an unknown address: the same writes as for a known one, or
    the answer's time would tell which addresses have accounts). The relay deletes the entry at its next
    pass, as it deletes a real one after publishing."""
    collection.database[INDEX].insert_one({"_id": uuid.uuid4().hex, "c": collection.name, "ref": doc_id,
                                           "ids": [], "at": clock.now()})


def insert_with_outbox(collection, document: dict, *envelopes: dict):
    """Insert `document` (it must carry its `_id`) with `envelopes` in its outbox; the index entry first.

    Raises what insert_one raises (DuplicateKeyError: the entry is withdrawn, nothing was stored).
    """
    if "_id" not in document:
        raise ValueError("insert_with_outbox needs the document's _id")
    key = _announce(collection, document["_id"], envelopes)
    try:
        return collection.insert_one({**document, **outbox_fields(*envelopes)})
    except DuplicateKeyError:
        _withdraw(collection, key)
        raise


def update_with_outbox(collection, filter_: dict, update: dict, *envelopes: dict):
    """`update_one(filter_, update)` pushing `envelopes` (the filter names the document's `_id`); the
    index entry first. Returns the UpdateResult; when it matched nothing the entry is withdrawn."""
    key = _announce(collection, filter_.get("_id"), envelopes)
    result = collection.update_one(filter_, with_outbox(update, *envelopes))
    if result.matched_count == 0:
        _withdraw(collection, key)
    return result


def find_one_and_update_with_outbox(collection, filter_: dict, update: dict, *envelopes: dict, **kwargs):
    """`find_one_and_update(filter_, update, **kwargs)` pushing `envelopes`; the index entry first.

    None (nothing matched) withdraws the entry.
    """
    key = _announce(collection, filter_.get("_id"), envelopes)
    found = collection.find_one_and_update(filter_, with_outbox(update, *envelopes), **kwargs)
    if found is None:
        _withdraw(collection, key)
    return found


def ensure_outbox_indexes(db, collections: Iterable[str]) -> None:
    for name in collections:
        db[name].create_index(PENDING, name="outbox_pending")
