"""Approvals on the trusted phone: the requests a pending login (or a request to turn the method off) waits on.

`login_approvals`, `_id` = a random approval id (the phone sees it; the web's pending token is a different
secret and is never shown to the phone): the account, the pending login's digest it belongs to, `purpose`
("login" or "phone_off"), the number shown on the web (two digits, number matching), the client's address and
user agent, `created_at`, `expires_at` (2 minutes), and once decided `decision` ("approved" / "denied"),
`decided_at`, `device_id`, `reason`. Made due in the kit's buckets: the sweep removes it without a scan.

The phone lists its account's open requests through the key set `login-approvals:<account>` (a range read of
the key index; entries are removed once decided and whenever found expired).

Exactly one decision per approval, however many phones' requests race (FerretDB has no transactions and its
filtered find_one_and_update is a read, then a write): the decision is claimed by a unique insert
(`approval:<id>`, kit `claim`) and only its winner writes it.
"""
from datetime import datetime, timedelta

from kadra_defaults import clock
from kadra_defaults.storage import Expiries, KeySet, Store, claim, sweep_expired

APPROVALS = "login_approvals"
CLAIM_KEPT = timedelta(minutes=10)


class Approvals(Store):
    """The login_approvals collection and its per-account key set."""

    def __init__(self, db):
        super().__init__(db)
        self._open = KeySet(db, "login-approvals")

    def add(self, approval_id: str, account_id: str, pending: str, purpose: str, number: str, client: dict,
            expires_at: datetime) -> None:
        """A new request for the phone (key set first: a crash leaves a key without its document, never the
        reverse)."""
        Expiries(self.db).due(APPROVALS, approval_id, expires_at)
        self._open.add(account_id, approval_id)
        self.db[APPROVALS].insert_one({"_id": approval_id, "account_id": account_id, "pending": pending,
                                       "purpose": purpose, "number": number, "client_ip": client.get("client_ip"),
                                       "user_agent": client.get("user_agent"), "created_at": clock.now(),
                                       "expires_at": expires_at})

    def get(self, approval_id) -> dict | None:
        return self.by_key(APPROVALS, approval_id)

    def open_for(self, account_id: str) -> list[dict]:
        """The account's undecided, unexpired requests, oldest first; stale keys are dropped on the way."""
        now = clock.now()
        found = []
        for approval_id in self._open.refs(account_id):
            doc = self.get(approval_id)
            if doc is None or doc.get("decision") or clock.aware(doc["expires_at"]) <= now:
                self._open.remove(account_id, approval_id)
                continue
            found.append(doc)
        return sorted(found, key=lambda doc: clock.aware(doc["created_at"]))

    def decide(self, doc: dict, decision: str, device_id: str | None, reason: str) -> bool:
        """Record the decision: True for exactly one caller per approval (a claim by unique insert)."""
        if not claim(self.db, f"approval:{doc['_id']}", clock.now() + CLAIM_KEPT):
            return False
        self.db[APPROVALS].update_one({"_id": doc["_id"]}, {"$set": {
            "decision": decision, "decided_at": clock.now(), "device_id": device_id, "reason": reason}})
        self._open.remove(doc["account_id"], doc["_id"])
        return True

    def sweep(self, now) -> int:
        return sweep_expired(self.db, APPROVALS, now, keep=timedelta(minutes=5),
                             gone=lambda doc: self._open.remove(doc["account_id"], doc["_id"]))
