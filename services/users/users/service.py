"""The users service: companies, memberships, roles, invitations, ownership and the audit log.

Every RPC that acts for a person takes `actor_account_id` and checks, here, that the actor is a
member whose role allows it (the gateway's cache answers first, this is the authority). A
company the actor does not belong to is `NotFound`, never `Forbidden`: nobody learns that
another company exists.
"""
import hashlib
import secrets
from datetime import timedelta

from nameko.events import event_handler
from nameko.rpc import RpcProxy, rpc

from kadra_defaults import clock
from kadra_defaults.contracts.publishing import Feed
from kadra_defaults.health import HealthMixin
from kadra_defaults.outbox import Outbox, mail_event, outbox_fields, with_outbox
from kadra_defaults.providers import RequestId

from users import roles, schemas
from users.exceptions import EXPECTED, Conflict, Forbidden, InvalidInput, NotFound, TokenInvalid
from users.storage import AUDIT, INVITATIONS, TRANSFERS, users_store

INVITATION_DAYS = 7
TRANSFER_DAYS = 7
TOKEN_BYTES = 32  # 256 bits

# Events of other services that change a person's access, written into each of their companies' logs.
FOREIGN_AUDIT_EVENTS = (("devices", "device_paired"), ("devices", "device_removed"),
                        ("identity", "email_changed"), ("identity", "login_locked_out"))


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _new_token() -> tuple[str, str]:
    token = secrets.token_urlsafe(TOKEN_BYTES)
    return token, _hash(token)


def _iso(value):
    return value.isoformat() if value is not None else None


def _company_view(company: dict) -> dict:
    return {"company_id": company["_id"], **{k: company.get(k) for k in
                                             ("name", "nip", "regon", "address", "contact_email", "contact_phone")}}


def _entry_view(entry: dict) -> dict:
    return {"entry_id": entry["_id"], "action": entry["action"], "at": _iso(entry["at"]),
            "actor_account_id": entry.get("actor_account_id"), "subject_account_id": entry.get("subject_account_id"),
            "subject_email": entry.get("subject_email"), "details": entry.get("details") or {}}


class UsersService(HealthMixin):
    """RPC entry points of users."""

    name = "users"

    store = users_store()
    request_id = RequestId()
    outbox = Outbox(collections=(INVITATIONS, TRANSFERS, AUDIT), service="users")
    feed = Feed()
    identity = RpcProxy("identity")
    notify = RpcProxy("notify")

    # the role catalogue and companies

    @rpc
    def list_roles(self, locale=None):
        """The role catalogue as GET /roles serves it."""
        return roles.catalogue(locale)

    @rpc(expected_exceptions=EXPECTED)
    def create_company(self, owner_account_id, name, creation_key=None):
        """A company whose owner is the caller; the same creation_key always answers the same company."""
        data = schemas.load(schemas.CompanyCreateSchema(), {"name": name})
        if not isinstance(owner_account_id, str) or not owner_account_id:
            raise InvalidInput("An account id is required.", "Wymagany identyfikator konta.", field="owner_account_id")
        key = creation_key if isinstance(creation_key, str) and creation_key else secrets.token_hex(16)
        now = clock.now()
        company, created = self.store.create_company(owner_account_id, data["name"].strip(), key, now)
        if created:
            self.store.audit(company["_id"], "company_created", now, actor_account_id=owner_account_id,
                             subject_account_id=owner_account_id, details={"name": company["name"]},
                             entry_id=f"created:{company['_id']}")
        self.feed.membership_changed(company["_id"], owner_account_id)
        return {"company_id": company["_id"]}

    @rpc
    def companies_of(self, account_id):
        """Every company the person belongs to, with their role: [{company_id, name, role}]."""
        memberships = self.store.memberships_of(account_id)
        companies = self.store.companies(m["company_id"] for m in memberships)
        return [{"company_id": m["company_id"], "name": companies[m["company_id"]]["name"], "role": m["role"]}
                for m in memberships if m["company_id"] in companies]

    @rpc
    def membership(self, company_id, account_id):
        """{role, permissions} of the person in the company, or None (what the gateway caches)."""
        found = self.store.membership(company_id, account_id)
        if found is None:
            return None
        return {"role": found["role"], "permissions": sorted(roles.ROLES[found["role"]].permissions)}

    @rpc
    def check_permission(self, company_id, account_id, permission):
        """Whether the person is a member of the company whose role grants the permission."""
        found = self.store.membership(company_id, account_id)
        return found is not None and roles.has_permission(found["role"], permission)

    @rpc(expected_exceptions=EXPECTED)
    def get_company(self, company_id, actor_account_id):
        """The company's data (name, NIP, REGON, address, contacts) for a member with company.read."""
        self._require(company_id, actor_account_id, "company.read")
        return _company_view(self.store.get_company(company_id))

    @rpc(expected_exceptions=EXPECTED)
    def update_company(self, company_id, actor_account_id, changes):
        """Change the company's data (company.settings); every changed field is in the audit log."""
        self._require(company_id, actor_account_id, "company.settings")
        data = schemas.normalize_company_changes(schemas.load(schemas.CompanyPatchSchema(), changes))
        now = clock.now()
        result = self.store.update_company(company_id, data, now)
        if result is None:
            raise NotFound()
        before, after = result
        changed = {k: {"from": before.get(k), "to": after.get(k)} for k in data if before.get(k) != after.get(k)}
        if changed:
            self.store.audit(company_id, "company_updated", now, actor_account_id=actor_account_id,
                             details={"changes": changed})
        if "name" in changed:
            # Every member's "my companies" (GET /me) names the company: the gateway's copies go.
            self.feed.membership_changed(company_id)
        return _company_view(after)

    # members

    @rpc(expected_exceptions=EXPECTED)
    def list_members(self, company_id, actor_account_id):
        """The guide's table: members (owner first, then by joining) and pending invitations.

        Served from the company's stored copy of the table (two key look-ups) while it is current;
        rebuilt from the memberships, the invitations and identity's names otherwise (storage.py).
        """
        if not isinstance(company_id, str):
            raise NotFound()
        rows, stamp = self.store.roster(company_id)
        if rows is None:
            rows = self._build_roster(company_id)
            self.store.save_roster(company_id, stamp, rows)
        actor = next((r for r in rows if r["account_id"] == actor_account_id and r["status"] == "active"), None)
        if actor is None:
            raise NotFound()
        if not roles.has_permission(actor["role"], "users.read"):
            raise Forbidden()
        return rows

    def _build_roster(self, company_id):
        members = self.store.members(company_id)
        # names and e-mails come from identity while we read the invitations
        reply = self.identity.get_accounts.call_async([m["account_id"] for m in members]) if members else None
        invitations = self.store.pending_invitations(company_id)
        accounts = {a["account_id"]: a for a in reply.result()} if reply is not None else {}
        rows = []
        for member in members:
            account = accounts.get(member["account_id"], {})
            rows.append({"account_id": member["account_id"], "full_name": account.get("full_name"),
                         "email": account.get("email"), "role": member["role"], "status": "active",
                         "joined_at": _iso(member["joined_at"]), "invitation_id": None})
        for invitation in invitations:
            rows.append({"account_id": None, "full_name": None, "email": invitation["email"],
                         "role": invitation["role"], "status": "invited", "joined_at": None,
                         "invitation_id": invitation["_id"]})
        for number, row in enumerate(rows, start=1):
            row["no"] = number
            row["role_label_pl"] = roles.label(row["role"], "pl")
            row["role_label_en"] = roles.label(row["role"], "en")
        return rows

    @rpc(expected_exceptions=EXPECTED)
    def change_role(self, company_id, actor_account_id, account_id, role):
        """Change a member's role: users.manage, a role the actor manages, never the owner's."""
        actor = self._require(company_id, actor_account_id, "users.manage")
        new_role = schemas.load(schemas.RoleChangeSchema(), {"role": role})["role"]
        if not roles.can_manage(actor["role"], new_role):
            raise Forbidden()
        now = clock.now()
        before = self.store.change_role(company_id, account_id, new_role, roles.ROLES[actor["role"]].manages, now)
        if before is None:
            self._explain_untouchable(company_id, account_id)
        self.feed.membership_changed(company_id, account_id)
        if before["role"] != new_role:
            mail = self._notice(company_id, account_id, actor_account_id, "role_changed",
                                old_role=before["role"], new_role=new_role)
            self.store.audit(company_id, "role_changed", now, actor_account_id=actor_account_id,
                             subject_account_id=account_id, details={"from": before["role"], "to": new_role},
                             mail=mail)
            self.outbox.kick()
        return {"account_id": account_id, "role": new_role}

    @rpc(expected_exceptions=EXPECTED)
    def remove_member(self, company_id, actor_account_id, account_id):
        """Remove a member (users.manage over their role, or leaving oneself); never the owner."""
        actor = self._require(company_id, actor_account_id, None)
        if account_id == actor_account_id:
            manageable = {actor["role"]} - {"owner"}
        elif roles.has_permission(actor["role"], "users.manage"):
            manageable = set(roles.ROLES[actor["role"]].manages)
        else:
            raise Forbidden()
        removed = self.store.remove_member(company_id, account_id, manageable)
        if removed is None:
            self._explain_untouchable(company_id, account_id)
        now = clock.now()
        self.feed.membership_changed(company_id, account_id)
        mail = None
        if account_id != actor_account_id:
            mail = self._notice(company_id, account_id, actor_account_id, "member_removed")
        self.store.audit(company_id, "member_removed", now, actor_account_id=actor_account_id,
                         subject_account_id=account_id, details={"role": removed["role"]}, mail=mail)
        self.outbox.kick()
        return {"account_id": account_id}

    # invitations

    @rpc(expected_exceptions=EXPECTED)
    def invite(self, company_id, actor_account_id, email, role, locale="pl"):
        """Invite an address with one role; one pending invitation per address; e-mail via the outbox."""
        actor = self._require(company_id, actor_account_id, "users.manage")
        data = schemas.load(schemas.InviteSchema(), {"email": email, "role": role, "locale": locale or "pl"})
        if not roles.can_manage(actor["role"], data["role"]):
            raise Forbidden()
        address = schemas.normalize_email(data["email"])
        existing = self.identity.find_account(address)
        if existing and self.store.membership(company_id, existing["account_id"]):
            raise Conflict.already_member()
        now = clock.now()
        token, token_hash = _new_token()
        expires_at = now + timedelta(days=INVITATION_DAYS)
        company = self.store.get_company(company_id)
        event = self._invitation_mail(company, actor_account_id, address, data["role"], token, expires_at,
                                      existing, data["locale"])
        invitation = self.store.create_invitation(company_id, address, data["role"], actor_account_id, token_hash,
                                                  expires_at, now, extra=outbox_fields(event))
        if invitation is None:
            raise Conflict.already_invited()
        self.outbox.kick()
        self.store.audit(company_id, "member_invited", now, actor_account_id=actor_account_id,
                         subject_email=address, details={"role": data["role"], "invitation_id": invitation["_id"]})
        return {"invitation_id": invitation["_id"], "mail_event_id": event["id"], "expires_at": _iso(expires_at)}

    @rpc(expected_exceptions=EXPECTED)
    def list_invitations(self, company_id, actor_account_id):
        """Pending invitations with the delivery status of their latest e-mail (from notify)."""
        self._require(company_id, actor_account_id, "users.read")
        pending = self.store.pending_invitations(company_id)
        latest = [i["mail_event_ids"][-1] for i in pending if i.get("mail_event_ids")]
        statuses = {}
        if latest:
            try:
                statuses = self.notify.delivery_status(latest) or {}
            except Exception:  # notify down or not answering: the list still shows, status unknown
                statuses = {}
        out = []
        for invitation in pending:
            event_id = invitation["mail_event_ids"][-1] if invitation.get("mail_event_ids") else None
            delivery = statuses.get(event_id) if event_id else None
            out.append({"invitation_id": invitation["_id"], "email": invitation["email"], "role": invitation["role"],
                        "invited_by": invitation["invited_by"], "created_at": _iso(invitation["created_at"]),
                        "sent_at": _iso(invitation.get("sent_at")), "expires_at": _iso(invitation["expires_at"]),
                        "expired": invitation["expires_at"] <= clock.now(),
                        "delivery": delivery or {"status": "unknown"}, "mail_event_id": event_id})
        return out

    @rpc(expected_exceptions=EXPECTED)
    def resend_invitation(self, company_id, actor_account_id, invitation_id):
        """A new link (valid 7 days from now) by e-mail; the old link stops working."""
        actor = self._require(company_id, actor_account_id, "users.manage")
        invitation = self.store.invitation(company_id, invitation_id)
        if invitation is None or invitation["status"] != "pending":
            raise NotFound()
        if not roles.can_manage(actor["role"], invitation["role"]):
            raise Forbidden()
        now = clock.now()
        token, token_hash = _new_token()
        expires_at = now + timedelta(days=INVITATION_DAYS)
        existing = self.identity.find_account(invitation["email"])
        event = self._invitation_mail(self.store.get_company(company_id), actor_account_id, invitation["email"],
                                      invitation["role"], token, expires_at, existing, "pl")
        renewed = self.store.renew_invitation(invitation, token_hash, expires_at, now, event)
        if renewed is None:
            raise Conflict()
        self.outbox.kick()
        self.store.audit(company_id, "invitation_resent", now, actor_account_id=actor_account_id,
                         subject_email=invitation["email"], details={"invitation_id": invitation_id})
        return {"invitation_id": invitation_id, "mail_event_id": event["id"], "expires_at": _iso(expires_at)}

    @rpc(expected_exceptions=EXPECTED)
    def revoke_invitation(self, company_id, actor_account_id, invitation_id):
        """Withdraw a pending invitation: its link stops working."""
        actor = self._require(company_id, actor_account_id, "users.manage")
        invitation = self.store.invitation(company_id, invitation_id)
        if invitation is None or invitation["status"] != "pending":
            raise NotFound()
        if not roles.can_manage(actor["role"], invitation["role"]):
            raise Forbidden()
        now = clock.now()
        if self.store.revoke_invitation(company_id, invitation_id, now) is None:
            raise NotFound()
        self.store.audit(company_id, "invitation_revoked", now, actor_account_id=actor_account_id,
                         subject_email=invitation["email"], details={"invitation_id": invitation_id})
        return {"invitation_id": invitation_id}

    @rpc(expected_exceptions=EXPECTED)
    def invitation_for_token(self, token):
        """What a still-valid invitation link is for: {invitation_id, company_id, company_name, email, role}."""
        invitation = self._valid_invitation(token)
        company = self.store.get_company(invitation["company_id"]) or {}
        return {"invitation_id": invitation["_id"], "company_id": invitation["company_id"],
                "company_name": company.get("name"), "email": invitation["email"], "role": invitation["role"],
                "expires_at": _iso(invitation["expires_at"])}

    @rpc(expected_exceptions=EXPECTED)
    def accept_invitation(self, token, account_id):
        """Join the company with the invited role; the link works once, for the invited address only."""
        invitation = self._valid_invitation(token)
        accounts = self.identity.get_accounts([account_id]) if isinstance(account_id, str) else []
        if not accounts or (accounts[0].get("email") or "").lower() != invitation["email"]:
            raise TokenInvalid.because("wrong_account")
        now = clock.now()
        if self.store.consume_invitation(invitation["_id"], _hash(token), account_id, now) is None:
            self._valid_invitation(token)  # explains why (used, revoked, expired, replaced) ...
            raise TokenInvalid.because("used")  # ... or someone else used it a moment ago
        company_id = invitation["company_id"]
        joined = self.store.add_membership(company_id, account_id, invitation["role"], now)
        self.feed.membership_changed(company_id, account_id)
        if joined:
            self.store.audit(company_id, "member_joined", now, actor_account_id=account_id,
                             subject_account_id=account_id, subject_email=invitation["email"],
                             details={"role": invitation["role"], "invitation_id": invitation["_id"]})
        member = self.store.membership(company_id, account_id)
        return {"company_id": company_id, "role": member["role"] if member else invitation["role"],
                "joined": joined}

    # ownership

    @rpc(expected_exceptions=EXPECTED)
    def request_ownership_transfer(self, company_id, actor_account_id, account_id):
        """The owner offers the company to a member; the member accepts by the e-mailed link."""
        self._require(company_id, actor_account_id, "ownership.transfer")
        if not isinstance(account_id, str) or account_id == actor_account_id:
            raise InvalidInput("Choose another member of the company.", "Wybierz innego członka firmy.",
                               field="account_id")
        if self.store.membership(company_id, account_id) is None:
            raise InvalidInput("Not a member of this company.", "To nie jest członek tej firmy.", field="account_id")
        now = clock.now()
        token, token_hash = _new_token()
        expires_at = now + timedelta(days=TRANSFER_DAYS)
        company = self.store.get_company(company_id)
        people = self._accounts([account_id, actor_account_id])
        to = people.get(account_id, {})
        event = mail_event("ownership_transfer_requested", {
            "to": to.get("email"), "locale": _locale(to), "full_name": to.get("full_name") or "",
            "company_name": company["name"], "from_name": people.get(actor_account_id, {}).get("full_name") or "",
            "token": token, "expires_at": expires_at})
        transfer = self.store.create_transfer(company_id, actor_account_id, account_id, token_hash, expires_at, now,
                                              extra=outbox_fields(event))
        self.outbox.kick()
        self.store.audit(company_id, "ownership_transfer_requested", now, actor_account_id=actor_account_id,
                         subject_account_id=account_id, details={"transfer_id": transfer["_id"]})
        return {"transfer_id": transfer["_id"], "expires_at": _iso(expires_at), "mail_event_id": event["id"]}

    @rpc(expected_exceptions=EXPECTED)
    def accept_ownership(self, token, account_id):
        """The new owner accepts: they become owner, the old owner becomes manager, in one guarded sequence."""
        transfer = self.store.transfer_by_token(_hash(token)) if isinstance(token, str) else None
        if transfer is None:
            raise TokenInvalid.because("unknown")
        if transfer["to_account_id"] != account_id:
            raise TokenInvalid.because("wrong_account")
        now = clock.now()
        if transfer["status"] != "pending":
            raise TokenInvalid.because("replaced" if transfer["status"] == "superseded" else "used")
        if transfer["expires_at"] <= now:
            raise TokenInvalid.because("expired")
        if self.store.consume_transfer(transfer["_id"], account_id, now) is None:
            raise TokenInvalid.because("used")
        company_id = transfer["company_id"]
        problem = self.store.transfer_ownership(company_id, transfer["from_account_id"], account_id, now)
        if problem is not None:
            raise Conflict.ownership_moved(problem)
        self.feed.membership_changed(company_id, account_id)
        self.feed.membership_changed(company_id, transfer["from_account_id"])
        self.store.audit(company_id, "ownership_transferred", now, actor_account_id=account_id,
                         subject_account_id=account_id,
                         details={"from_account_id": transfer["from_account_id"], "to_account_id": account_id})
        return {"company_id": company_id, "role": "owner"}

    # the audit log

    @rpc(expected_exceptions=EXPECTED)
    def audit_log(self, company_id, actor_account_id, page=1, per_page=50):
        """Newest first, paged: {items, page, per_page, total}; actors and subjects with names."""
        self._require(company_id, actor_account_id, "audit.read")
        query = schemas.load(schemas.AuditPageSchema(), {"page": page, "per_page": per_page})
        entries, total = self.store.audit_page(company_id, query["page"], query["per_page"])
        items = [_entry_view(e) for e in entries]
        ids = {i[k] for i in items for k in ("actor_account_id", "subject_account_id") if i.get(k)}
        people = self._accounts(sorted(ids)) if ids else {}
        for item in items:
            for key in ("actor", "subject"):
                person = people.get(item.get(f"{key}_account_id"))
                item[f"{key}_name"] = person.get("full_name") if person else None
                if key == "subject" and person and not item.get("subject_email"):
                    item["subject_email"] = person.get("email")
        return {"items": items, "page": query["page"], "per_page": query["per_page"], "total": total}

    @event_handler("devices", "device_paired")
    def on_device_paired(self, payload):
        self._audit_everywhere("device_paired", payload)

    @event_handler("devices", "device_removed")
    def on_device_removed(self, payload):
        self._audit_everywhere("device_removed", payload)

    @event_handler("identity", "email_changed")
    def on_email_changed(self, payload):
        self._audit_everywhere("email_changed", payload)
        # the person's row shows the new address: their companies' stored tables are stale now
        account_id = _account_of(payload)
        if account_id is not None:
            for membership in self.store.memberships_of(account_id):
                self.store.roster_changed(membership["company_id"])

    @event_handler("identity", "login_locked_out")
    def on_login_locked_out(self, payload):
        self._audit_everywhere("login_locked_out", payload)

    # helpers

    def _require(self, company_id, actor_account_id, permission):
        """The actor's membership; NotFound for non-members, Forbidden without the permission."""
        member = self.store.membership(company_id, actor_account_id)
        if member is None:
            raise NotFound()
        if permission is not None and not roles.has_permission(member["role"], permission):
            raise Forbidden()
        return member

    def _explain_untouchable(self, company_id, account_id):
        """Why a role change or removal matched nothing: no such member, the owner, or a role not managed."""
        target = self.store.membership(company_id, account_id)
        if target is None:
            raise NotFound()
        if target["role"] == "owner":
            raise Conflict.owner()
        raise Forbidden()

    def _valid_invitation(self, token):
        if not isinstance(token, str) or not token or len(token) > 200:
            raise TokenInvalid.because("unknown")
        invitation, superseded = self.store.invitation_by_token(_hash(token))
        if invitation is None:
            raise TokenInvalid.because("unknown")
        if invitation["status"] == "accepted":
            raise TokenInvalid.because("used")
        if invitation["status"] == "revoked":
            raise TokenInvalid.because("revoked")
        if superseded:
            raise TokenInvalid.because("replaced")
        if invitation["status"] != "pending" or invitation["expires_at"] <= clock.now():
            raise TokenInvalid.because("expired")
        return invitation

    def _accounts(self, account_ids) -> dict:
        try:
            return {a["account_id"]: a for a in self.identity.get_accounts(list(account_ids))}
        except Exception:  # names are a courtesy in notices and logs; never fail the change for them
            return {}

    def _invitation_mail(self, company, actor_account_id, address, role, token, expires_at, existing, locale):
        inviter = self._accounts([actor_account_id]).get(actor_account_id, {})
        locale = _locale(existing) if existing else (locale if locale in ("pl", "en") else "pl")
        return mail_event("member_invited", {
            "to": address, "locale": locale, "full_name": (existing or {}).get("full_name") or "",
            "company_name": company["name"], "inviter_name": inviter.get("full_name") or "",
            "role_label": roles.label(role, locale), "token": token, "expires_at": expires_at})

    def _notice(self, company_id, account_id, actor_account_id, event_type, old_role=None, new_role=None):
        """The envelope of a notice e-mail to the person concerned (None when we can't address it)."""
        people = self._accounts([account_id, actor_account_id])
        person = people.get(account_id)
        if not person or not person.get("email"):
            return None
        company = self.store.get_company(company_id)
        locale = _locale(person)
        actor_name = people.get(actor_account_id, {}).get("full_name") or ""
        payload = {"to": person["email"], "locale": locale, "full_name": person.get("full_name") or "",
                   "company_name": company["name"]}
        if event_type == "role_changed":
            payload.update(old_role_label=roles.label(old_role, locale), new_role_label=roles.label(new_role, locale),
                           changed_by_name=actor_name)
        else:
            payload.update(removed_by_name=actor_name)
        return mail_event(event_type, payload)

    def _audit_everywhere(self, action, message):
        """An entry in the log of every company the person belongs to (once per event id)."""
        account_id = _account_of(message)
        if account_id is None:
            return
        payload = message.get("payload") if isinstance(message.get("payload"), dict) else message
        event_id = message.get("id") or payload.get("id")
        details = {k: v for k, v in payload.items()
                   if k not in ("account_id", "token", "undo_token", "id", "occurred_at") and _plain(v)}
        now = clock.now()
        for membership in self.store.memberships_of(account_id):
            company_id = membership["company_id"]
            self.store.audit(company_id, action, now, actor_account_id=account_id, subject_account_id=account_id,
                             details=details, entry_id=f"{event_id}:{company_id}" if event_id else None)


def _account_of(message):
    """The account id of an event (an envelope or a bare payload), or None."""
    if not isinstance(message, dict):
        return None
    payload = message.get("payload") if isinstance(message.get("payload"), dict) else message
    account_id = payload.get("account_id")
    return account_id if isinstance(account_id, str) else None


def _locale(account) -> str:
    locale = ((account or {}).get("locale") or "pl").lower()[:2]
    return "en" if locale == "en" else "pl"


def _plain(value) -> bool:
    return isinstance(value, (str, int, float, bool)) or value is None
