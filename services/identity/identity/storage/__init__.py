"""The identity database: the stores it owns, each speaking the domain, on the kit's tactics.

`IdentityStore` is what each worker gets (`store.accounts.by_email(...)`, `store.sessions.rotate_chain(...)`,
`store.onetime.consume(...)`, `store.throttle.record_failure(...)`, `store.revocations.add(...)`,
`store.signups.get(...)`, `store.factors.enabled(...)`).
How these stores meet FerretDB (key look-ups by `_id` alone, claims by unique insert, parallel key reads,
start-up retries) is the kit's: kadra_defaults.storage, whose docstring says why per tactic.
Invariants held by the database itself: one account per normalised e-mail (a unique index); a one-time
token is consumed at most once and a refresh token rotates at most once (claims by unique insert).
No transactions or TTL indexes: every document carries its own expiry, checked on use and swept on a timer.
"""
from datetime import timedelta

from kadra_defaults import clock
from kadra_defaults.storage import CLAIMS_COLLECTION, Store, sweep_attempts, sweep_claims

from identity.storage.accounts import ACCOUNTS, Accounts
from identity.storage.approvals import Approvals
from identity.storage.factors import FACTORS, Factors
from identity.storage.onetime import ONETIME, OneTime
from identity.storage.revocations import Revocations
from identity.storage.sessions import Sessions
from identity.storage.signups import SIGNUPS, Signups
from identity.storage.throttle import THROTTLE, Throttle

OUTBOX_COLLECTIONS = (ACCOUNTS, ONETIME, THROTTLE, SIGNUPS, FACTORS)  # the collections whose documents carry e-mail events


class IdentityStore(Store):
    """Accounts, sessions, one-time tokens, throttle counters, revocations and waiting sign-ups in the identity
    database."""

    PARTS = (Accounts, Sessions, OneTime, Throttle, Revocations, Signups, Factors, Approvals)

    def __init__(self, db):
        super().__init__(db)
        self.accounts = Accounts(db)
        self.sessions = Sessions(db)
        self.onetime = OneTime(db)
        self.throttle = Throttle(db)
        self.revocations = Revocations(db)
        self.signups = Signups(db)
        self.factors = Factors(db)  # second factors (TOTP, recovery codes, phone approval) and pending logins
        self.approvals = Approvals(db)  # requests waiting for the trusted phone's approval

    @classmethod
    def ensure_indexes(cls, db) -> None:
        for part in cls.PARTS:
            part.ensure_indexes(db)
        db[CLAIMS_COLLECTION].create_index("expires_at", name="expires")

    def sweep(self) -> dict:
        """Forget what has expired (FerretDB has no TTL indexes); returns how many of each went."""
        now = clock.now()
        return {
            "revocations": self.revocations.sweep(),
            "onetime": self.onetime.sweep(now),
            "spent": self.sessions.sweep(now),
            "sessions": self.sessions.sweep_sessions(now),  # ended and expired sessions (due buckets, no scan)
            "claims": sweep_claims(self.db, now - timedelta(days=2)),  # the tokens they spent are gone by then
            "throttle": self.throttle.sweep(now),
            "signups": self.signups.sweep(now),
            "pending_logins": self.factors.sweep(now),
            "login_approvals": self.approvals.sweep(now),
            "attempts": sweep_attempts(self.db, now),  # counted attempts and abuse-limit counts past their window
        }
