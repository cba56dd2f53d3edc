"""A worker's copies of service answers, kept current by the gateway feed, so the usual request makes no RPC.

- `Memberships` (users): (company_id, account_id) -> {role, permissions} or None (not a member), behind
  every permission check. users publishes `{"kind": "membership", "data": {"company_id", "account_id"?}}`
  (with a publisher confirm, before its RPC answers) whenever a membership changes;
- `Profiles` (identity): account_id -> {account_id, email, full_name, locale}, for GET /me. identity
  publishes `{"kind": "account", "data": {"account_id"}}` whenever a profile or e-mail changes;
- `Companies` (users): account_id -> [{company_id, name, role}], for GET /me; dropped by the same
  membership messages (a message without an account drops every list naming the company).

Two races, both closed:
- a change published while a request is filling the same copy: every drop bumps a generation
  counter; a fill keeps its answer only if nothing was dropped since it asked (`generation()`);
- the feed down (broker restart, worker start): nothing is kept while `feed.live()` is false, and on
  every (re)connect the feed calls `clear()` (resync) before it delivers anything, so nothing missed
  while disconnected survives.
A copy is re-asked after `ttl` seconds anyway (belt and braces).
"""
import threading
import time

_MISSING = object()


class Copies:
    """Copies of answers from a service, kept current by the feed.

    `drop(key)` or `drop(where=...)` (from a feed callback) and `clear()` (the resync on every (re)connect) drop
    copies and bump a generation counter; `put` keeps an answer only if no change happened since the
    caller read `generation()` before asking, and only while the feed is live. Subclasses decide what a
    message of their kind drops (`on_change`).
    """

    def __init__(self, feed, ttl: float, max_entries: int):
        self.feed = feed
        self.ttl = ttl
        self.max_entries = max_entries
        self._lock = threading.Lock()
        self._entries: dict = {}
        self._generation = 0

    def on_change(self, data) -> None:  # pragma: no cover - every subclass says
        raise NotImplementedError

    def drop(self, key=_MISSING, where=None) -> None:
        """Drop the copy at `key`, or every copy (key, value) for which `where` is true, or all."""
        with self._lock:
            self._generation += 1
            if key is not _MISSING:
                self._entries.pop(key, None)
            elif where is not None:
                for k in [k for k, (_, value) in self._entries.items() if where(k, value)]:
                    del self._entries[k]
            else:
                self._entries.clear()

    def clear(self) -> None:
        """Forget everything (the feed's resync on every (re)connect)."""
        self.drop()

    def generation(self) -> int:
        with self._lock:
            return self._generation

    def get(self, key, default=None):
        entry = self._entries.get(key)
        return entry[1] if entry is not None and entry[0] > time.monotonic() else default

    def put(self, key, value, generation: int) -> None:
        with self._lock:
            # Only if nothing changed while we asked: an answer from before a change must not stay.
            if generation == self._generation and self.feed.live():
                if len(self._entries) >= self.max_entries:
                    self._entries.clear()
                self._entries[key] = (time.monotonic() + self.ttl, value)

    def __len__(self) -> int:
        return len(self._entries)


class Memberships(Copies):
    """(company_id, account_id) -> {role, permissions} or None."""

    TTL = 300.0
    MAX_ENTRIES = 100_000

    def __init__(self, feed):
        super().__init__(feed, ttl=self.TTL, max_entries=self.MAX_ENTRIES)
        self.hits = self.misses = self.bypasses = 0

    def on_change(self, data: dict) -> None:
        """A feed message: forget the membership (or the whole company, or everything)."""
        company_id = data.get("company_id") if isinstance(data, dict) else None
        account_id = data.get("account_id") if isinstance(data, dict) else None
        if company_id and account_id:
            self.drop((company_id, account_id))
        elif company_id:
            self.drop(where=lambda key, _: key[0] == company_id)
        else:
            self.drop()

    def forget(self, company_id: str, account_id: str | None = None) -> None:
        """This worker changed the membership itself: don't wait for the feed."""
        self.on_change({"company_id": company_id, "account_id": account_id})

    def lookup(self, company_id: str, account_id: str, fetch) -> dict | None:
        """The membership, from the copy when the feed is live, else from `fetch()` (the users service)."""
        if not self.feed.live():
            self.bypasses += 1
            return fetch()
        key = (company_id, account_id)
        value = self.get(key, _MISSING)
        if value is not _MISSING:
            self.hits += 1
            return value
        self.misses += 1
        generation = self.generation()
        value = fetch()
        self.put(key, value, generation)
        return value


class Profiles(Copies):
    """account_id -> {account_id, email, full_name, locale}."""

    TTL = 60.0
    MAX_ENTRIES = 50_000

    def __init__(self, feed):
        super().__init__(feed, ttl=self.TTL, max_entries=self.MAX_ENTRIES)

    def on_change(self, data: dict) -> None:
        """An account feed message: forget that account (or everything)."""
        account_id = data.get("account_id") if isinstance(data, dict) else None
        if isinstance(account_id, str):
            self.drop(account_id)
        else:
            self.drop()


class Companies(Profiles):
    """account_id -> the person's companies [{company_id, name, role}]."""

    def on_change(self, data: dict) -> None:
        """A membership feed message: forget the person's list, or every list naming the company."""
        company_id = data.get("company_id") if isinstance(data, dict) else None
        if not isinstance(data, dict) or isinstance(data.get("account_id"), str) or not isinstance(company_id, str):
            super().on_change(data)
        else:
            self.drop(where=lambda _, rows: any(row.get("company_id") == company_id for row in rows))
