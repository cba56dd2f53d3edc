"""The identity service's database: accounts, sessions, one-time tokens, throttles, revocations.

Invariants held by the database itself:
- one account per normalised e-mail: unique index `accounts.email_norm`;
- a one-time token is consumed at most once, a refresh token rotates at most once: by inserting a
  document whose `_id` is the token's hash (a unique key: exactly one insert wins). Not by
  `find_one_and_update`/`update_one` with a condition: FerretDB v1 (SQLite) does not make those
  atomic (measured: 16 concurrent find_one_and_update on one document had 1 to 12 winners).
FerretDB: no transactions or TTL indexes, so every document carries its own expiry,
checked on use and swept on a timer.
"""
import math
import time
import uuid
from datetime import timedelta

from pymongo import ASCENDING, ReturnDocument
from pymongo.errors import DuplicateKeyError

from kadra_defaults import clock
from kadra_defaults.storage import Mongo, Store
from kadra_defaults.outbox import outbox_fields, with_outbox

ACCOUNTS, SESSIONS, SPENT, ONETIME, THROTTLE, REVOCATIONS, CLAIMS = (
    "accounts", "sessions", "spent_refresh_tokens", "onetime_tokens", "throttle", "revocations", "claims")
OUTBOX_COLLECTIONS = (ACCOUNTS, ONETIME, THROTTLE)

# Throttling (per e-mail address, whether or not it has an account; per client address).
FREE_FAILURES = 5                 # the 5th consecutive failure starts the first wait
FIRST_WAIT = 60.0                 # seconds; doubles with each further failure
MAX_WAIT = 15 * 60.0
FAILURES_FORGOTTEN_AFTER = 24 * 3600.0  # a failure streak older than this starts again
CLIENT_WINDOW = 15 * 60.0
CLIENT_MAX_FAILURES = 100         # failed logins from one client address per window


def new_id() -> str:
    return uuid.uuid4().hex


def normalise_email(email: str) -> str:
    return email.strip().lower()


def account_view(doc: dict) -> dict:
    return {"account_id": doc["_id"], "email": doc["email"], "full_name": doc.get("full_name") or "",
            "locale": doc.get("locale") or "pl"}


def wait_for(failures: int) -> float:
    """The wait after `failures` consecutive failures (0 before the 5th)."""
    if failures < FREE_FAILURES:
        return 0.0
    return min(MAX_WAIT, FIRST_WAIT * 2 ** (failures - FREE_FAILURES))


class IdentityStore(Store):
    """Accounts, passwords, sessions and one-time tokens in the identity database."""

    @classmethod
    def ensure_indexes(cls, db) -> None:
        db[ACCOUNTS].create_index([("email_norm", ASCENDING)], unique=True, name="email_norm_unique")
        db[ACCOUNTS].create_index([("status", ASCENDING), ("created_at", ASCENDING)], name="status_created")
        db[SESSIONS].create_index([("refresh_hash", ASCENDING)], unique=True, name="refresh_hash_unique")
        db[SESSIONS].create_index([("account_id", ASCENDING)], name="account")
        db[SESSIONS].create_index([("device_id", ASCENDING)], name="device")
        db[ONETIME].create_index([("account_id", ASCENDING), ("kind", ASCENDING)], name="account_kind")
        db[ONETIME].create_index([("expires_at", ASCENDING)], name="expires")
        db[SPENT].create_index([("expires_at", ASCENDING)], name="expires")
        db[CLAIMS].create_index([("expires_at", ASCENDING)], name="expires")
        db[REVOCATIONS].create_index([("until", ASCENDING)], name="until")

    # accounts

    def insert_account(self, doc: dict) -> None:
        """Raises DuplicateKeyError when the normalised e-mail is taken."""
        self.db[ACCOUNTS].insert_one(doc)

    def account_by_email(self, email: str, active_only: bool = True) -> dict | None:
        query = {"email_norm": normalise_email(email)}
        if active_only:
            query["status"] = "active"
        return self.db[ACCOUNTS].find_one(query)

    def account(self, account_id: str, active_only: bool = True) -> dict | None:
        # Only a filter that is `_id` alone is a key look-up on FerretDB; anything more reads the collection.
        doc = self.db[ACCOUNTS].find_one({"_id": account_id})
        if doc is not None and active_only and doc.get("status") != "active":
            return None
        return doc

    def accounts(self, account_ids: list) -> list[dict]:
        ids = list(dict.fromkeys(account_ids))
        if len(ids) == 1:  # GET /me: one look-up by key (FerretDB pushes `_id` equality down, not `$in`)
            doc = self.account(ids[0])
            return [doc] if doc else []
        return list(self.db[ACCOUNTS].find({"_id": {"$in": ids}, "status": "active"}))

    def activate_account(self, account_id: str, company_id: str) -> None:
        self.db[ACCOUNTS].update_one({"_id": account_id}, {"$set": {
            "status": "active", "signup_company_id": company_id, "updated_at": clock.now()},
            "$unset": {"signup": ""}})

    def delete_pending_account(self, account_id: str) -> None:
        self.db[ACCOUNTS].delete_one({"_id": account_id, "status": "pending"})

    def pending_signups(self, older_than: float) -> list[dict]:
        cutoff = clock.now() - timedelta(seconds=older_than)
        return list(self.db[ACCOUNTS].find({"status": "pending", "created_at": {"$lt": cutoff}}).limit(50))

    def set_password(self, account_id: str, password_hash: str, *events) -> bool:
        now = clock.now()
        update = {"$set": {"password_hash": password_hash, "password_changed_at": now, "updated_at": now}}
        return self.db[ACCOUNTS].update_one({"_id": account_id}, with_outbox(update, *events)).matched_count == 1

    def upgrade_hash(self, account_id: str, old_hash: str, new_hash: str) -> None:
        """Store a re-hash with today's parameters, unless the password changed meanwhile."""
        self.db[ACCOUNTS].update_one({"_id": account_id, "password_hash": old_hash},
                                     {"$set": {"password_hash": new_hash}})

    def update_profile(self, account_id: str, changes: dict) -> dict | None:
        changes = dict(changes, updated_at=clock.now())
        return self.db[ACCOUNTS].find_one_and_update({"_id": account_id, "status": "active"}, {"$set": changes},
                                                     return_document=ReturnDocument.AFTER)

    def change_email(self, account_id: str, from_norm: str, email: str, *events) -> dict | None:
        """Set the e-mail if it is still `from_norm`; raises DuplicateKeyError when the new one is taken."""
        now = clock.now()
        update = {"$set": {"email": email, "email_norm": normalise_email(email), "email_changed_at": now,
                           "updated_at": now}}
        return self.db[ACCOUNTS].find_one_and_update({"_id": account_id, "email_norm": from_norm},
                                                     with_outbox(update, *events),
                                                     return_document=ReturnDocument.AFTER)

    # sessions and refresh tokens

    def open_session(self, account_id: str, device_id: str | None, refresh_hash: str,
                     session_id: str | None = None) -> str:
        session_id = session_id or new_id()
        now = clock.now()
        self.db[SESSIONS].insert_one({
            "_id": session_id, "account_id": account_id, "device_id": device_id, "refresh_hash": refresh_hash,
            "refresh_expires_at": now + timedelta(seconds=_refresh_ttl()), "created_at": now, "rotated_at": now,
            "ended_at": None})
        return session_id

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
            spent = self.db[SPENT].find_one({"_id": old_hash})
            return {"reused": spent["session_id"]} if spent else {}
        try:
            self.db[SPENT].insert_one({"_id": old_hash, "session_id": session["_id"],
                                       "expires_at": now + timedelta(seconds=_refresh_ttl())})
        except DuplicateKeyError:
            return {"reused": session["_id"]}
        self.db[SESSIONS].update_one({"_id": session["_id"]}, {"$set": {
            "refresh_hash": new_hash, "rotated_at": now,
            "refresh_expires_at": now + timedelta(seconds=_refresh_ttl())}})
        return {"session": session}

    # A session's refresh tokens form a chain `<session id>.<generation>.<secret>`. Generation 0's
    # hash is the session's `refresh_hash`; spending generation g is inserting the claim
    # `<session id>:<g>` into the spent collection (a unique key: exactly one caller wins), and that
    # claim carries the hash and expiry of generation g+1. So a refresh is two key look-ups and one
    # insert, and never a read that scans or an update (on FerretDB only `_id`-alone filters are key
    # look-ups, and an insert costs about half an update).

    def _chain_link(self, session_id: str, generation: int) -> tuple[dict | None, str | None, object]:
        """(session, expected hash, its expiry) for generation `generation` of the session's chain."""
        if generation == 0:
            session = self.db[SESSIONS].find_one({"_id": session_id})
            return session, (session or {}).get("refresh_hash"), (session or {}).get("refresh_expires_at")
        pending = _spawn(lambda: self.db[SPENT].find_one({"_id": f"{session_id}:{generation - 1}"}))
        session = self.db[SESSIONS].find_one({"_id": session_id})
        link = _result(pending) or {}
        return session, link.get("next_hash"), link.get("next_expires_at")

    def rotate_chain(self, session_id: str, generation: int, old_hash: str, new_hash: str) -> dict:
        """Spend generation `generation` and store generation+1's hash; answers like `rotate`."""
        now = clock.now()
        session, expected, expires = self._chain_link(session_id, generation)
        if session is None or expected is None or expected != old_hash:
            return {}
        key = f"{session_id}:{generation}"
        if session.get("ended_at") is not None or expires is None or not expires > now:
            return {"reused": session_id} if self.db[SPENT].find_one({"_id": key}) else {}
        next_expires = now + timedelta(seconds=_refresh_ttl())
        try:
            self.db[SPENT].insert_one({"_id": key, "session_id": session_id, "next_hash": new_hash,
                                       "next_expires_at": next_expires, "expires_at": next_expires})
        except DuplicateKeyError:
            return {"reused": session_id}
        return {"session": session}

    def chain_session(self, session_id: str, generation: int, token_hash: str) -> dict | None:
        """The session whose current (unspent) refresh token this is, or None."""
        session, expected, _ = self._chain_link(session_id, generation)
        if session is None or expected != token_hash:
            return None
        if self.db[SPENT].find_one({"_id": f"{session_id}:{generation}"}) is not None:
            return None
        return session

    def spent(self, refresh_hash: str) -> dict | None:
        return self.db[SPENT].find_one({"_id": refresh_hash})

    def session_by_refresh(self, refresh_hash: str) -> dict | None:
        return self.db[SESSIONS].find_one({"refresh_hash": refresh_hash})

    def session(self, session_id: str) -> dict | None:
        return self.db[SESSIONS].find_one({"_id": session_id})

    def end_sessions(self, *, account_id=None, device_id=None, session_ids=None, except_session=None,
                     reason: str = "ended") -> list[dict]:
        """End the matching live sessions; returns them (for the revocations)."""
        query: dict = {"ended_at": None}
        if account_id is not None:
            query["account_id"] = account_id
        if device_id is not None:
            query["device_id"] = device_id
        if session_ids is not None:
            query["_id"] = {"$in": list(session_ids)}
        if len(query) == 1:
            raise ValueError("end_sessions needs a filter")
        sessions = list(self.db[SESSIONS].find(query, {"_id": 1, "account_id": 1, "device_id": 1}))
        if except_session:
            sessions = [s for s in sessions if s["_id"] != except_session]
        if sessions:
            self.db[SESSIONS].update_many({"_id": {"$in": [s["_id"] for s in sessions]}, "ended_at": None},
                                          {"$set": {"ended_at": clock.now(), "ended_reason": reason}})
        return sessions

    # revocations (wall-clock epoch seconds: the gateway compares them with its own clock)

    def add_revocations(self, entries: list[dict]) -> None:
        for entry in entries:
            key = "sid" if "sid" in entry else "did" if "did" in entry else "sub"
            doc_id = f"{key}:{entry[key]}"
            update = {"$max": {"until": entry["until"]}, "$set": {"kind": key, "value": entry[key]}}
            if "before" in entry:
                update["$max"]["before"] = entry["before"]
            try:
                self.db[REVOCATIONS].update_one({"_id": doc_id}, update, upsert=True)
            except DuplicateKeyError:
                # Two upserts of one id raced and the other inserted first: now it exists, so update it.
                self.db[REVOCATIONS].update_one({"_id": doc_id}, update, upsert=True)

    def revocations(self) -> list[dict]:
        now = time.time()
        out = []
        for doc in self.db[REVOCATIONS].find({"until": {"$gt": now}}):
            entry = {doc["kind"]: doc["value"], "until": doc["until"]}
            if "before" in doc:
                entry["before"] = doc["before"]
            out.append(entry)
        return out

    def revoked(self, sid: str, sub: str, did: str | None, iat: float) -> bool:
        ids = [f"sid:{sid}", f"sub:{sub}"] + ([f"did:{did}"] if did else [])
        now = time.time()
        for doc_id in ids:  # key look-ups (an `$in` reads the whole collection on FerretDB)
            doc = self.db[REVOCATIONS].find_one({"_id": doc_id})
            if doc is None or not doc.get("until", 0) > now:
                continue
            if doc["kind"] != "sub" or float(iat) < doc.get("before", 0):
                return True
        return False

    def sweep(self) -> dict:
        now = clock.now()
        return {
            "revocations": self.db[REVOCATIONS].delete_many({"until": {"$lt": time.time()}}).deleted_count,
            "onetime": self.db[ONETIME].delete_many({"expires_at": {"$lt": now - timedelta(days=1)},
                                                     "outbox_pending": {"$ne": True}}).deleted_count,
            "spent": self.db[SPENT].delete_many({"expires_at": {"$lt": now}}).deleted_count,
            "claims": self.db[CLAIMS].delete_many({"expires_at": {"$lt": now - timedelta(days=2)}}).deleted_count,
            "throttle": self.sweep_throttle(now),
        }

    def sweep_throttle(self, now) -> int:
        """Counters nothing reads any more: an address's failures a day old (a streak that old starts again
        anyway, and no wait is that long), windows two hours closed. Every address anybody tries gets a
        counter, so without this the collection only grows. A counter carrying a pending e-mail stays."""
        keep = {"outbox_pending": {"$ne": True}}
        streaks_before = now - timedelta(seconds=FAILURES_FORGOTTEN_AFTER)
        windows_before = now - timedelta(hours=2)
        return (self.db[THROTTLE].delete_many({"last_failure_at": {"$lt": streaks_before}, **keep}).deleted_count
                + self.db[THROTTLE].delete_many({"window_start": {"$lt": windows_before}, **keep}).deleted_count)

    # one-time tokens (reset, e-mail change confirmation and undo)

    def void_onetime(self, account_id: str, kind: str) -> None:
        self.db[ONETIME].update_many({"account_id": account_id, "kind": kind, "used_at": None, "voided": False},
                                     {"$set": {"voided": True}})

    def insert_onetime(self, token_hash: str, kind: str, account_id: str | None, ttl: float,
                       data: dict | None = None, events: tuple = ()) -> None:
        now = clock.now()
        self.db[ONETIME].insert_one({
            "_id": token_hash, "kind": kind, "account_id": account_id, "data": data or {}, "created_at": now,
            "expires_at": now + timedelta(seconds=ttl), "used_at": None, "voided": False,
            **outbox_fields(*events)})

    def onetime(self, token_hash: str, kind: str) -> dict | None:
        return self.db[ONETIME].find_one({"_id": token_hash, "kind": kind})

    def consume_onetime(self, token_hash: str, kind: str) -> dict | None:
        """The token's document if it was live and this call is the one that consumed it; None otherwise."""
        now = clock.now()
        doc = self.db[ONETIME].find_one(
            {"_id": token_hash, "kind": kind, "used_at": None, "voided": False, "expires_at": {"$gt": now}})
        if doc is None or not self.claim(f"onetime:{token_hash}", doc["expires_at"]):
            return None
        self.db[ONETIME].update_one({"_id": token_hash}, {"$set": {"used_at": now}})
        doc["used_at"] = now
        return doc

    # throttling

    def throttle_state(self, email_norm: str, client_ip: str | None) -> float:
        """Seconds to wait before this attempt may be checked (0: go ahead)."""
        return self.throttle_read(email_norm, client_ip)[0]

    def throttle_read(self, email_norm: str, client_ip: str | None) -> tuple[float, dict | None]:
        """(seconds to wait, the address's throttle document): key look-ups, made at once."""
        pending = _spawn(lambda: self.db[THROTTLE].find_one({"_id": f"c:{client_ip}"})) if client_ip else None
        email_doc = self.db[THROTTLE].find_one({"_id": f"e:{email_norm}"})
        client_doc = _result(pending)
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

    def account_by_email_later(self, email: str):
        """`account_by_email` started now (beside other look-ups); call the result to get it."""
        pending = _spawn(lambda: self.account_by_email(email))
        return lambda: _result(pending)

    def record_failure(self, email_norm: str, client_ip: str | None, lockout_event=None) -> dict:
        """Count a failed check; returns {"failures", "locked_until", "notified"}.

        `lockout_event(locked_until)` -> an envelope or None: stored in the same update that starts
        a lockout (the 5th consecutive failure), so the notice goes out once per lockout.
        """
        now = clock.now()
        key = f"e:{email_norm}"
        # Filters are `_id` alone (a key look-up on FerretDB; anything more reads the whole collection,
        # which holds a counter for every address anybody tried), the rest is decided here.
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

    def count_in_window(self, key: str, window: float, now=None) -> int:
        """Count one event under `key` in a window of `window` seconds that opens with its first event;
        returns the count so far, this one included. One key look-up and, when a window opens, one more
        write (a filter with more than `_id` reads the whole collection on FerretDB: 74 ms instead of
        0.9 ms among 5,000 counters, measured). On FerretDB an `$inc` is a read then a write, so under
        concurrency a count may come out a little low: limits built on it let a few more through, never fewer."""
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

    def forget_count(self, key: str) -> None:
        self.db[THROTTLE].delete_one({"_id": key})

    def record_success(self, email_norm: str, seen: dict | None | bool = True) -> None:
        """Reset the failure count. `seen`: the throttle document read before this attempt (None: there
        was none); with nothing to reset then, nothing is written (a failure that raced with this
        success keeps counting, which only errs on the strict side). Default: look it up now."""
        key = f"e:{email_norm}"
        doc = self.db[THROTTLE].find_one({"_id": key}) if seen is True else seen
        if doc is not None and (doc.get("failures") or doc.get("locked_until") or doc.get("streak_at")):
            self.db[THROTTLE].update_one({"_id": key},
                                         {"$set": {"failures": 0, "locked_until": None, "streak_at": None}})

    def throttle_doc(self, email_norm: str) -> dict | None:
        return self.db[THROTTLE].find_one({"_id": f"e:{email_norm}"})


def _spawn(fn):
    """fn in a green thread under eventlet (nameko), else run now; `_result` gives (or re-raises) its outcome."""
    import eventlet.patcher

    if eventlet.patcher.is_monkey_patched("socket"):
        import eventlet

        return eventlet.spawn(fn)
    value = fn()
    return lambda: value


def _result(pending):
    if pending is None:
        return None
    if callable(pending):
        return pending()
    return pending.wait()


def _refresh_ttl() -> float:
    from identity.tokens import REFRESH_TTL

    return REFRESH_TTL


def retry_after(seconds: float) -> int:
    return max(1, math.ceil(seconds))


def identity_store() -> Mongo:
    """The DependencyProvider that gives each worker a IdentityStore."""
    return Mongo(IdentityStore, service="identity")
