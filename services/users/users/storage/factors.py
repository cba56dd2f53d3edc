"""The users service's copy of who has a second factor on (identity owns the factors).

`second_factors`, one document per account (`_id` = the account id, key look-ups only):
`{on: {<method>: bool}, at: {<method>: <when identity changed it>}}`. Fed by identity's
`second_factor_changed` events; an account users has heard nothing of is asked of identity once
(`identity.second_factors_of`) and inserted (`fill`), so what was turned on before this copy existed counts too.

Events may arrive out of order (two users replicas, a redelivery): a change is applied only when it is newer
than the one the copy holds for that method (an update filtered on "older, or none yet"; no document yet: a
unique insert). A fill never overwrites anything (a unique insert), so an event handled meanwhile always wins.
"""
from __future__ import annotations

from datetime import datetime

from pymongo.errors import DuplicateKeyError

from kadra_defaults.storage import Store

SECOND_FACTORS = "second_factors"


class SecondFactors(Store):
    """account_id -> whether any second factor is on, as identity last told us."""

    def known(self, account_ids) -> dict[str, bool]:
        """{account_id: has a factor on} for the accounts the copy holds (key look-ups); others are missing."""
        return {doc["_id"]: any((doc.get("on") or {}).values()) for doc in self.by_keys(SECOND_FACTORS, account_ids)}

    def record(self, account_id: str, method: str, on: bool, at: datetime) -> bool:
        """Apply identity's change of `method` made at `at`, unless the copy holds a newer one; True if applied.

        An update filtered on "older or none" (narrowed to the `_id` on FerretDB), else a first insert; an insert
        that collides means the document appeared meanwhile, and the update is tried once more."""
        # not older: times are kept to the millisecond, and of two in the same one the later-applied wins
        older_or_none = {"$or": [{f"at.{method}": {"$lte": at}}, {f"at.{method}": {"$exists": False}}]}
        change = {"$set": {f"on.{method}": on, f"at.{method}": at}}
        for _ in range(2):
            if self.db[SECOND_FACTORS].update_one({"_id": account_id, **older_or_none}, change).matched_count:
                return True
            try:
                self.db[SECOND_FACTORS].insert_one({"_id": account_id, "on": {method: on}, "at": {method: at}})
                return True
            except DuplicateKeyError:  # there is a document: either it holds a newer change, or it just appeared
                continue
        return False

    def fill(self, account_id: str, methods_on: list, methods: tuple, at: datetime) -> None:
        """The first copy of an account, from identity's answer read at `at`; never over an existing one."""
        try:
            self.db[SECOND_FACTORS].insert_one({"_id": account_id, "on": {m: m in methods_on for m in methods},
                                                "at": {m: at for m in methods}})
        except DuplicateKeyError:
            pass
