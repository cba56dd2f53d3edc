"""Sign-up: an account and its company (made by the users service), all or nothing; a retry with the same data
succeeds. Also the accounts made by accepting an invitation (active at once, no company of their own).

The steps of a sign-up, and what happens when one fails:
1. The input and the password policy are checked: InvalidInput, nothing written.
2. The address is looked up. Taken: see `_again` (its owner retrying gets the real ids; anyone else the same
   answer as a new address, as late as a real sign-up would give it, and nothing is made).
3. A `pending` account is inserted, naming the company to make and a creation key (the account id). A
   concurrent sign-up for the address that got in first: step 2's answer.
4. users.create_company(owner, name, creation key) — the key makes it idempotent: asked twice, users makes one.
   - users refuses the name: the pending account is deleted; InvalidInput on `company_name`.
   - users fails or does not answer in USERS_TIMEOUT: Unavailable (Retry-After 5). The account stays pending;
     the timer (`finish_pending`, every 30 s, for sign-ups older than PENDING_SIGNUP_AGE) repeats step 4,
     and so does the owner's retry (step 2).
5. The account becomes active and remembers its company id (a later retry answers with it).
"""
import logging
import time

import eventlet
from nameko.exceptions import RemoteError
from pymongo.errors import DuplicateKeyError

from kadra_defaults import clock
from kadra_defaults.storage import new_id

from identity import passwords, schemas
from identity.exceptions import EmailTaken, InvalidInput, Unavailable
from identity.pacing import DurationMatcher
from identity.storage.accounts import normalise_email

log = logging.getLogger(__name__)

USERS_TIMEOUT = 5.0
PENDING_SIGNUP_AGE = 60.0
SIGN_UPS = DurationMatcher()  # real sign-ups' durations, which a sign-up for a taken address copies


def sign_up(deps, email, password, full_name, company_name, locale="pl") -> dict:
    """{account_id, company_id}, the same shape whether the address was free or taken.

    Either way one argon2id operation: a hash for a new address, a verify for a taken one (hashing first and
    verifying after the insert failed made a taken address measurably slower: 62 vs 42 ms).
    """
    started = time.monotonic()
    data = schemas.load(schemas.SignUpSchema(), {"email": email, "password": password, "full_name": full_name,
                                                 "company_name": company_name, "locale": locale})
    passwords.require_policy(data["password"], "password", data["email"])
    store = deps.store.accounts
    existing = store.by_email(data["email"], active_only=False)
    if existing is not None:
        return _again(deps, existing, data["password"], started)
    doc = _new_account(data, passwords.hash_password(data["password"]), status="pending")
    doc["signup"] = {"company_name": data["company_name"], "creation_key": doc["_id"]}
    try:
        store.insert(doc)
    except DuplicateKeyError:  # a sign-up for this address got in between
        return _again(deps, store.by_email(data["email"], active_only=False), data["password"], started)
    company_id = _finish(deps, doc)
    SIGN_UPS.record(started)
    return {"account_id": doc["_id"], "company_id": company_id}


def _again(deps, existing: dict | None, password: str, started: float) -> dict:
    """A sign-up for a taken address: its owner retrying (the password matches) gets the real ids, and a
    half-made sign-up is finished; anyone else gets fresh ids, as late as a real sign-up would answer
    (identity.pacing), and nothing is made."""
    if existing is None or not passwords.verify_password(existing.get("password_hash"), password):
        _ask_users(deps, "companies_of", "0" * 32, quiet=True)  # users is asked, as in a real sign-up
        SIGN_UPS.wait_like_one(started)
        return {"account_id": new_id(), "company_id": new_id()}
    if existing["status"] == "active":
        return {"account_id": existing["_id"], "company_id": existing.get("signup_company_id") or new_id()}
    return {"account_id": existing["_id"], "company_id": _finish(deps, existing)}


def _finish(deps, doc: dict) -> str:
    """Steps 4 and 5: the company through users, then the account active; the company id."""
    signup = doc["signup"]
    try:
        company = _ask_users(deps, "create_company", owner_account_id=doc["_id"], name=signup["company_name"],
                             creation_key=signup["creation_key"])
    except RemoteError as exc:
        if exc.exc_type in ("InvalidInput", "ValidationError"):
            deps.store.accounts.delete_pending(doc["_id"])
            raise InvalidInput.on("company_name", "The company name was refused.", "Nazwa firmy została odrzucona.")
        raise Unavailable() from None
    deps.store.accounts.activate(doc["_id"], company["company_id"])
    return company["company_id"]


def finish_pending(deps) -> None:
    """Sign-ups whose company step failed or timed out are finished (or undone) here."""
    for doc in deps.store.accounts.pending_signups(PENDING_SIGNUP_AGE):
        try:
            _finish(deps, doc)
            log.info("pending sign-up finished", extra={"account_id": doc["_id"]})
        except (InvalidInput, Unavailable):
            pass


def _ask_users(deps, method: str, *args, quiet: bool = False, **kwargs):
    """An RPC to users within USERS_TIMEOUT (Unavailable after it); `quiet`: None instead of any failure."""
    try:
        with eventlet.Timeout(USERS_TIMEOUT):
            return getattr(deps.users, method).call_async(*args, **kwargs).result()
    except RemoteError:
        if quiet:
            return None
        raise
    except eventlet.Timeout:
        if quiet:
            return None
        raise Unavailable() from None


def create_invited(deps, email, password, full_name, locale="pl") -> dict:
    """An account for a person accepting an invitation (users asks): active at once; EmailTaken if it exists."""
    data = schemas.load(schemas.InvitedAccountSchema(), {"email": email, "password": password,
                                                         "full_name": full_name, "locale": locale})
    passwords.require_policy(data["password"], "password", data["email"])
    doc = _new_account(data, passwords.hash_password(data["password"]), status="active")
    try:
        deps.store.accounts.insert(doc)
    except DuplicateKeyError:
        raise EmailTaken() from None
    return {"account_id": doc["_id"]}


def _new_account(data: dict, password_hash: str, status: str) -> dict:
    now = clock.now()
    return {"_id": new_id(), "email": data["email"], "email_norm": normalise_email(data["email"]),
            "full_name": data["full_name"], "locale": data.get("locale") or "pl",
            "password_hash": password_hash, "status": status, "created_at": now, "updated_at": now}
