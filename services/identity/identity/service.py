"""The identity service: accounts, passwords, sessions and one-time tokens.

RPC API (other services and the gateway):
  verify_credentials(email, password, client_ip=None) -> account        InvalidCredentials, Throttled
  open_session(account_id, device_id=None) -> token pair                AccountNotFound
  end_sessions(account_id=None, device_id=None) -> {"ended": n}
  get_accounts(account_ids) -> [account];  find_account(email) -> account | None
  create_invited_account(email, password, full_name, locale="pl") -> {account_id}   InvalidInput, EmailTaken
  check_password(account_id, password, client_ip=None) -> bool         Throttled
  account = {account_id, email, full_name, locale}
Gateway-facing: sign_up, login, refresh, logout, request_password_reset, reset_password,
change_password, request_email_change, confirm_email_change, revert_email_change,
update_profile, revocations, check_access.
"""
import logging
import time
from datetime import timedelta

import eventlet
from kombu import Exchange
from nameko.exceptions import RemoteError
from nameko.events import EventDispatcher
from nameko.messaging import Publisher
from nameko.rpc import RpcProxy, rpc
from nameko.timer import timer
from pymongo.errors import DuplicateKeyError

from kadra_defaults import clock
from kadra_defaults.contracts.events import envelope
from kadra_defaults.health import HealthMixin
from kadra_defaults.outbox import Outbox, mail_event
from kadra_defaults.providers import RequestId

from identity import passwords, schemas, tokens
from identity.exceptions import (AccountNotFound, EmailTaken, InvalidCredentials, InvalidInput, InvalidSession,
                                 InvalidToken, Throttled, Unavailable)
from identity.pacing import DurationMatcher
from identity.storage import OUTBOX_COLLECTIONS, account_view, identity_store, new_id, normalise_email

log = logging.getLogger(__name__)

FEED_EXCHANGE = Exchange("kadra.gateway.feed", type="fanout", durable=True)
RESET_TTL = 30 * 60
# Reset e-mails per address: at most this many in this many seconds (a completed reset starts again), so
# nobody can bury a person's mailbox in reset links. Further requests answer the same 202 and send nothing.
RESET_MAILS = 3
RESET_MAIL_WINDOW = 60 * 60
EMAIL_CONFIRM_TTL = 24 * 3600
EMAIL_UNDO_TTL = 7 * 24 * 3600
USERS_TIMEOUT = 5.0
PENDING_SIGNUP_AGE = 60.0

INPUT = (InvalidInput,)
SIGN_UPS = DurationMatcher()  # real sign-ups' durations, which a sign-up for a taken address copies


def _iso(value) -> str:
    return value.isoformat()


def _reset_key(email: str) -> str:
    return f"r:{normalise_email(email)}"


class IdentityService(HealthMixin):
    """RPC entry points of identity."""

    name = "identity"

    store = identity_store()
    request_id = RequestId()
    outbox = Outbox(collections=OUTBOX_COLLECTIONS, service="identity")
    feed = Publisher(exchange=FEED_EXCHANGE, delivery_mode=1, retry_policy={"max_retries": 1})
    users = RpcProxy("users")
    dispatch = EventDispatcher()

    # -- what other services call -------------------------------------------------------------

    @rpc(expected_exceptions=(InvalidInput, InvalidCredentials, Throttled))
    def verify_credentials(self, email, password, client_ip=None):
        return account_view(self._check_credentials(email, password, client_ip))

    @rpc(expected_exceptions=(AccountNotFound,))
    def open_session(self, account_id, device_id=None):
        if self.store.account(account_id) is None:
            raise AccountNotFound()
        return self._open_session(account_id, device_id)

    @rpc(expected_exceptions=INPUT)
    def end_sessions(self, account_id=None, device_id=None):
        if not account_id and not device_id:
            raise InvalidInput.on("account_id", "Name an account or a device.", "Podaj konto lub urządzenie.")
        ended = self._end_sessions(account_id=account_id, device_id=device_id, reason="ended",
                                   cutoff_account=bool(account_id and not device_id))
        return {"ended": ended}

    @rpc
    def get_accounts(self, account_ids):
        ids = [a for a in (account_ids or []) if isinstance(a, str)]
        return [account_view(doc) for doc in self.store.accounts(ids)] if ids else []

    @rpc
    def find_account(self, email):
        if not isinstance(email, str) or not email.strip():
            return None
        doc = self.store.account_by_email(email)
        return account_view(doc) if doc else None

    @rpc(expected_exceptions=(InvalidInput, EmailTaken))
    def create_invited_account(self, email, password, full_name, locale="pl"):
        data = schemas.load(schemas.InvitedAccountSchema(), {"email": email, "password": password,
                                                              "full_name": full_name, "locale": locale})
        self._policy(data["password"], "password", data["email"])
        account_id = new_id()
        try:
            self.store.insert_account(self._new_account(account_id, data, passwords.hash_password(data["password"]),
                                                        status="active"))
        except DuplicateKeyError:
            raise EmailTaken() from None
        return {"account_id": account_id}

    @rpc(expected_exceptions=(Throttled, AccountNotFound))
    def check_password(self, account_id, password, client_ip=None):
        account = self.store.account(account_id)
        if account is None:
            raise AccountNotFound()
        return self._password_matches(account, password, client_ip)

    # -- sign-up ---------------------------------------------------------------------------------

    @rpc(expected_exceptions=(InvalidInput, Unavailable))
    def sign_up(self, email, password, full_name, company_name, locale="pl"):
        """Account + company (through users), all or nothing; a retry with the same data succeeds.

        A taken address gets the same answer as a new one (fresh ids, nothing created), unless the
        password matches: then it is the same person retrying, and they get their real ids. Either way
        one argon2id operation: a hash for a new address, a verify for a taken one (hashing first and
        verifying after the insert failed made a taken address measurably slower: 62 vs 42 ms).
        """
        started = time.monotonic()
        data = schemas.load(schemas.SignUpSchema(), {"email": email, "password": password, "full_name": full_name,
                                                     "company_name": company_name, "locale": locale})
        self._policy(data["password"], "password", data["email"])
        existing = self.store.account_by_email(data["email"], active_only=False)
        if existing is not None:
            return self._sign_up_again(existing, data["password"], started)
        account_id = new_id()
        doc = self._new_account(account_id, data, passwords.hash_password(data["password"]), status="pending")
        doc["signup"] = {"company_name": data["company_name"], "creation_key": account_id}
        try:
            self.store.insert_account(doc)
        except DuplicateKeyError:  # a sign-up for this address got in between
            return self._sign_up_again(self.store.account_by_email(data["email"], active_only=False),
                                       data["password"], started)
        company_id = self._finish_signup(doc)
        SIGN_UPS.record(started)
        return {"account_id": doc["_id"], "company_id": company_id}

    def _sign_up_again(self, existing: dict | None, password: str, started: float) -> dict:
        """A sign-up for a taken address: its owner retrying (the password matches) gets the real ids, and a
        half-made sign-up is finished; anyone else gets fresh ids, as late as a real sign-up would answer
        (identity.pacing), and nothing is made."""
        if existing is None or not passwords.verify_password(existing.get("password_hash"), password):
            self._users_call("companies_of", "0" * 32, quiet=True)  # users is asked, as in a real sign-up
            SIGN_UPS.wait_like_one(started)
            return {"account_id": new_id(), "company_id": new_id()}
        if existing["status"] == "active":
            return {"account_id": existing["_id"], "company_id": existing.get("signup_company_id") or new_id()}
        return {"account_id": existing["_id"], "company_id": self._finish_signup(existing)}

    def _finish_signup(self, doc: dict) -> str:
        signup = doc["signup"]
        try:
            company = self._users_call("create_company", owner_account_id=doc["_id"], name=signup["company_name"],
                                       creation_key=signup["creation_key"])
        except RemoteError as exc:
            if exc.exc_type in ("InvalidInput", "ValidationError"):
                self.store.delete_pending_account(doc["_id"])
                raise InvalidInput.on("company_name", "The company name was refused.", "Nazwa firmy została odrzucona.")
            raise Unavailable() from None
        self.store.activate_account(doc["_id"], company["company_id"])
        return company["company_id"]

    @timer(interval=30)
    def finish_pending_signups(self):
        """Sign-ups whose company step failed or timed out are finished (or undone) here."""
        for doc in self.store.pending_signups(PENDING_SIGNUP_AGE):
            try:
                self._finish_signup(doc)
                log.info("pending sign-up finished", extra={"account_id": doc["_id"]})
            except (InvalidInput, Unavailable):
                pass

    # -- login, refresh, logout --------------------------------------------------------------------

    @rpc(expected_exceptions=(InvalidInput, InvalidCredentials, Throttled))
    def login(self, email, password, client_ip=None):
        account = self._check_credentials(email, password, client_ip)
        return self._open_session(account["_id"], None)

    @rpc(expected_exceptions=(InvalidSession,))
    def refresh(self, refresh_token):
        if not isinstance(refresh_token, str) or not 20 <= len(refresh_token) <= 200:
            raise InvalidSession()
        old_hash = tokens.digest(refresh_token)
        chain = tokens.refresh_chain(refresh_token)
        if chain is not None:
            new_token = tokens.refresh_secret(chain[0], chain[1] + 1)
            rotated = self.store.rotate_chain(chain[0], chain[1], old_hash, tokens.digest(new_token))
        else:  # a token from before chains: found by its hash; the next one starts the chain
            session = self.store.session_by_refresh(old_hash)
            new_token = tokens.refresh_secret(session["_id"] if session else "-")
            rotated = self.store.rotate(old_hash, tokens.digest(new_token))
        if "reused" in rotated:
            # A spent refresh token came back: someone has a copy. End the whole family.
            log.warning("refresh token reuse: session family ended", extra={"session_id": rotated["reused"]})
            self._end_sessions(session_ids=[rotated["reused"]], reason="refresh_reuse")
        if "session" not in rotated:
            raise InvalidSession()
        session = rotated["session"]
        access = tokens.access_token(session["account_id"], session["_id"], session.get("device_id"))
        return tokens.pair(access, new_token)

    @rpc
    def logout(self, account_id, session_id, refresh_token=None):
        ids = [session_id]
        if isinstance(refresh_token, str) and refresh_token:
            digest = tokens.digest(refresh_token)
            chain = tokens.refresh_chain(refresh_token)
            other = (self.store.chain_session(chain[0], chain[1], digest) if chain
                     else self.store.session_by_refresh(digest))
            if other is not None and other["account_id"] == account_id:
                ids.append(other["_id"])
        sessions = [s for s in (self.store.session(i) for i in ids) if s and s["account_id"] == account_id]
        self._end_sessions(session_ids=[s["_id"] for s in sessions] or ["-"], reason="logout")
        return None

    # -- passwords -----------------------------------------------------------------------------------

    @rpc(expected_exceptions=INPUT)
    def request_password_reset(self, email, client_ip=None):
        """Always the same answer and the same work; a known address gets an e-mail with a 30-minute link."""
        data = schemas.load(schemas.EmailSchema(), {"email": email})
        account = self.store.account_by_email(data["email"])
        # counted for every address, known or not: the same writes either way
        requests = self.store.count_in_window(_reset_key(data["email"]), RESET_MAIL_WINDOW)
        token = tokens.new_secret()
        if account is not None and requests > RESET_MAILS:
            # The earlier links stay valid (voiding them without a new one would lock the person out).
            log.info("password reset e-mail held back: too many requests for this address",
                     extra={"account_id": account["_id"], "requests": requests})
            account = None
        if account is not None:
            self.store.void_onetime(account["_id"], "reset")
            event = mail_event("password_reset_requested", {
                **self._recipient(account), "token": token,
                "expires_at": _iso(clock.now() + timedelta(seconds=RESET_TTL))})
            self.store.insert_onetime(tokens.digest(token), "reset", account["_id"], RESET_TTL, events=(event,))
            self.outbox.kick()
        else:
            self.store.void_onetime("-", "reset")
            self.store.insert_onetime(tokens.digest(token), "decoy", None, RESET_TTL)
        return None

    @rpc(expected_exceptions=(InvalidInput, InvalidToken))
    def reset_password(self, token, new_password):
        if not isinstance(token, str) or not 20 <= len(token) <= 200:
            raise InvalidToken()
        digest = tokens.digest(token)
        peek = self.store.onetime(digest, "reset")
        account = self.store.account(peek["account_id"]) if peek else None
        self._policy(new_password, "new_password", account["email"] if account else None)
        doc = self.store.consume_onetime(digest, "reset")
        if doc is None or account is None:
            raise InvalidToken()
        self._set_password(account, new_password, via="reset")
        self._end_sessions(account_id=account["_id"], reason="password_reset", cutoff_account=True)
        self.store.record_success(account["email_norm"])
        self.store.forget_count(_reset_key(account["email_norm"]))
        return None

    @rpc(expected_exceptions=(InvalidInput, Throttled, AccountNotFound))
    def change_password(self, account_id, session_id, current_password, new_password, client_ip=None):
        account = self._account_or_raise(account_id)
        self._policy(new_password, "new_password", account["email"])
        if not self._password_matches(account, current_password, client_ip):
            raise InvalidInput.on("current_password", "The current password is wrong.", "Obecne hasło jest nieprawidłowe.")
        self._set_password(account, new_password, via="change")
        self._end_sessions(account_id=account_id, except_session=session_id, reason="password_change")
        return None

    # -- e-mail (login) change ------------------------------------------------------------------------

    @rpc(expected_exceptions=(InvalidInput, Throttled, AccountNotFound))
    def request_email_change(self, account_id, new_email, password, client_ip=None):
        """A confirmation link to the new address, a notice with an undo link to the old one.

        An address that has an account gets no confirmation (and the caller is told nothing else).
        """
        account = self._account_or_raise(account_id)
        data = schemas.load(schemas.NewEmailSchema(), {"new_email": new_email})
        new = data["new_email"]
        if normalise_email(new) == account["email_norm"]:
            raise InvalidInput.on("new_email", "This is already your e-mail address.", "To już jest Twój adres e-mail.")
        if not self._password_matches(account, password, client_ip):
            raise InvalidInput.on("password", "The password is wrong.", "Hasło jest nieprawidłowe.")
        taken = self.store.account_by_email(new, active_only=False) is not None
        undo = tokens.new_secret()
        notice = mail_event("email_change_notice", {**self._recipient(account), "new_email": new, "undo_token": undo})
        self.store.void_onetime(account_id, "email_confirm")
        self.store.insert_onetime(tokens.digest(undo), "email_revert", account_id, EMAIL_UNDO_TTL,
                                  data={"old_email": account["email"]}, events=(notice,))
        if not taken:
            confirm = tokens.new_secret()
            event = mail_event("email_change_requested", {
                **self._recipient(account), "to": new, "new_email": new, "token": confirm,
                "expires_at": _iso(clock.now() + timedelta(seconds=EMAIL_CONFIRM_TTL))})
            self.store.insert_onetime(tokens.digest(confirm), "email_confirm", account_id, EMAIL_CONFIRM_TTL,
                                      data={"old_norm": account["email_norm"], "new_email": new}, events=(event,))
        self.outbox.kick()
        return None

    @rpc(expected_exceptions=(InvalidToken,))
    def confirm_email_change(self, token):
        doc = self._consume(token, "email_confirm")
        try:
            changed = self.store.change_email(doc["account_id"], doc["data"]["old_norm"], doc["data"]["new_email"])
        except DuplicateKeyError:
            changed = None
        if changed is None:
            raise InvalidToken()
        self._account_changed(doc["account_id"])
        self._event("email_changed", {"account_id": doc["account_id"], "new_email": changed["email"]})
        return None

    @rpc(expected_exceptions=(InvalidToken,))
    def revert_email_change(self, token):
        """"This wasn't me": the old address back, pending confirmations void, every session ended."""
        doc = self._consume(token, "email_revert")
        account = self.store.account(doc["account_id"])
        if account is None:
            raise InvalidToken()
        self.store.void_onetime(account["_id"], "email_confirm")
        old = doc["data"]["old_email"]
        if normalise_email(old) != account["email_norm"]:
            try:
                self.store.change_email(account["_id"], account["email_norm"], old)
            except DuplicateKeyError:
                raise InvalidToken() from None
            self._account_changed(account["_id"])
            self._event("email_changed", {"account_id": account["_id"], "new_email": old, "reverted": True})
        self._end_sessions(account_id=account["_id"], reason="email_revert", cutoff_account=True)
        return None

    # -- profile -------------------------------------------------------------------------------------

    @rpc(expected_exceptions=(InvalidInput, AccountNotFound))
    def update_profile(self, account_id, full_name=None, locale=None):
        changes = {k: v for k, v in (("full_name", full_name), ("locale", locale)) if v is not None}
        data = schemas.load(schemas.ProfileSchema(), changes)
        if not data:
            return account_view(self._account_or_raise(account_id))
        doc = self.store.update_profile(account_id, data)
        if doc is None:
            raise AccountNotFound()
        self._account_changed(account_id)
        return account_view(doc)

    # -- revocations (for the gateway) ------------------------------------------------------------------

    @rpc
    def revocations(self):
        """Every live revocation: [{"sid"|"did"|"sub": id, "until": epoch, "before"?: epoch}]."""
        return self.store.revocations()

    @rpc
    def check_access(self, sid, sub, did=None, iat=0):
        """The gateway's fallback while its feed is down: is this access token still good?"""
        return {"active": not self.store.revoked(sid, sub, did, iat or 0)}

    @timer(interval=300)
    def sweep(self):
        self.store.sweep()

    # -- helpers ---------------------------------------------------------------------------------------

    def _new_account(self, account_id: str, data: dict, password_hash: str, status: str) -> dict:
        now = clock.now()
        return {"_id": account_id, "email": data["email"], "email_norm": normalise_email(data["email"]),
                "full_name": data["full_name"], "locale": data.get("locale") or "pl",
                "password_hash": password_hash, "status": status, "created_at": now, "updated_at": now}

    def _account_or_raise(self, account_id) -> dict:
        account = self.store.account(account_id) if isinstance(account_id, str) else None
        if account is None:
            raise AccountNotFound()
        return account

    @staticmethod
    def _policy(password, field: str, email: str | None) -> None:
        errors = passwords.policy_errors(password, field, email)
        if errors:
            raise InvalidInput(errors=errors)

    @staticmethod
    def _recipient(account: dict) -> dict:
        return {"to": account["email"], "locale": account.get("locale") or "pl",
                "full_name": account.get("full_name") or ""}

    def _check_credentials(self, email, password, client_ip) -> dict:
        """The account for this pair, or InvalidCredentials; throttled per address and per client."""
        if not isinstance(email, str) or not isinstance(password, str) or len(email) > 320:
            raise InvalidCredentials()
        norm = normalise_email(email)
        account_later = self.store.account_by_email_later(norm)  # beside the throttle look-ups
        wait, seen = self.store.throttle_read(norm, client_ip)
        account = account_later()
        if wait > 0:
            raise Throttled.after(wait)
        if not passwords.verify_password(account["password_hash"] if account else None, password):
            self._failure(norm, account, client_ip)
            raise InvalidCredentials()
        self.store.record_success(norm, seen)
        self._maybe_rehash(account, password)
        return account

    def _password_matches(self, account: dict, password, client_ip) -> bool:
        """Re-confirmation of a known account's password, counted like a login."""
        wait = self.store.throttle_state(account["email_norm"], client_ip)
        if wait > 0:
            raise Throttled.after(wait)
        if not isinstance(password, str) or not passwords.verify_password(account["password_hash"], password):
            self._failure(account["email_norm"], account, client_ip)
            return False
        self.store.record_success(account["email_norm"])
        self._maybe_rehash(account, password)
        return True

    def _failure(self, norm: str, account: dict | None, client_ip) -> None:
        def lockout_event(locked_until):
            if account is None or locked_until is None:
                return None
            return mail_event("login_locked_out", {**self._recipient(account), "locked_until": _iso(locked_until)})

        result = self.store.record_failure(norm, client_ip, lockout_event)
        if result["notified"]:
            self.outbox.kick()
            self._event("login_locked_out", {"account_id": account["_id"],
                                             "locked_until": _iso(result["locked_until"])})

    def _event(self, event_type: str, payload: dict) -> None:
        """A nameko event (users writes it into the audit log of the person's companies)."""
        try:
            self.dispatch(event_type, envelope(event_type, payload))
        except Exception as exc:  # audit only: the change itself is done and the e-mails are in the outbox
            log.warning("event not dispatched", extra={"event": event_type, "error": exc.__class__.__name__})

    def _maybe_rehash(self, account: dict, password: str) -> None:
        if passwords.needs_rehash(account["password_hash"]):
            self.store.upgrade_hash(account["_id"], account["password_hash"], passwords.hash_password(password))

    def _set_password(self, account: dict, new_password: str, via: str) -> None:
        event = mail_event("password_changed", {**self._recipient(account), "changed_at": _iso(clock.now()),
                                                "via": via})
        self.store.set_password(account["_id"], passwords.hash_password(new_password), event)
        self.outbox.kick()

    def _consume(self, token, kind: str) -> dict:
        if not isinstance(token, str) or not 20 <= len(token) <= 200:
            raise InvalidToken()
        doc = self.store.consume_onetime(tokens.digest(token), kind)
        if doc is None:
            raise InvalidToken()
        return doc

    def _open_session(self, account_id: str, device_id: str | None) -> dict:
        session_id = new_id()
        refresh = tokens.refresh_secret(session_id)
        self.store.open_session(account_id, device_id, tokens.digest(refresh), session_id)
        return tokens.pair(tokens.access_token(account_id, session_id, device_id), refresh)

    def _end_sessions(self, *, account_id=None, device_id=None, session_ids=None, except_session=None,
                      reason: str, cutoff_account: bool = False) -> int:
        """End sessions, remember the revocations, and tell every gateway worker at once."""
        sessions = self.store.end_sessions(account_id=account_id, device_id=device_id, session_ids=session_ids,
                                           except_session=except_session, reason=reason)
        now = time.time()
        until = now + tokens.REVOCATION_TTL
        entries = [{"sid": s["_id"], "until": until} for s in sessions]
        if device_id:
            entries.append({"did": device_id, "until": until})
        if cutoff_account and account_id:
            entries.append({"sub": account_id, "before": int(now), "until": until})
        if entries:
            self.store.add_revocations(entries)
            try:
                self.feed({"kind": "revocation", "data": {"entries": entries}})
            except Exception as exc:  # the revocations are stored: gateways re-sync when they reconnect
                log.warning("revocation feed publish failed", extra={"error": exc.__class__.__name__})
        return len(sessions)

    def _account_changed(self, account_id: str) -> None:
        """Every gateway worker forgets its copy of this account's profile (GET /me), before we answer."""
        try:
            self.feed({"kind": "account", "data": {"account_id": account_id}})
        except Exception as exc:  # gateways keep a copy for at most a minute, and drop all on reconnect
            log.warning("account feed publish failed", extra={"error": exc.__class__.__name__})

    def _users_call(self, method: str, *args, quiet: bool = False, **kwargs):
        try:
            with eventlet.Timeout(USERS_TIMEOUT):
                return getattr(self.users, method).call_async(*args, **kwargs).result()
        except RemoteError:
            if quiet:
                return None
            raise
        except eventlet.Timeout:
            if quiet:
                return None
            raise Unavailable() from None

