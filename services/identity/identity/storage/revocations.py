"""Revocations the gateways apply to access tokens: a session, a device, or an account's tokens issued
before a moment. Times are wall-clock epoch seconds (the gateway compares them with its own clock)."""
import time

from pymongo import ASCENDING
from pymongo.errors import DuplicateKeyError

from kadra_defaults.storage import Store

REVOCATIONS = "revocations"
KINDS = ("sid", "did", "sub")


class Revocations(Store):
    """One document per revoked thing, `<kind>:<id>`, kept `until` its last access token has expired."""

    @classmethod
    def ensure_indexes(cls, db) -> None:
        db[REVOCATIONS].create_index([("until", ASCENDING)], name="until")

    def add(self, entries: list[dict]) -> None:
        """Store `[{"sid"|"did"|"sub": id, "until": epoch, "before"?: epoch}]` (a later `until` wins)."""
        for entry in entries:
            kind = next(k for k in KINDS if k in entry)
            update = {"$max": {"until": entry["until"]}, "$set": {"kind": kind, "value": entry[kind]}}
            if "before" in entry:
                update["$max"]["before"] = entry["before"]
            try:
                self.db[REVOCATIONS].update_one({"_id": f"{kind}:{entry[kind]}"}, update, upsert=True)
            except DuplicateKeyError:
                # Two upserts of one id raced and the other inserted first: now it exists, so update it.
                self.db[REVOCATIONS].update_one({"_id": f"{kind}:{entry[kind]}"}, update, upsert=True)

    def live(self) -> list[dict]:
        """Every revocation still in force, in the shape `add` takes."""
        out = []
        for doc in self.db[REVOCATIONS].find({"until": {"$gt": time.time()}}):
            entry = {doc["kind"]: doc["value"], "until": doc["until"]}
            if "before" in doc:
                entry["before"] = doc["before"]
            out.append(entry)
        return out

    def revoked(self, sid: str, sub: str, did: str | None, iat: float) -> bool:
        """Is an access token with these claims revoked? One key look-up per kind (kit: key look-ups)."""
        now = time.time()
        for doc_id in [f"sid:{sid}", f"sub:{sub}"] + ([f"did:{did}"] if did else []):
            doc = self.by_key(REVOCATIONS, doc_id)
            if doc is None or not doc.get("until", 0) > now:
                continue
            if doc["kind"] != "sub" or float(iat) < doc.get("before", 0):
                return True
        return False

    def sweep(self) -> int:
        return self.db[REVOCATIONS].delete_many({"until": {"$lt": time.time()}}).deleted_count
