"""The company audit log: reading it, the other services' events written into it, and notice e-mails.

Every flow writes its own entries (`store.audit.write`); here are the page a person reads, the
events of identity and devices that change a person's access (an entry in each of their
companies' logs, once per event), and the notice e-mails a member gets about a change to them
(a role changed, removed, an ownership transfer completed).
"""
from kadra_defaults import clock
from kadra_defaults.contracts.events import payload_of
from kadra_defaults.outbox import mail_event

from users import members, people, roles, schemas
from users.schemas import iso

# What an event's payload says that does not go into the log's details.
NOT_DETAILS = ("account_id", "token", "undo_token", "id", "occurred_at")


def page(svc, company_id, actor_account_id, page_no, per_page):
    """Newest first, paged: {items, page, per_page, total}; actors and subjects with names (audit.read)."""
    members.require(svc, company_id, actor_account_id, "audit.read")
    query = schemas.load(schemas.AuditPageSchema(), {"page": page_no, "per_page": per_page})
    entries, total = svc.store.audit.page(company_id, query["page"], query["per_page"])
    items = [_entry_view(e) for e in entries]
    ids = {i[k] for i in items for k in ("actor_account_id", "subject_account_id") if i.get(k)}
    found = people.accounts(svc, sorted(ids)) if ids else {}
    for item in items:
        for key in ("actor", "subject"):
            person = found.get(item.get(f"{key}_account_id"))
            item[f"{key}_name"] = person.get("full_name") if person else None
            if key == "subject" and person and not item.get("subject_email"):
                item["subject_email"] = person.get("email")
    return {"items": items, "page": query["page"], "per_page": query["per_page"], "total": total}


def record_everywhere(svc, action, message):
    """An entry in the log of every company the person belongs to (once per event id)."""
    payload = _payload(message)
    account_id = payload.get("account_id")
    if not isinstance(account_id, str):
        return
    event_id = message.get("id")
    details = {k: v for k, v in payload.items() if k not in NOT_DETAILS and _plain(v)}
    now = clock.now()
    for membership in svc.store.memberships.of_account(account_id):
        company_id = membership["company_id"]
        svc.store.audit.write(company_id, action, now, actor_account_id=account_id, subject_account_id=account_id,
                              details=details, entry_id=f"{event_id}:{company_id}" if event_id else None)


def email_changed(svc, message):
    """Logged like the others (an undone change as `email_change_reverted`); and the person's row shows the new
    address, so their companies' tables are stale."""
    reverted = _payload(message).get("reverted") is True
    record_everywhere(svc, "email_change_reverted" if reverted else "email_changed", message)
    account_id = _payload(message).get("account_id")
    if isinstance(account_id, str):
        for membership in svc.store.memberships.of_account(account_id):
            svc.store.rosters.changed(membership["company_id"])


def ownership_notices(svc, company_id, previous_account_id, new_account_id, now) -> tuple[dict, ...]:
    """The envelopes telling both sides of a completed transfer their role now (none for whom we can't address)."""
    found = people.accounts(svc, [previous_account_id, new_account_id])
    company = svc.store.companies.get(company_id)
    names = {key: (found.get(key) or {}).get("full_name") or "" for key in (previous_account_id, new_account_id)}
    mails = []
    for account_id, role in ((previous_account_id, "manager"), (new_account_id, "owner")):
        person = found.get(account_id)
        if not person or not person.get("email"):
            continue
        locale = people.locale_of(person)
        mails.append(mail_event("ownership_transferred", {
            "to": person["email"], "locale": locale, "full_name": person.get("full_name") or "",
            "company_name": company["name"], "became_owner": role == "owner", "role_label": roles.label(role, locale),
            "previous_owner_name": names[previous_account_id], "new_owner_name": names[new_account_id],
            "transferred_at": now}))
    return tuple(mails)


def notice(svc, company_id, account_id, actor_account_id, event_type, old_role=None, new_role=None):
    """The envelope of a notice e-mail to the person concerned (None when we can't address it)."""
    found = people.accounts(svc, [account_id, actor_account_id])
    person = found.get(account_id)
    if not person or not person.get("email"):
        return None
    company = svc.store.companies.get(company_id)
    locale = people.locale_of(person)
    actor_name = found.get(actor_account_id, {}).get("full_name") or ""
    payload = {"to": person["email"], "locale": locale, "full_name": person.get("full_name") or "",
               "company_name": company["name"]}
    if event_type == "role_changed":
        payload.update(old_role_label=roles.label(old_role, locale), new_role_label=roles.label(new_role, locale),
                       changed_by_name=actor_name)
    else:
        payload.update(removed_by_name=actor_name)
    return mail_event(event_type, payload)


def _payload(message) -> dict:
    """The event's payload from its envelope (every service sends envelopes: contracts.events); {} otherwise."""
    return payload_of(message) or {}


def _entry_view(entry: dict) -> dict:
    return {"entry_id": entry["_id"], "action": entry["action"], "at": iso(entry["at"]),
            "actor_account_id": entry.get("actor_account_id"), "subject_account_id": entry.get("subject_account_id"),
            "subject_email": entry.get("subject_email"), "details": entry.get("details") or {}}


def _plain(value) -> bool:
    return isinstance(value, (str, int, float, bool)) or value is None
