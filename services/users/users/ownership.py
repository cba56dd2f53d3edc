"""Ownership transfer: the owner offers the company to a member, who accepts by the e-mailed link.

A new offer makes the earlier one stop working. Accepting moves ownership in one guarded sequence
(storage/transfers.py): the new owner becomes `owner`, the old one `manager`; never zero owners. Both get
a notice naming their role now.
"""
from datetime import timedelta

from kadra_defaults import clock
from kadra_defaults.outbox import mail_event

from users import audit, links, members, people
from users.exceptions import Conflict, InvalidInput, TokenInvalid
from users.schemas import iso

TRANSFER_DAYS = 7


def request(svc, company_id, actor_account_id, account_id):
    """ownership.transfer; the offer goes by e-mail to the member, valid TRANSFER_DAYS."""
    members.require(svc, company_id, actor_account_id, "ownership.transfer")
    if not isinstance(account_id, str) or account_id == actor_account_id:
        raise InvalidInput("Choose another member of the company.", "Wybierz innego członka firmy.",
                           field="account_id")
    if svc.store.memberships.get(company_id, account_id) is None:
        raise InvalidInput("Not a member of this company.", "To nie jest członek tej firmy.", field="account_id")
    now = clock.now()
    token, token_hash = links.new_link()
    expires_at = now + timedelta(days=TRANSFER_DAYS)
    company = svc.store.companies.get(company_id)
    found = people.accounts(svc, [account_id, actor_account_id])
    to = found.get(account_id, {})
    event = mail_event("ownership_transfer_requested", {
        "to": to.get("email"), "locale": people.locale_of(to), "full_name": to.get("full_name") or "",
        "company_name": company["name"], "from_name": found.get(actor_account_id, {}).get("full_name") or "",
        "token": token, "expires_at": expires_at})
    transfer = svc.store.transfers.create(company_id, actor_account_id, account_id, token_hash, expires_at, now,
                                          events=(event,))
    svc.outbox.kick()
    svc.store.audit.write(company_id, "ownership_transfer_requested", now, actor_account_id=actor_account_id,
                          subject_account_id=account_id, details={"transfer_id": transfer["_id"]})
    return {"transfer_id": transfer["_id"], "expires_at": iso(expires_at), "mail_event_id": event["id"]}


def accept(svc, token, account_id):
    """The invited member accepts: TokenInvalid (with its reason) for a bad link, Conflict when the company
    changed meanwhile (another owner, or they are no longer a member)."""
    transfer = svc.store.transfers.by_token(links.hash_of(token)) if isinstance(token, str) else None
    if transfer is None:
        raise TokenInvalid.because("unknown")
    if transfer["to_account_id"] != account_id:
        raise TokenInvalid.because("wrong_account")
    now = clock.now()
    if transfer["status"] != "pending":
        raise TokenInvalid.because("replaced" if transfer["status"] == "superseded" else "used")
    if transfer["expires_at"] <= now:
        raise TokenInvalid.because("expired")
    if svc.store.transfers.consume(transfer["_id"], account_id, now) is None:
        raise TokenInvalid.because("used")
    company_id, previous = transfer["company_id"], transfer["from_account_id"]
    problem = svc.store.transfers.move_ownership(company_id, previous, account_id, now)
    if problem is not None:
        raise Conflict.ownership_moved(problem)
    svc.feed.membership_changed(company_id, account_id)
    svc.feed.membership_changed(company_id, previous)
    # The log entry and both notices in one write: the transfer is consumed once, so they are sent once.
    svc.store.audit.write(company_id, "ownership_transferred", now, actor_account_id=account_id,
                          subject_account_id=account_id,
                          details={"from_account_id": previous, "to_account_id": account_id},
                          mails=audit.ownership_notices(svc, company_id, previous, account_id, now))
    svc.outbox.kick()
    return {"company_id": company_id, "role": "owner"}
