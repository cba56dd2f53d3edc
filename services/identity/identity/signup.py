"""Sign-up by e-mailed link: a request that answers the same for every address, then the link that makes the
account and its company (made by the users service), all or nothing. Also the accounts made by accepting an
invitation (active at once, no company of their own: the invitation proved the address).

Requesting a sign-up (POST /accounts), the steps and what happens when one fails; the caller learns nothing
but "check your e-mail", whatever the address:
1. The input and the password policy are checked: InvalidInput, nothing written (the same for every address).
2. The client address's sign-ups this hour are counted (KADRA_LIMIT_SIGNUPS_PER_CLIENT_HOUR): RateLimited.
3. The password is hashed (argon2id): the one slow step, taken for a new and a taken address alike.
4. The e-mails this address got from sign-ups this hour are counted (SIGNUP_MAILS): past the limit nothing is
   stored or sent, whatever the address (the earlier links still work).
5. A new address (no account; waiting sign-ups do not count): a sign-up under its link's token hash, valid
   SIGNUP_TTL, with the confirmation e-mail in the same insert. A taken address: a notice to the account's
   owner ("someone tried to sign up with your address"), in the same collection, in the same kind of insert.
   Either way one argon2id hash and the same writes, so neither the answer nor its time tells them apart.

Confirming it (POST /accounts/confirm {token}):
1. The sign-up of the token's hash: none, already confirmed, or expired before its account was made ->
   InvalidToken.
2. A `pending` account is inserted with the id the sign-up chose, naming the company to make and a creation
   key (that id). The insert is the link's single use:
   - that id exists already: an earlier confirmation of this link. Still pending (users failed then): go on,
     so a retry after a 503 finishes it. Active: InvalidToken (used).
   - another account has the address (another sign-up confirmed first, an invitation): InvalidToken saying
     so (only the address's owner has the link). Waiting sign-ups never block an address.
3. users.create_company(owner, name, creation key) — the key makes it idempotent: asked twice, users makes one.
   - users refuses the name: the pending account is deleted; InvalidInput on `company_name`.
   - users fails or does not answer in USERS_TIMEOUT: Unavailable (Retry-After 5). The account stays pending;
     the timer (`finish_pending`, every 30 s, for accounts older than PENDING_SIGNUP_AGE) repeats step 3, and
     so does a retry of the link.
4. The account becomes active; the sign-up forgets the password's hash (the account has it).
Until step 4 nothing can log in with the address and password, nor activate a phone: logins read active
accounts only.
"""
import logging
from datetime import timedelta

import eventlet
from nameko.exceptions import RemoteError
from pymongo.errors import DuplicateKeyError

from kadra_defaults import clock, settings
from kadra_defaults.errors import field_error
from kadra_defaults.limits import HOUR, Limit
from kadra_defaults.outbox import mail_event
from kadra_defaults.storage import AttemptCounter, new_id, window_index

from identity import accounts, passwords, schemas, tokens
from identity.exceptions import EmailTaken, InvalidInput, InvalidToken, Unavailable
from identity.storage.accounts import normalise_email

log = logging.getLogger(__name__)

SIGNUP_TTL = 24 * 3600
# E-mails sign-ups send to one address (confirmation links or notices to its owner): at most this many an
# hour, so nobody can bury a mailbox in them. Further sign-ups answer the same and send nothing.
SIGNUP_MAILS = 3
USERS_TIMEOUT = 5.0
PENDING_SIGNUP_AGE = 60.0
SIGNUPS_PER_CLIENT = Limit("signups", "sign-ups from this network address", "rejestracji z tego adresu sieciowego")
ADDRESS_HAS_ACCOUNT = ("This address already has an account. Log in, or set a new password if you don't "
                       "remember it.",
                       "Ten adres ma już konto. Zaloguj się albo ustaw nowe hasło, jeśli go nie pamiętasz.")


def request(deps, email, password, full_name, company_name, locale="pl", client_ip=None) -> None:
    """Steps 1-5 of a sign-up request; nothing is answered (the gateway says "check your e-mail")."""
    data = schemas.load(schemas.SignUpSchema(), {"email": email, "password": password, "full_name": full_name,
                                                 "company_name": company_name, "locale": locale})
    errors = passwords.policy_errors(data["password"], "password", data["email"],
                                     inputs=(data["full_name"], data["company_name"]))
    if errors:
        raise InvalidInput(errors=errors)
    store = deps.store
    SIGNUPS_PER_CLIENT.take(store.db, client_ip, settings.current().limit_signups_per_client_hour)
    password_hash = passwords.hash_password(data["password"])
    existing = store.accounts.by_email(data["email"], active_only=False)
    if not _mail_allowed(store, data["email"]):
        log.info("sign-up e-mail held back: too many for this address this hour")
        return
    token = tokens.new_secret()
    now = clock.now()
    if existing is None:
        event = mail_event("signup_confirmation_requested", {
            "to": data["email"], "locale": data["locale"], "full_name": data["full_name"],
            "company_name": data["company_name"], "token": token,
            "expires_at": (now + timedelta(seconds=SIGNUP_TTL)).isoformat()})
        store.signups.add(tokens.digest(token), "signup", SIGNUP_TTL, events=(event,), data={
            "account_id": new_id(), "email": data["email"], "full_name": data["full_name"],
            "company_name": data["company_name"], "locale": data["locale"], "password_hash": password_hash})
    else:
        event = mail_event("signup_for_existing_account_attempted",
                           {**accounts.recipient(existing), "attempted_at": now.isoformat()})
        store.signups.add(tokens.digest(token), "notice", SIGNUP_TTL, events=(event,))
    deps.outbox.kick()


def _mail_allowed(store, email: str) -> bool:
    """Reserve one of this hour's SIGNUP_MAILS for the address (kit: counted attempts)."""
    now = clock.now()
    key = f"signup-mail:{normalise_email(email)}:{window_index(HOUR, now)}"
    return AttemptCounter(store.db).reserve(key, SIGNUP_MAILS, expires_at=now + timedelta(hours=2)) is not None


def confirm(deps, token) -> dict:
    """Steps 1-4 of a confirmation: {account_id, company_id}; a retry after Unavailable finishes the same."""
    if not isinstance(token, str) or not 20 <= len(token) <= 200:
        raise InvalidToken()
    store = deps.store
    digest = tokens.digest(token)
    signup = store.signups.get(digest)
    if signup is None or signup.get("confirmed_at"):
        raise InvalidToken()
    account = store.accounts.by_id(signup["account_id"], active_only=False)
    if account is None:
        if not signup["expires_at"] > clock.now():
            raise InvalidToken()
        account = _new_account(signup, signup["password_hash"], status="pending", account_id=signup["account_id"])
        account["signup"] = {"company_name": signup["company_name"], "creation_key": account["_id"]}
        try:
            store.accounts.insert(account)
        except DuplicateKeyError:  # this link confirmed meanwhile, or the address has another account
            account = store.accounts.by_id(signup["account_id"], active_only=False)
            if account is None:
                raise InvalidToken(*ADDRESS_HAS_ACCOUNT, errors=[field_error("token", *ADDRESS_HAS_ACCOUNT)]) from None
    if account["status"] != "pending":
        raise InvalidToken()
    company_id = _finish(deps, account)
    store.signups.confirmed(digest)
    log.info("sign-up confirmed", extra={"account_id": account["_id"], "company_id": company_id})
    return {"account_id": account["_id"], "company_id": company_id}


def _finish(deps, doc: dict) -> str:
    """Steps 3 and 4: the company through users, then the account active; the company id."""
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
    """Confirmed sign-ups whose company step failed or timed out are finished (or undone) here."""
    for doc in deps.store.accounts.pending_signups(PENDING_SIGNUP_AGE):
        try:
            _finish(deps, doc)
            log.info("pending sign-up finished", extra={"account_id": doc["_id"]})
        except (InvalidInput, Unavailable):
            pass


def _ask_users(deps, method: str, *args, **kwargs):
    """An RPC to users within USERS_TIMEOUT (Unavailable after it)."""
    try:
        with eventlet.Timeout(USERS_TIMEOUT):
            return getattr(deps.users, method).call_async(*args, **kwargs).result()
    except eventlet.Timeout:
        raise Unavailable() from None


def create_invited(deps, email, password, full_name, locale="pl") -> dict:
    """An account for a person accepting an invitation (users asks): active at once; EmailTaken if it exists."""
    data = schemas.load(schemas.InvitedAccountSchema(), {"email": email, "password": password,
                                                         "full_name": full_name, "locale": locale})
    passwords.require_policy(data["password"], "password", data["email"], inputs=(data["full_name"],))
    doc = _new_account(data, passwords.hash_password(data["password"]), status="active")
    try:
        deps.store.accounts.insert(doc)
    except DuplicateKeyError:
        raise EmailTaken() from None
    return {"account_id": doc["_id"]}


def _new_account(data: dict, password_hash: str, status: str, account_id: str | None = None) -> dict:
    now = clock.now()
    return {"_id": account_id or new_id(), "email": data["email"], "email_norm": normalise_email(data["email"]),
            "full_name": data["full_name"], "locale": data.get("locale") or "pl",
            "password_hash": password_hash, "status": status, "created_at": now, "updated_at": now}
