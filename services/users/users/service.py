"""The users service: companies, memberships, roles, invitations, ownership and the audit log.

Each entry point hands its work to its flow's module, passing the worker (store, feed, outbox, RPC
proxies); there, members.require checks that the actor's role allows it (the gateway asks first).
"""
from nameko.events import event_handler
from nameko.rpc import RpcProxy, rpc
from nameko.timer import timer

from kadra_defaults.contracts.publishing import Feed
from kadra_defaults.health import HealthMixin
from kadra_defaults.outbox import Outbox
from kadra_defaults.providers import RequestId
from kadra_defaults.storage import expired_leases, sweep_attempts, sweep_claims

from users import audit, companies, invitations, members, ownership, policy, roles
from users.exceptions import EXPECTED
from users.storage import AUDIT, INVITATIONS, TRANSFERS, users_store


class UsersService(HealthMixin):
    """RPC entry points of users, each handed to its flow's module."""

    name = "users"

    store = users_store()
    request_id = RequestId()
    outbox = Outbox(collections=(INVITATIONS, TRANSFERS, AUDIT), service="users")
    feed = Feed()
    identity = RpcProxy("identity")
    notify = RpcProxy("notify")

    # the role catalogue and companies (companies.py)

    @rpc
    def list_roles(self, locale=None):
        """The role catalogue as GET /roles serves it."""
        return roles.catalogue(locale)

    @rpc(expected_exceptions=EXPECTED)
    def create_company(self, owner_account_id, name, creation_key=None):
        """A company whose owner is the caller; the same creation_key always answers the same company."""
        return companies.create(self, owner_account_id, name, creation_key)

    @rpc
    def companies_of(self, account_id):
        """Every company the person belongs to, with their role: [{company_id, name, role}]."""
        return companies.of_account(self, account_id)

    @rpc(expected_exceptions=EXPECTED)
    def get_company(self, company_id, actor_account_id):
        """The company's data (name, NIP, REGON, address, contacts) for a member with company.read."""
        return companies.get(self, company_id, actor_account_id)

    @rpc(expected_exceptions=EXPECTED)
    def update_company(self, company_id, actor_account_id, changes):
        """Change the company's data (company.settings); every changed field is in the audit log."""
        return companies.update(self, company_id, actor_account_id, changes)

    @rpc(expected_exceptions=EXPECTED)
    def list_members(self, company_id, actor_account_id):
        """The guide's users table: members (owner first, then by joining) and pending invitations."""
        return companies.roster(self, company_id, actor_account_id)

    @rpc(expected_exceptions=EXPECTED)
    def set_second_factor_policy(self, company_id, actor_account_id, required):
        """The owner requires a second factor of every member (or stops): {required, changed_at} (policy.py)."""
        return policy.set_required(self, company_id, actor_account_id, required)

    # members and roles (members.py)

    @rpc
    def membership(self, company_id, account_id):
        """{role, permissions} of the person in the company, or None (what the gateway caches)."""
        return members.membership(self, company_id, account_id)

    @rpc
    def check_permission(self, company_id, account_id, permission):
        """Whether the person is a member of the company whose role grants the permission."""
        return members.has_permission(self, company_id, account_id, permission)

    @rpc(expected_exceptions=EXPECTED)
    def change_role(self, company_id, actor_account_id, account_id, role):
        """Change a member's role: users.manage, a role the actor manages, never the owner's."""
        return members.change_role(self, company_id, actor_account_id, account_id, role)

    @rpc(expected_exceptions=EXPECTED)
    def remove_member(self, company_id, actor_account_id, account_id):
        """Remove a member (users.manage over their role, or leaving oneself); never the owner."""
        return members.remove(self, company_id, actor_account_id, account_id)

    # invitations (invitations.py)

    @rpc(expected_exceptions=EXPECTED)
    def invite(self, company_id, actor_account_id, email, role, locale="pl"):
        """Invite an address with one role; one pending invitation per address; e-mail via the outbox."""
        return invitations.invite(self, company_id, actor_account_id, email, role, locale)

    @rpc(expected_exceptions=EXPECTED)
    def list_invitations(self, company_id, actor_account_id):
        """Pending invitations with the delivery status of their latest e-mail (from notify)."""
        return invitations.pending(self, company_id, actor_account_id)

    @rpc(expected_exceptions=EXPECTED)
    def resend_invitation(self, company_id, actor_account_id, invitation_id):
        """A new link (valid 7 days from now) by e-mail; the old link stops working."""
        return invitations.resend(self, company_id, actor_account_id, invitation_id)

    @rpc(expected_exceptions=EXPECTED)
    def revoke_invitation(self, company_id, actor_account_id, invitation_id):
        """Withdraw a pending invitation: its link stops working."""
        return invitations.revoke(self, company_id, actor_account_id, invitation_id)

    @rpc(expected_exceptions=EXPECTED)
    def invitation_for_token(self, token):
        """What a still-valid invitation link is for: {invitation_id, company_id, company_name, email, role}."""
        return invitations.for_token(self, token)

    @rpc(expected_exceptions=EXPECTED)
    def accept_invitation(self, token, account_id):
        """Join the company with the invited role; the link works once, for the invited address only."""
        return invitations.accept(self, token, account_id)

    # ownership (ownership.py)

    @rpc(expected_exceptions=EXPECTED)
    def request_ownership_transfer(self, company_id, actor_account_id, account_id):
        """The owner offers the company to a member; the member accepts by the e-mailed link."""
        return ownership.request(self, company_id, actor_account_id, account_id)

    @rpc(expected_exceptions=EXPECTED)
    def accept_ownership(self, token, account_id):
        """The new owner accepts: they become owner, the old owner becomes manager, in one guarded sequence."""
        return ownership.accept(self, token, account_id)

    # the audit log, and the other services' events written into it (audit.py)

    @rpc(expected_exceptions=EXPECTED)
    def audit_log(self, company_id, actor_account_id, page=1, per_page=50):
        """Newest first, paged: {items, page, per_page, total}; actors and subjects with names."""
        return audit.page(self, company_id, actor_account_id, page, per_page)

    @event_handler("devices", "device_paired")
    def on_device_paired(self, message):
        """A trusted device was activated: an entry in the log of each of the person's companies."""
        audit.record_everywhere(self, "device_paired", message)

    @event_handler("devices", "device_removed")
    def on_device_removed(self, message):
        """The trusted device was removed: an entry in the log of each of the person's companies."""
        audit.record_everywhere(self, "device_removed", message)

    @event_handler("devices", "device_blocked")
    def on_device_blocked(self, message):
        """Wrong PINs blocked the trusted device: an entry in the log of each of the person's companies."""
        audit.record_everywhere(self, "device_blocked", message)

    @event_handler("devices", "device_unblocked")
    def on_device_unblocked(self, message):
        """The person unblocked the device: an entry in the log of each of the person's companies."""
        audit.record_everywhere(self, "device_unblocked", message)

    @event_handler("identity", "email_changed")
    def on_email_changed(self, message):
        """The login address changed (or a change was undone): logged, and the person's users tables go stale."""
        audit.email_changed(self, message)

    @event_handler("identity", "password_changed")
    def on_password_changed(self, message):
        """The password changed (by the person, or by a reset link): logged in each of their companies."""
        audit.record_everywhere(self, "password_changed", message)

    @event_handler("identity", "second_factor_changed")
    def on_second_factor_changed(self, message):
        """A second factor was turned on or off: the copy the company policy reads, then logged in each of the
        person's companies."""
        policy.factor_changed(self, message)
        audit.record_everywhere(self, "second_factor_changed", message)

    @event_handler("identity", "login_locked_out")
    def on_login_locked_out(self, message):
        """Too many wrong passwords: an entry in the log of each of the person's companies."""
        audit.record_everywhere(self, "login_locked_out", message)

    @timer(interval=300)
    def sweep(self):
        """Forget expired claims, abuse-limit counts and crashed holders' leases (kadra_defaults.storage)."""
        sweep_attempts(self.store.db)
        sweep_claims(self.store.db)
        expired_leases(self.store.db)
