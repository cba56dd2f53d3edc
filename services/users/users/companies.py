"""Companies: creating one with its owner, its data, and the users table (members and invitations)."""
import secrets

from kadra_defaults import clock, settings
from kadra_defaults.limits import DAY, Limit

from users import members, policy, roles, schemas
from users.exceptions import Forbidden, InvalidInput, NotFound
from users.schemas import iso

COMPANY_FIELDS = ("name", "nip", "regon", "address", "contact_email", "contact_phone")
# Each company's name goes into the subject of its invitation e-mails: companies made on a person's
# say-so (POST /companies) are at most KADRA_LIMIT_COMPANIES_PER_ACCOUNT_DAY per account a day.
PER_ACCOUNT = Limit("companies-account", "new companies", "nowych firm", DAY)


def create(svc, owner_account_id, name, creation_key):
    """A company whose owner is the caller; the same creation_key always answers the same company.

    Without a creation key (POST /companies) it is counted against the per-account daily limit. With
    one it is the company of a sign-up (identity passes its creation key, which makes the sign-up's
    retries idempotent): not counted, since a sign-up makes exactly one.
    """
    data = schemas.load(schemas.CompanyCreateSchema(), {"name": name})
    if not isinstance(owner_account_id, str) or not owner_account_id:
        raise InvalidInput("An account id is required.", "Wymagany identyfikator konta.", field="owner_account_id")
    if not (isinstance(creation_key, str) and creation_key):
        PER_ACCOUNT.take(svc.store.db, owner_account_id, settings.current().limit_companies_per_account_day)
    key = creation_key if isinstance(creation_key, str) and creation_key else secrets.token_hex(16)
    now = clock.now()
    company, created = svc.store.companies.create(owner_account_id, data["name"].strip(), key, now)
    if created:
        svc.store.audit.write(company["_id"], "company_created", now, actor_account_id=owner_account_id,
                              subject_account_id=owner_account_id, details={"name": company["name"]},
                              entry_id=f"created:{company['_id']}")
    svc.feed.membership_changed(company["_id"], owner_account_id)
    return {"company_id": company["_id"]}


def of_account(svc, account_id):
    """[{company_id, name, role, second_factor_required}] of every company the person belongs to
    (`second_factor_required`: the company's policy holds them back until they set up a second factor)."""
    memberships = svc.store.memberships.of_account(account_id)
    companies = svc.store.companies.of_ids(m["company_id"] for m in memberships)
    held = any(c.get("second_factor_required") for c in companies.values()) and \
        not policy.has_factor(svc, [account_id])[account_id]
    return [{"company_id": m["company_id"], "name": companies[m["company_id"]]["name"], "role": m["role"],
             "second_factor_required": held and bool(companies[m["company_id"]].get("second_factor_required"))}
            for m in memberships if m["company_id"] in companies]


def get(svc, company_id, actor_account_id):
    """The company's data for a member with company.read."""
    members.require(svc, company_id, actor_account_id, "company.read")
    return _view(svc.store.companies.get(company_id))


def update(svc, company_id, actor_account_id, changes):
    """company.settings; every changed field goes into the audit log."""
    members.require(svc, company_id, actor_account_id, "company.settings")
    data = schemas.normalize_company_changes(schemas.load(schemas.CompanyPatchSchema(), changes))
    now = clock.now()
    result = svc.store.companies.update(company_id, data, now)
    if result is None:
        raise NotFound()
    before, after = result
    changed = {k: {"from": before.get(k), "to": after.get(k)} for k in data if before.get(k) != after.get(k)}
    if changed:
        svc.store.audit.write(company_id, "company_updated", now, actor_account_id=actor_account_id,
                              details={"changes": changed})
    if "name" in changed:
        # Every member's "my companies" (GET /me) names the company: the gateway's copies go.
        svc.feed.membership_changed(company_id)
    return _view(after)


def roster(svc, company_id, actor_account_id):
    """The users table for a member with users.read: members (owner first, then by joining), then invitations;
    each member's `second_factor` says whether they have a second factor on (policy.py's copy).

    Served from the company's stored copy (two key look-ups) while it is current; rebuilt from the
    memberships, the invitations and identity's names otherwise (storage/rosters.py).
    """
    if not isinstance(company_id, str):
        raise NotFound()
    rows, stamp = svc.store.rosters.current(company_id)
    if rows is None:
        rows = _build_roster(svc, company_id)
        svc.store.rosters.save(company_id, stamp, rows)
    actor = next((r for r in rows if r["account_id"] == actor_account_id and r["status"] == "active"), None)
    if actor is None:
        raise NotFound()
    if not roles.has_permission(actor["role"], "users.read"):
        raise Forbidden()
    return rows


def _build_roster(svc, company_id):
    memberships = svc.store.memberships.of_company(company_id)
    # names and e-mails come from identity while we read the invitations
    reply = svc.identity.get_accounts.call_async([m["account_id"] for m in memberships]) if memberships else None
    invitations = svc.store.invitations.pending(company_id)
    factors = policy.has_factor(svc, [m["account_id"] for m in memberships])
    accounts = {a["account_id"]: a for a in reply.result()} if reply is not None else {}
    rows = []
    for member in memberships:
        account = accounts.get(member["account_id"], {})
        rows.append({"account_id": member["account_id"], "full_name": account.get("full_name"),
                     "email": account.get("email"), "role": member["role"], "status": "active",
                     "joined_at": iso(member["joined_at"]), "invitation_id": None,
                     "second_factor": factors.get(member["account_id"], False)})
    for invitation in invitations:
        rows.append({"account_id": None, "full_name": None, "email": invitation["email"],
                     "role": invitation["role"], "status": "invited", "joined_at": None,
                     "invitation_id": invitation["_id"], "second_factor": None})
    for number, row in enumerate(rows, start=1):
        row["no"] = number
        row["role_label_pl"] = roles.label(row["role"], "pl")
        row["role_label_en"] = roles.label(row["role"], "en")
    return rows


def _view(company: dict) -> dict:
    return {"company_id": company["_id"], **{k: company.get(k) for k in COMPANY_FIELDS},
            "second_factor_required": bool(company.get("second_factor_required"))}
