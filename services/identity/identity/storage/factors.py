"""Second factors: an account's TOTP secret and recovery codes, and the logins waiting for their second step.

`factors`, one document per account (`_id` = the account id, key look-ups only): `state` "pending" (enrolment
begun, not yet confirmed) or "on"; `secret` (base32, RFC 6238); `recovery` (sha256 hex digests of the
unused recovery codes); `enrolment` (a random id, so the codes of an earlier enrolment never count again);
`last_step` (the newest TOTP time-step used); `phone` (true while approving web logins on the trusted phone is
on) and `phone_enabled_at`. The document carries the notice e-mails of its changes (outbox).

Once (kit: claims by unique insert), so racing requests get exactly one success each:
  `totp:<account>:<step>`           a TOTP code's time-step used (20 parallel uses of one code: one passes);
  `recovery:<account>:<enrolment>:<digest>`   a recovery code spent;
  `pending-login:<digest>`          a pending login completed.

`pending_logins`: `_id` = sha256 of the opaque token the first step answered, the account, its expiry, its
`purpose` ("login", or "phone_off": turning phone approval off waits for the phone too) and, when the phone was
asked, its `approval_id` (storage.approvals); made due in the kit's buckets so the sweep removes it without a scan.
"""
from datetime import datetime, timedelta

from pymongo.errors import DuplicateKeyError

from kadra_defaults import clock
from kadra_defaults.outbox import update_with_outbox
from kadra_defaults.storage import Expiries, Store, claim, sweep_expired

FACTORS = "factors"
PENDING_LOGINS = "pending_logins"
CLAIM_KEPT = timedelta(minutes=5)   # a time-step's claim outlives the ±1-step window it can be accepted in


class Factors(Store):
    """The factors and pending_logins collections."""

    def get(self, account_id: str) -> dict | None:
        return self.by_key(FACTORS, account_id)

    def enabled(self, account_id: str) -> dict | None:
        doc = self.get(account_id)
        return doc if doc and doc.get("state") == "on" else None

    def begin(self, account_id: str, secret: str) -> bool:
        """A pending enrolment (replacing an earlier unconfirmed one); False over a factor that is on."""
        now = clock.now()
        try:
                self.db[FACTORS].update_one({"_id": account_id, "state": {"$ne": "on"}},
                                        {"$set": {"state": "pending", "secret": secret, "begun_at": now},
                                         "$unset": {"recovery": "", "enrolment": ""}}, upsert=True)
        except DuplicateKeyError:  # the document is there and on: the filter missed, the upsert collided
            return False
        return True

    def enable(self, doc: dict, recovery: list[str], enrolment: str, step: int, event: dict) -> bool:
        """Turn the pending enrolment `doc` on (with its notice e-mail); False when it changed meanwhile."""
        now = clock.now()
        result = update_with_outbox(self.db[FACTORS], {"_id": doc["_id"], "state": "pending", "secret": doc["secret"]},
                                    {"$set": {"state": "on", "recovery": recovery, "enrolment": enrolment,
                                              "last_step": step, "enabled_at": now}}, event)
        return bool(getattr(result, "matched_count", 1))

    def disable(self, account_id: str, event: dict) -> None:
        """Off: the secret and the recovery codes are forgotten (the notice e-mail in the same write)."""
        update_with_outbox(self.db[FACTORS], {"_id": account_id},
                           {"$set": {"state": "off", "disabled_at": clock.now()},
                            "$unset": {"secret": "", "recovery": "", "enrolment": "", "last_step": ""}}, event)

    def set_phone(self, account_id: str, on: bool, event: dict) -> bool:
        """Phone approval on or off (the notice e-mail in the same write); False when it already was."""
        try:
            self.db[FACTORS].insert_one({"_id": account_id, "state": "off"})
        except DuplicateKeyError:
            pass
        update = {"$set": {"phone": True, "phone_enabled_at": clock.now()}} if on else \
            {"$set": {"phone_disabled_at": clock.now()}, "$unset": {"phone": "", "phone_enabled_at": ""}}
        result = update_with_outbox(self.db[FACTORS], {"_id": account_id, "phone": {"$ne": True} if on else True},
                                    update, event)
        return bool(getattr(result, "matched_count", 1))

    def use_step(self, account_id: str, step: int) -> bool:
        """Claim a TOTP time-step for the account: True once per step, however many ask at once."""
        if not claim(self.db, f"totp:{account_id}:{step}", clock.now() + CLAIM_KEPT):
            return False
        self.db[FACTORS].update_one({"_id": account_id}, {"$max": {"last_step": step}})
        return True

    def use_recovery(self, doc: dict, digest: str) -> bool:
        """Spend one recovery code: True once, however many ask at once."""
        if not claim(self.db, f"recovery:{doc['_id']}:{doc.get('enrolment')}:{digest}"):
            return False
        self.db[FACTORS].update_one({"_id": doc["_id"]}, {"$pull": {"recovery": digest}})
        return True

    # -- pending logins ----------------------------------------------------------------------------

    def add_pending_login(self, digest: str, account_id: str, expires_at: datetime, purpose: str = "login",
                          approval_id: str | None = None) -> None:
        Expiries(self.db).due(PENDING_LOGINS, digest, expires_at)
        self.db[PENDING_LOGINS].insert_one({"_id": digest, "account_id": account_id, "expires_at": expires_at,
                                            "purpose": purpose, "approval_id": approval_id})

    def pending_login(self, digest: str) -> dict | None:
        doc = self.by_key(PENDING_LOGINS, digest)
        if doc is None or clock.aware(doc["expires_at"]) <= clock.now():
            return None
        return doc

    def complete_pending_login(self, digest: str) -> bool:
        """True for exactly one completion of a pending login."""
        if not claim(self.db, f"pending-login:{digest}", clock.now() + CLAIM_KEPT * 2):
            return False
        self.db[PENDING_LOGINS].delete_one({"_id": digest})
        return True

    def sweep(self, now) -> int:
        return sweep_expired(self.db, PENDING_LOGINS, now)

