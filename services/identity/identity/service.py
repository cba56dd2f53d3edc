"""The identity service: accounts, passwords, sessions and one-time tokens — its table of contents.

Each entrypoint delegates to its flow, passing the worker (`self`) as `deps`: its `store`
(identity.storage), `outbox` (e-mail), `events` (audit events), `feed` (gateway feed), `users` and `devices`.

  signup        sign_up (a link by e-mail), confirm_sign_up (account + company through users),
                create_invited_account, finish_pending_signups
  sessions      login, open_session, refresh, logout, end_sessions, revocations, check_access
  passwords     verify_credentials, check_password, change_password (counted checks, lockout)
  recovery      request_password_reset, reset_password
  email_change  request_email_change, confirm_email_change, revert_email_change
  accounts      get_accounts, find_account, update_profile
  second_factor login's second step (complete_login), second_factor_status, begin_totp, confirm_totp,
                disable_totp, second_factors_of
  phone_factor  enable_phone, disable_phone (approval on the trusted phone, on and off)
  approvals     login_approvals, decide_login (the trusted phone approves a web login; devices calls these
                after checking the phone's signature and PIN)
Account answers are {account_id, email, full_name, locale}.
"""
from nameko.rpc import RpcProxy, rpc
from nameko.timer import timer

from kadra_defaults.contracts.publishing import Events, Feed
from kadra_defaults.health import HealthMixin
from kadra_defaults.limits import RateLimited
from kadra_defaults.outbox import Outbox
from kadra_defaults.providers import RequestId
from kadra_defaults.storage import Mongo

from identity import (accounts, approvals, email_change, passwords, phone_factor, recovery, second_factor, sessions,
                      signup)
from identity.exceptions import (AccountNotFound, AlreadyDecided, ApprovalExpired, ApprovalNotFound, EmailTaken,
                                 InvalidCredentials, InvalidInput, InvalidSecondFactor, InvalidSession, InvalidToken,
                                 LoginDenied, Throttled, Unavailable)
from identity.storage import OUTBOX_COLLECTIONS, IdentityStore


class IdentityService(HealthMixin):
    """RPC entry points of identity."""

    name = "identity"

    store = Mongo(IdentityStore, service="identity")
    request_id = RequestId()
    outbox = Outbox(collections=OUTBOX_COLLECTIONS, service="identity")
    events = Events()
    feed = Feed()
    users = RpcProxy("users")
    devices = RpcProxy("devices")  # recovery removes the trusted device (recovery.end_trusted_device)

    # -- sign-up -----------------------------------------------------------------------------------

    @rpc(expected_exceptions=(InvalidInput, RateLimited))
    def sign_up(self, email, password, full_name, company_name, locale="pl", client_ip=None):
        """None, whatever the address: a new one gets a confirmation link, a taken one a notice to its owner."""
        signup.request(self, email, password, full_name, company_name, locale, client_ip)

    @rpc(expected_exceptions=(InvalidToken, InvalidInput, Unavailable))
    def confirm_sign_up(self, token):
        return signup.confirm(self, token)

    @rpc(expected_exceptions=(InvalidInput, EmailTaken))
    def create_invited_account(self, email, password, full_name, locale="pl"):
        return signup.create_invited(self, email, password, full_name, locale)

    @timer(interval=30)
    def finish_pending_signups(self):
        signup.finish_pending(self)

    # -- sessions ----------------------------------------------------------------------------------

    @rpc(expected_exceptions=(InvalidInput, InvalidCredentials, Throttled, Unavailable))
    def login(self, email, password, client_ip=None, user_agent=None):
        """A token pair; for an account with a second factor, a pending login (second_factor.login)."""
        return second_factor.login(self, email, password, client_ip, user_agent)

    @rpc(expected_exceptions=(InvalidInput, InvalidToken, InvalidSecondFactor, Throttled, AccountNotFound,
                              LoginDenied, ApprovalExpired))
    def complete_login(self, pending_token, code=None, recovery_code=None, client_ip=None, via=None):
        """The token pair for a right code; `via="phone"`: the web's poll of a login waiting for the phone."""
        return second_factor.complete_login(self, pending_token, code, recovery_code, client_ip, via)

    @rpc(expected_exceptions=(AccountNotFound,))
    def open_session(self, account_id, device_id=None):
        return sessions.open_for(self, account_id, device_id)

    @rpc(expected_exceptions=(InvalidSession,))
    def refresh(self, refresh_token):
        return sessions.refresh(self, refresh_token)

    @rpc
    def logout(self, account_id, session_id, refresh_token=None):
        sessions.logout(self, account_id, session_id, refresh_token)

    @rpc(expected_exceptions=(InvalidInput,))
    def end_sessions(self, account_id=None, device_id=None):
        return sessions.end_for(self, account_id, device_id)

    @rpc
    def revocations(self):
        """Every live revocation: [{"sid"|"did"|"sub": id, "until": epoch, "before"?: epoch}]."""
        return self.store.revocations.live()

    @rpc
    def check_access(self, sid, sub, did=None, iat=0):
        return sessions.check_access(self, sid, sub, did, iat)

    # -- passwords ---------------------------------------------------------------------------------

    @rpc(expected_exceptions=(InvalidInput, InvalidCredentials, InvalidSecondFactor, Throttled, Unavailable))
    def verify_credentials(self, email, password, client_ip=None, codes=None):
        """The account's view for a right password; with `codes` (activating a phone) TOTP's code too."""
        return accounts.view(second_factor.verify_credentials(self, email, password, client_ip, codes))

    @rpc(expected_exceptions=(Throttled, AccountNotFound))
    def check_password(self, account_id, password, client_ip=None):
        return passwords.confirm(self, accounts.active(self, account_id), password, client_ip)

    @rpc(expected_exceptions=(InvalidInput, Throttled, AccountNotFound))
    def change_password(self, account_id, session_id, current_password, new_password, client_ip=None):
        passwords.change(self, account_id, session_id, current_password, new_password, client_ip)

    # -- recovery ----------------------------------------------------------------------------------

    @rpc(expected_exceptions=(InvalidInput, RateLimited))
    def request_password_reset(self, email, client_ip=None):
        recovery.request_reset(self, email, client_ip)

    @rpc(expected_exceptions=(InvalidInput, InvalidToken, Unavailable))
    def reset_password(self, token, new_password):
        recovery.reset(self, token, new_password)

    # -- e-mail (login) change ---------------------------------------------------------------------

    @rpc(expected_exceptions=(InvalidInput, Throttled, AccountNotFound, RateLimited))
    def request_email_change(self, account_id, new_email, password, client_ip=None):
        email_change.request(self, account_id, new_email, password, client_ip)

    @rpc(expected_exceptions=(InvalidToken,))
    def confirm_email_change(self, token):
        email_change.confirm(self, token)

    @rpc(expected_exceptions=(InvalidToken, Unavailable))
    def revert_email_change(self, token):
        email_change.revert(self, token)

    # -- second factor -----------------------------------------------------------------------------

    @rpc
    def second_factor_status(self, account_id):
        return second_factor.status(self, account_id)

    @rpc(expected_exceptions=(InvalidInput,))
    def second_factors_of(self, account_ids):
        """{account_id: [methods on]}: what the users service's copy starts from (company policy, users table)."""
        return second_factor.methods_of(self, account_ids)

    @rpc(expected_exceptions=(InvalidInput, AccountNotFound))
    def begin_totp(self, account_id):
        return second_factor.begin(self, account_id)

    @rpc(expected_exceptions=(InvalidInput, AccountNotFound))
    def confirm_totp(self, account_id, code):
        return second_factor.confirm(self, account_id, code)

    @rpc(expected_exceptions=(InvalidInput, Throttled, AccountNotFound))
    def disable_totp(self, account_id, password, code=None, recovery_code=None, client_ip=None):
        second_factor.disable(self, account_id, password, code, recovery_code, client_ip)

    @rpc(expected_exceptions=(InvalidInput, Throttled, AccountNotFound, Unavailable))
    def enable_phone(self, account_id, password, code=None, recovery_code=None, client_ip=None):
        phone_factor.enable(self, account_id, password, code, recovery_code, client_ip)

    @rpc(expected_exceptions=(InvalidInput, InvalidToken, Throttled, AccountNotFound, Unavailable, LoginDenied,
                              ApprovalExpired))
    def disable_phone(self, account_id, password=None, code=None, recovery_code=None, client_ip=None,
                      pending_token=None, user_agent=None):
        return phone_factor.disable(self, account_id, password, code, recovery_code, client_ip, pending_token,
                                     user_agent)

    # -- approvals on the trusted phone (devices checked the phone first) --------------------------

    @rpc
    def login_approvals(self, account_id):
        return approvals.open_for(self, account_id)

    @rpc(expected_exceptions=(InvalidInput, ApprovalNotFound, AlreadyDecided, ApprovalExpired))
    def decide_login(self, account_id, device_id, approval_id, decision, number=None):
        return approvals.decide(self, account_id, device_id, approval_id, decision, number)

    # -- accounts ----------------------------------------------------------------------------------

    @rpc
    def get_accounts(self, account_ids):
        return accounts.many(self, account_ids)

    @rpc
    def find_account(self, email):
        return accounts.find(self, email)

    @rpc(expected_exceptions=(InvalidInput, AccountNotFound))
    def update_profile(self, account_id, full_name=None, locale=None):
        return accounts.update_profile(self, account_id, full_name, locale)

    @timer(interval=300)
    def sweep(self):
        self.store.sweep()
