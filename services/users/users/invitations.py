"""Invitations: invite an address with one role, list, resend, revoke, and accept the e-mailed link.

The link is a one-time token (links.py) valid INVITATION_DAYS; the e-mail travels in the same write
as the invitation (the outbox), so an invitation that exists has its e-mail on the way. One pending
invitation per address and company; the link works once, for the invited address only.

Accepting crosses into identity (see `accept`): who the accepting account is, identity says.

Every invitation e-mail, a first one or a re-send, goes from our domain to an address the inviter
chose and names a company the inviter named: at most KADRA_LIMIT_INVITATIONS_PER_INVITER_DAY per
inviter and KADRA_LIMIT_INVITATIONS_PER_COMPANY_DAY per company a day (kadra_defaults.limits: 429
with Retry-After), counted before the invitation is written.
"""
from datetime import timedelta

from kadra_defaults import clock, settings
from kadra_defaults.limits import DAY, Limit
from kadra_defaults.outbox import mail_event

from users import links, members, people, roles, schemas
from users.exceptions import Conflict, Forbidden, NotFound, TokenInvalid
from users.schemas import iso

INVITATION_DAYS = 7
PER_INVITER = Limit("invitations-inviter", "invitations sent by you", "zaproszeń wysłanych przez Ciebie", DAY)
PER_COMPANY = Limit("invitations-company", "invitations from this company", "zaproszeń z tej firmy", DAY)


def _count_e_mail(svc, company_id, actor_account_id):
    """One more invitation e-mail today: the inviter's count first (an inviter over their own limit spends
    nothing of the company's), then the company's; RateLimited when either is met."""
    current = settings.current()
    PER_INVITER.take(svc.store.db, actor_account_id, current.limit_invitations_per_inviter_day)
    PER_COMPANY.take(svc.store.db, company_id, current.limit_invitations_per_company_day)


def invite(svc, company_id, actor_account_id, email, role, locale):
    """users.manage, a role the actor manages; an existing member or a pending invitation is a Conflict."""
    actor = members.require(svc, company_id, actor_account_id, "users.manage")
    data = schemas.load(schemas.InviteSchema(), {"email": email, "role": role, "locale": locale or "pl"})
    if not roles.can_manage(actor["role"], data["role"]):
        raise Forbidden()
    address = schemas.normalize_email(data["email"])
    existing = svc.identity.find_account(address)
    if existing and svc.store.memberships.get(company_id, existing["account_id"]):
        raise Conflict.already_member()
    _count_e_mail(svc, company_id, actor_account_id)
    now = clock.now()
    token, token_hash = links.new_link()
    expires_at = now + timedelta(days=INVITATION_DAYS)
    company = svc.store.companies.get(company_id)
    event = _mail(svc, company, actor_account_id, address, data["role"], token, expires_at, existing, data["locale"])
    invitation = svc.store.invitations.create(company_id, address, data["role"], actor_account_id, token_hash,
                                              expires_at, now, events=(event,))
    if invitation is None:
        raise Conflict.already_invited()
    svc.outbox.kick()
    svc.store.audit.write(company_id, "member_invited", now, actor_account_id=actor_account_id,
                          subject_email=address, details={"role": data["role"], "invitation_id": invitation["_id"]})
    return {"invitation_id": invitation["_id"], "mail_event_id": event["id"], "expires_at": iso(expires_at)}


def pending(svc, company_id, actor_account_id):
    """Pending invitations (users.read) with the delivery status of their latest e-mail, from notify."""
    members.require(svc, company_id, actor_account_id, "users.read")
    found = svc.store.invitations.pending(company_id)
    latest = [i["mail_event_ids"][-1] for i in found if i.get("mail_event_ids")]
    statuses = {}
    if latest:
        try:
            statuses = svc.notify.delivery_status(latest) or {}
        except Exception:  # notify down or not answering: the list still shows, status unknown
            statuses = {}
    out = []
    for invitation in found:
        event_id = invitation["mail_event_ids"][-1] if invitation.get("mail_event_ids") else None
        delivery = statuses.get(event_id) if event_id else None
        out.append({"invitation_id": invitation["_id"], "email": invitation["email"], "role": invitation["role"],
                    "invited_by": invitation["invited_by"], "created_at": iso(invitation["created_at"]),
                    "sent_at": iso(invitation.get("sent_at")), "expires_at": iso(invitation["expires_at"]),
                    "expired": invitation["expires_at"] <= clock.now(),
                    "delivery": delivery or {"status": "unknown"}, "mail_event_id": event_id})
    return out


def resend(svc, company_id, actor_account_id, invitation_id):
    """A new link (valid INVITATION_DAYS from now) by e-mail; the old link stops working."""
    invitation = _manageable(svc, company_id, actor_account_id, invitation_id)
    _count_e_mail(svc, company_id, actor_account_id)
    now = clock.now()
    token, token_hash = links.new_link()
    expires_at = now + timedelta(days=INVITATION_DAYS)
    existing = svc.identity.find_account(invitation["email"])
    event = _mail(svc, svc.store.companies.get(company_id), actor_account_id, invitation["email"],
                  invitation["role"], token, expires_at, existing, "pl")
    if svc.store.invitations.renew(invitation, token_hash, expires_at, now, event) is None:
        raise Conflict()
    svc.outbox.kick()
    svc.store.audit.write(company_id, "invitation_resent", now, actor_account_id=actor_account_id,
                          subject_email=invitation["email"], details={"invitation_id": invitation_id})
    return {"invitation_id": invitation_id, "mail_event_id": event["id"], "expires_at": iso(expires_at)}


def revoke(svc, company_id, actor_account_id, invitation_id):
    """Withdraw a pending invitation: its link stops working."""
    invitation = _manageable(svc, company_id, actor_account_id, invitation_id)
    now = clock.now()
    if svc.store.invitations.revoke(company_id, invitation_id, now) is None:
        raise NotFound()
    svc.store.audit.write(company_id, "invitation_revoked", now, actor_account_id=actor_account_id,
                          subject_email=invitation["email"], details={"invitation_id": invitation_id})
    return {"invitation_id": invitation_id}


def for_token(svc, token):
    """What a still-valid link is for: {invitation_id, company_id, company_name, email, role, expires_at}."""
    invitation = _valid(svc, token)
    company = svc.store.companies.get(invitation["company_id"]) or {}
    return {"invitation_id": invitation["_id"], "company_id": invitation["company_id"],
            "company_name": company.get("name"), "email": invitation["email"], "role": invitation["role"],
            "expires_at": iso(invitation["expires_at"])}


def accept(svc, token, account_id):
    """Join the company with the invited role. The gateway has already logged the person in or had identity
    create their account; the steps here, and what a failure at each leaves:

    1. the link: unknown, used, revoked, replaced or expired is TokenInvalid (its `reason`); nothing written;
    2. identity: the account's e-mail must be the invited address (identity.get_accounts). Another
       address is TokenInvalid("wrong_account"); identity not answering fails the call, nothing written,
       and the link still works;
    3. the link is spent, at most once (a claim, then the guarded update). A lost race is explained
       by step 1 again, or TokenInvalid("used");
    4. the membership is inserted (already a member: `joined` is False, still a success). A crash
       between 3 and 4 leaves a spent link and no membership: the person needs a new invitation;
    5. the gateways hear of it (the feed; a lost message is healed when they reconnect);
    6. the audit log's "member_joined" entry.
    """
    invitation = _valid(svc, token)
    accounts = svc.identity.get_accounts([account_id]) if isinstance(account_id, str) else []
    if not accounts or (accounts[0].get("email") or "").lower() != invitation["email"]:
        raise TokenInvalid.because("wrong_account")
    now = clock.now()
    if svc.store.invitations.consume(invitation["_id"], links.hash_of(token), account_id, now) is None:
        _valid(svc, token)  # explains why (used, revoked, expired, replaced) ...
        raise TokenInvalid.because("used")  # ... or someone else used it a moment ago
    company_id = invitation["company_id"]
    joined = svc.store.memberships.add(company_id, account_id, invitation["role"], now)
    svc.feed.membership_changed(company_id, account_id)
    if joined:
        svc.store.audit.write(company_id, "member_joined", now, actor_account_id=account_id,
                              subject_account_id=account_id, subject_email=invitation["email"],
                              details={"role": invitation["role"], "invitation_id": invitation["_id"]})
    member = svc.store.memberships.get(company_id, account_id)
    return {"company_id": company_id, "role": member["role"] if member else invitation["role"], "joined": joined}


def _manageable(svc, company_id, actor_account_id, invitation_id):
    """The pending invitation, for an actor with users.manage over its role."""
    actor = members.require(svc, company_id, actor_account_id, "users.manage")
    invitation = svc.store.invitations.get(company_id, invitation_id)
    if invitation is None or invitation["status"] != "pending":
        raise NotFound()
    if not roles.can_manage(actor["role"], invitation["role"]):
        raise Forbidden()
    return invitation


def _valid(svc, token):
    """The pending, unexpired invitation of this link, or TokenInvalid saying why not."""
    if not isinstance(token, str) or not token or len(token) > 200:
        raise TokenInvalid.because("unknown")
    invitation, superseded = svc.store.invitations.by_token(links.hash_of(token))
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


def _mail(svc, company, actor_account_id, address, role, token, expires_at, existing, locale):
    """The invitation e-mail's envelope, in the invited person's language when they have an account."""
    inviter = people.accounts(svc, [actor_account_id]).get(actor_account_id, {})
    locale = people.locale_of(existing) if existing else (locale if locale in ("pl", "en") else "pl")
    return mail_event("member_invited", {
        "to": address, "locale": locale, "full_name": (existing or {}).get("full_name") or "",
        "company_name": company["name"], "inviter_name": inviter.get("full_name") or "",
        "role_label": roles.label(role, locale), "token": token, "expires_at": expires_at})
