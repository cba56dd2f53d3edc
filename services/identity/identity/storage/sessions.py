"""Sessions and their refresh tokens: each refresh token rotates at most once.

A session's refresh tokens form a chain `<session id>.<generation>.<secret>`. Generation 0's hash is
the session's `refresh_hash`; spending generation g is the claim `<session id>:<g>` (a unique insert into
the spent collection, kit: claims), and that claim carries the hash and expiry of generation g+1. So a
refresh is two key look-ups made in parallel (kit: key look-ups, parallel key reads) and one insert, never
a scan or an update (an insert costs about half an update on FerretDB). Tokens from before chains are
found by their hash and rotate into a chain.

Retention (kit: due buckets, day buckets): a session is due at its refresh expiry when it opens; a refresh
whose new expiry falls in a later day than the token it spends records that expiry (`expires_at`, `$max`)
and makes the session due then (once a day per active session, not per refresh). The sweep deletes a
session whose latest recorded expiry has passed (every token of its chain expired with that day), or that
ended more than ENDED_KEPT ago (nothing presents its tokens then: its access tokens are revoked by
`sid` in `revocations`, a refresh token of it answers as unknown). A session's spent links
(`<session>:<generation>`) go with it, and the expired ones each time it is judged (one `_id` range each
time): a refresh writes no due slot of its own.

An account's and a device's live sessions are listed by key sets (kit KeySet `account-sessions`,
`device-sessions`: added before the session is written, removed once it ended or was swept), so ending them
all (a password change or reset, a device removed) reads what is live, never the whole collection.
"""
from datetime import timedelta

from pymongo import ASCENDING
from pymongo.errors import DuplicateKeyError

from kadra_defaults import clock
from kadra_defaults.storage import EXPIRIES_COLLECTION, Expiries, KeySet, Store, in_parallel, once

from identity.tokens import REFRESH_TTL

SESSIONS, SPENT = "sessions", "spent_refresh_tokens"
DUE_KIND = "sessions"
SPENT_MADE_DUE = "made-due:spent_refresh_tokens:v1"  # the marker of the one-off pass over links from before
SESSION_KEYS_MADE = "made:session-keys:v1"  # the marker of the one-off key sets for live sessions from before
DAY = 86400
ENDED_KEPT = timedelta(days=1)


def _when_due(doc: dict):
    """When a session may go: a day after it ended, else at its latest recorded expiry."""
    if doc.get("ended_at") is not None:
        return clock.aware(doc["ended_at"]) + ENDED_KEPT
    times = [clock.aware(at) for at in (doc.get("refresh_expires_at"), doc.get("expires_at")) if at is not None]
    return max(times) if times else None


class Sessions(Store):
    """Live and ended sessions, and the spent refresh tokens."""

    @classmethod
    def ensure_indexes(cls, db) -> None:
        db[SESSIONS].create_index([("refresh_hash", ASCENDING)], unique=True, name="refresh_hash_unique")
        db[SESSIONS].create_index([("account_id", ASCENDING)], name="account")
        db[SESSIONS].create_index([("device_id", ASCENDING)], name="device")
        db[SPENT].create_index([("expires_at", ASCENDING)], name="expires")
        if db[EXPIRIES_COLLECTION].find_one({"_id": SPENT_MADE_DUE}) is None:  # once: links from before
            expiries = Expiries(db)
            for doc in db[SPENT].find({}, {"expires_at": 1}):
                if doc.get("expires_at") is not None:
                    expiries.due(SPENT, doc["_id"], clock.aware(doc["expires_at"]))
            try:
                db[EXPIRIES_COLLECTION].insert_one({"_id": SPENT_MADE_DUE})
            except DuplicateKeyError:
                pass

        def fill():
            store = cls(db)
            for doc in db[SESSIONS].find({"ended_at": None}, {"account_id": 1, "device_id": 1}):
                store._listed(doc)
        once(db, SESSION_KEYS_MADE, fill)

    @property
    def expiries(self) -> Expiries:
        return Expiries(self.db, bucket_seconds=DAY)

    @property
    def _of_account(self) -> KeySet:
        return KeySet(self.db, "account-sessions")

    @property
    def _of_device(self) -> KeySet:
        return KeySet(self.db, "device-sessions")

    def _listed(self, session: dict) -> None:
        self._of_account.add(session["account_id"], session["_id"])
        if session.get("device_id"):
            self._of_device.add(session["device_id"], session["_id"])

    def _unlisted(self, session: dict) -> None:
        self._of_account.remove(session["account_id"], session["_id"])
        if session.get("device_id"):
            self._of_device.remove(session["device_id"], session["_id"])

    def open(self, session_id: str, account_id: str, device_id: str | None, refresh_hash: str) -> None:
        now = clock.now()
        self.expiries.due(DUE_KIND, session_id, now + timedelta(seconds=REFRESH_TTL))
        self._listed({"_id": session_id, "account_id": account_id, "device_id": device_id})
        self.db[SESSIONS].insert_one({
            "_id": session_id, "account_id": account_id, "device_id": device_id, "refresh_hash": refresh_hash,
            "refresh_expires_at": now + timedelta(seconds=REFRESH_TTL), "created_at": now, "rotated_at": now,
            "ended_at": None})

    def get(self, session_id) -> dict | None:
        return self.by_key(SESSIONS, session_id)

    def by_refresh(self, refresh_hash: str) -> dict | None:
        """The session of a refresh token from before chains."""
        return self.db[SESSIONS].find_one({"refresh_hash": refresh_hash})

    def rotate(self, old_hash: str, new_hash: str) -> dict:
        """Swap the session's current refresh hash for a new one (tokens without a generation).

        {"session": doc} on success; {"reused": session_id} when the token was spent already
        (also by a concurrent call: the spent-token insert is the claim, exactly one wins); {} when
        the token is unknown, expired or its session ended. The rotated token is generation 0 of
        the session's chain (see `rotate_chain`).
        """
        now = clock.now()
        session = self.db[SESSIONS].find_one(
            {"refresh_hash": old_hash, "ended_at": None, "refresh_expires_at": {"$gt": now}})
        if session is None:
            spent = self.by_key(SPENT, old_hash)
            return {"reused": spent["session_id"]} if spent else {}
        try:
            Expiries(self.db).due(SPENT, old_hash, now + timedelta(seconds=REFRESH_TTL))
            self.db[SPENT].insert_one({"_id": old_hash, "session_id": session["_id"],
                                       "expires_at": now + timedelta(seconds=REFRESH_TTL)})
        except DuplicateKeyError:
            return {"reused": session["_id"]}
        self.expiries.due(DUE_KIND, session["_id"], now + timedelta(seconds=REFRESH_TTL))
        self.db[SESSIONS].update_one({"_id": session["_id"]}, {"$set": {
            "refresh_hash": new_hash, "rotated_at": now, "refresh_expires_at": now + timedelta(seconds=REFRESH_TTL)}})
        return {"session": session}

    def _link(self, session_id: str, generation: int) -> tuple[dict | None, str | None, object]:
        """(session, expected hash, its expiry) for generation `generation` of the session's chain."""
        if generation == 0:
            session = self.get(session_id)
            return session, (session or {}).get("refresh_hash"), (session or {}).get("refresh_expires_at")
        session, link = in_parallel(lambda: self.get(session_id),
                                    lambda: self.by_key(SPENT, f"{session_id}:{generation - 1}"))
        link = link or {}
        return session, link.get("next_hash"), link.get("next_expires_at")

    def rotate_chain(self, session_id: str, generation: int, old_hash: str, new_hash: str) -> dict:
        """Spend generation `generation` and store generation+1's hash; answers like `rotate`."""
        now = clock.now()
        session, expected, expires = self._link(session_id, generation)
        if session is None or expected is None or expected != old_hash:
            return {}
        key = f"{session_id}:{generation}"
        if session.get("ended_at") is not None or expires is None or not expires > now:
            return {"reused": session_id} if self.by_key(SPENT, key) else {}
        next_expires = now + timedelta(seconds=REFRESH_TTL)
        try:
            # No due slot per refresh: the session's links go with it, and expired ones whenever it is judged.
            self.db[SPENT].insert_one({"_id": key, "session_id": session_id, "next_hash": new_hash,
                                       "next_expires_at": next_expires, "expires_at": next_expires})
        except DuplicateKeyError:
            return {"reused": session_id}
        expiries = self.expiries
        if expiries.bucket(next_expires) != expiries.bucket(expires):  # a later day: record it, due then
            expiries.due(DUE_KIND, session_id, next_expires)
            self.db[SESSIONS].update_one({"_id": session_id}, {"$max": {"expires_at": next_expires}})
        return {"session": session}

    def of_current_token(self, session_id: str, generation: int, token_hash: str) -> dict | None:
        """The session whose current (unspent) chained refresh token this is, or None."""
        session, expected, _ = self._link(session_id, generation)
        if session is None or expected != token_hash:
            return None
        if self.by_key(SPENT, f"{session_id}:{generation}") is not None:
            return None
        return session

    def end(self, *, account_id=None, device_id=None, session_ids=None, except_session=None,
            reason: str = "ended") -> list[dict]:
        """End the matching live sessions; returns them (for the revocations)."""
        query: dict = {"ended_at": None}
        if account_id is not None:
            query["account_id"] = account_id
        if device_id is not None:
            query["device_id"] = device_id
        if session_ids is None and len(query) == 1:
            raise ValueError("ending sessions needs a filter")
        if session_ids is not None:  # a logout: its sessions by key
            sessions = [{key: s.get(key) for key in ("_id", "account_id", "device_id")}
                        for s in self.by_keys(SESSIONS, session_ids)
                        if all(s.get(field) == value for field, value in query.items())]
        else:  # every session of an account or a device (a password change or reset, a device removed): its key set
            listed = self._of_account.refs(account_id) if account_id is not None else self._of_device.refs(device_id)
            sessions = [{key: s.get(key) for key in ("_id", "account_id", "device_id")}
                        for s in self.by_keys(SESSIONS, listed)
                        if all(s.get(field) == value for field, value in query.items())]
        if except_session:
            sessions = [s for s in sessions if s["_id"] != except_session]
        if sessions:
            now = clock.now()
            self.expiries.due_many(DUE_KIND, [s["_id"] for s in sessions], now + ENDED_KEPT)
            for session in sessions:  # by `_id` each (FerretDB narrows `{_id, ended_at}` to the `_id`)
                self.db[SESSIONS].update_one({"_id": session["_id"], "ended_at": None},
                                             {"$set": {"ended_at": now, "ended_reason": reason}})
                self._unlisted(session)
        return sessions

    def judge(self, session_id: str, bucket_end) -> bool:
        """The sweep's rule: delete the session if it ended over ENDED_KEPT ago or every token of it expired."""
        doc = self.get(session_id)
        if doc is None:
            return
        ended = clock.aware(doc.get("ended_at"))
        latest = max(clock.aware(at) for at in (doc.get("refresh_expires_at"), doc.get("expires_at"))
                     if at is not None) if (doc.get("refresh_expires_at") or doc.get("expires_at")) else None
        if (ended is not None and ended + ENDED_KEPT <= bucket_end) or (latest is not None and latest <= bucket_end):
            gone = self.db[SESSIONS].delete_one({"_id": session_id}).deleted_count == 1
            self._unlisted(doc)
            self._drop_links(session_id)
            return gone
        self._drop_links(session_id, expired_by=bucket_end)
        return False

    def _drop_links(self, session_id: str, expired_by=None) -> None:
        """Delete the session's spent links `<session>:<generation>` (those whose token expired by
        `expired_by`, when given): one `_id` range, read from the index (kit KeySet's range)."""
        query: dict = {"_id": {"$gte": f"{session_id}:", "$lt": f"{session_id};"}}
        if expired_by is not None:
            query["expires_at"] = {"$lte": expired_by}
        self.db[SPENT].delete_many(query)

    def sweep_sessions(self, now) -> int:
        """Ended and expired sessions whose day has come (no scan: due buckets; sessions from before, once)."""
        self.expiries.adopt_once(DUE_KIND, SESSIONS, _when_due)
        return self.expiries.sweep(DUE_KIND, self.judge, now)

    def sweep(self, now) -> int:
        """Forget spent refresh tokens that could no longer be presented (due buckets: no scan)."""
        return Expiries(self.db).sweep(SPENT, self._spent_expired, now)

    def _spent_expired(self, key: str, bucket_end) -> bool:
        doc = self.by_key(SPENT, key)
        if doc is not None and (doc.get("expires_at") is None or clock.aware(doc["expires_at"]) <= bucket_end):
            return self.db[SPENT].delete_one({"_id": key}).deleted_count == 1
        return False
