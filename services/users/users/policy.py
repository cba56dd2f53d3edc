"""The company policy "every member needs a second factor", and the copy of who has one it is judged by.

- Only the owner turns it on or off (others: Forbidden; a non-member: NotFound), and only with a second factor
  of their own on (else Conflict naming `second_factor`): the owner must not lock themself out by the switch.
  Each change is an audit entry (`second_factor_policy_changed`); turning it on e-mails every member who has no
  factor yet (in the same write: the outbox), telling them they will set it up at their next login.
- While it is on, a member without a factor is `second_factor_required` in `membership` (what the gateway's
  copies hold and every company route checks) and in their list of companies: the gateway answers 403
  `second_factor_setup_required` on every route of that company, and the web app sends them to set it up.
  An owner who later turns their own factor off is asked the same: setting one up always stays open.
- Who has a factor: identity owns the factors; users keeps a copy per account (storage/factors.py), fed by
  identity's `second_factor_changed` event and filled from `identity.second_factors_of` for an account it has
  heard nothing of. A change re-stamps the person's users tables and tells the gateways (feed `membership`, per
  company), so the policy lets them in within about a second of turning the factor on.
"""
import logging
from datetime import datetime

from kadra_defaults import clock
from kadra_defaults.contracts.events import payload_of
from kadra_defaults.outbox import mail_event

from users import members, people, schemas
from users.exceptions import Conflict, Forbidden, NotFound

METHODS = ("totp", "phone")   # the second factors identity knows: TOTP, approval on the trusted phone

log = logging.getLogger(__name__)


def has_factor(svc, account_ids) -> dict:
    """{account_id: has a second factor on}: the copy, filled from identity for accounts it does not hold."""
    wanted = [a for a in dict.fromkeys(account_ids) if isinstance(a, str)]
    known = svc.store.second_factors.known(wanted)
    missing = [a for a in wanted if a not in known]
    if missing:
        asked_at = clock.now()
        answer = svc.identity.second_factors_of(missing)
        for account_id in missing:
            methods_on = answer.get(account_id) if isinstance(answer, dict) else None
            if not isinstance(methods_on, list):
                continue  # identity does not know it (a removed account): no factor, nothing stored
            svc.store.second_factors.fill(account_id, methods_on, tuple(dict.fromkeys(METHODS + tuple(methods_on))),
                                          asked_at)
            known[account_id] = bool(methods_on)
    return {a: known.get(a, False) for a in wanted}


def required_of(svc, company: dict | None, account_id: str) -> bool:
    """Whether the company's policy holds this member back until they set up a second factor."""
    if not company or not company.get("second_factor_required"):
        return False
    return not has_factor(svc, [account_id])[account_id]


def set_required(svc, company_id, actor_account_id, required):
    """The owner turns the policy on or off: {required, changed_at}; audit entry, notices to those without one."""
    actor = members.require(svc, company_id, actor_account_id, None)
    if actor["role"] != "owner":
        raise Forbidden("Only the company's owner sets the two-step login policy.",
                        "Tylko właściciel firmy ustawia wymóg logowania dwuetapowego.")
    wanted = schemas.load(schemas.SecondFactorPolicySchema(), {"required": required})["required"]
    if wanted and not _owner_has_factor(svc, actor_account_id):
        raise Conflict("Turn on two-step login for your own account first (My account), then require it of "
                       "everyone.",
                       "Najpierw włącz logowanie dwuetapowe na swoim koncie (Moje konto), potem wymagaj go od "
                       "wszystkich.",
                       field="second_factor", extra={"reason": "owner_without_second_factor"})
    now = clock.now()
    company = svc.store.companies.get(company_id)
    if company is None:
        raise NotFound()
    turning_on = wanted and not company.get("second_factor_required")
    mails = _notices(svc, company_id, company, actor_account_id, now) if turning_on else ()
    if svc.store.companies.set_second_factor_required(company_id, wanted, now):
        svc.store.audit.write(company_id, "second_factor_policy_changed", now, actor_account_id=actor_account_id,
                              details={"required": wanted}, mails=mails)
        svc.outbox.kick()
        svc.feed.membership_changed(company_id)   # every member's copy in every gateway worker goes
        changed_at = now
    else:
        changed_at = clock.aware(company.get("second_factor_required_at")) or now
    return {"required": wanted, "changed_at": changed_at.isoformat()}


def _owner_has_factor(svc, account_id) -> bool:
    """The copy, or when it says no, identity itself: the owner may have turned it on a moment ago, before its
    event reached us (a rare call, so asking costs nothing)."""
    if has_factor(svc, [account_id])[account_id]:
        return True
    asked_at = clock.now()
    answer = svc.identity.second_factors_of([account_id])
    methods_on = answer.get(account_id) if isinstance(answer, dict) else None
    if not methods_on:
        return False
    # The copy is behind (the event is on its way): bring it up to what identity said, as the event will.
    for method in methods_on:
        svc.store.second_factors.record(account_id, method, True, asked_at)
    _tell(svc, account_id)
    return True


def factor_changed(svc, message) -> None:
    """identity's `second_factor_changed`: the copy takes it (if newer), then the person's tables and the
    gateways' copies of their memberships go stale."""
    payload = payload_of(message) or {}
    account_id, method, change = payload.get("account_id"), payload.get("method"), payload.get("change")
    if not isinstance(account_id, str) or not isinstance(method, str) or change not in ("enabled", "disabled"):
        return
    at = _occurred_at(message)
    if not svc.store.second_factors.known([account_id]):
        try:
            has_factor(svc, [account_id])   # the first we hear of them: start from identity's whole answer
        except Exception as exc:  # identity away: this event alone still says the truth about its method
            log.warning("second-factor copy not filled", extra={"error": type(exc).__name__})
    svc.store.second_factors.record(account_id, method, change == "enabled", at)
    _tell(svc, account_id)


def _tell(svc, account_id) -> None:
    """The person's factor changed in the copy: their users tables and the gateways' copies go stale."""
    for membership in svc.store.memberships.of_account(account_id):
        svc.store.rosters.changed(membership["company_id"])
        svc.feed.membership_changed(membership["company_id"], account_id)


def _notices(svc, company_id, company, actor_account_id, now) -> tuple:
    """The envelopes telling each member without a factor that the company now requires one."""
    memberships = svc.store.memberships.of_company(company_id)
    ids = [m["account_id"] for m in memberships if m["account_id"] != actor_account_id]
    if not ids:
        return ()
    factors = has_factor(svc, ids)
    without = [a for a in ids if not factors.get(a)]
    found = people.accounts(svc, without + [actor_account_id]) if without else {}
    owner_name = (found.get(actor_account_id) or {}).get("full_name") or ""
    mails = []
    for account_id in without:
        person = found.get(account_id)
        if not person or not person.get("email"):
            continue
        mails.append(mail_event("second_factor_required", {
            "to": person["email"], "locale": people.locale_of(person), "full_name": person.get("full_name") or "",
            "company_name": company["name"], "required_by_name": owner_name, "required_at": now}))
    return tuple(mails)


def _occurred_at(message) -> datetime:
    try:
        return datetime.fromisoformat(message["occurred_at"])
    except (KeyError, TypeError, ValueError):
        return clock.now()
