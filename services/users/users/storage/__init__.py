"""The users service's database, one store per thing it holds, each speaking the domain.

- `companies`    the companies and the lock an ownership move holds (companies.py);
- `memberships`  who belongs where with which role; one per (company, account); the owner's role
                 is never touched by a role change or removal (memberships.py);
- `invitations`  one pending per (company, e-mail); a link spent at most once (invitations.py);
- `transfers`    ownership offers and the guarded ownership move (transfers.py);
- `audit`        each company's log (audit.py);
- `rosters`      the users table's stored copy and the stamps that keep it current (rosters.py);
- `second_factors` the copy of who has a second factor on, fed by identity's events (factors.py).

Each holds its invariant in the database itself (unique keys, claims, filtered updates), never by
a read followed by a write; the tactics come from kadra_defaults.storage.
"""
from kadra_defaults.storage import Mongo, Store

from users.storage.audit import AUDIT, AuditLog
from users.storage.companies import COMPANIES, Companies
from users.storage.factors import SECOND_FACTORS, SecondFactors
from users.storage.invitations import INVITATIONS, Invitations
from users.storage.memberships import MEMBERSHIPS, Memberships
from users.storage.rosters import Rosters
from users.storage.transfers import TRANSFERS, Transfers

__all__ = ["AUDIT", "COMPANIES", "INVITATIONS", "MEMBERSHIPS", "SECOND_FACTORS", "TRANSFERS", "UsersStore",
           "users_store"]


class UsersStore(Store):
    """What each worker gets: `store.companies`, `store.memberships`, `store.invitations`, … over one database."""

    STORES = (Companies, Memberships, Invitations, Transfers, AuditLog, Rosters, SecondFactors)

    def __init__(self, db):
        super().__init__(db)
        self.companies = Companies(db)
        self.memberships = Memberships(db)
        self.invitations = Invitations(db)
        self.transfers = Transfers(db)
        self.audit = AuditLog(db)
        self.rosters = Rosters(db)
        self.second_factors = SecondFactors(db)

    @classmethod
    def ensure_indexes(cls, db) -> None:
        for store in cls.STORES:
            store.ensure_indexes(db)


def users_store() -> Mongo:
    """The DependencyProvider that gives each worker a UsersStore."""
    return Mongo(UsersStore, service="users")
