"""Members and roles: the permission check every flow starts with, role changes and removals.

A company the actor does not belong to is `NotFound`, never `Forbidden`: nobody learns that
another company exists. Nobody changes or removes the owner: that takes an ownership transfer.
"""
from kadra_defaults import clock

from users import audit, policy, roles, schemas
from users.exceptions import Conflict, Forbidden, NotFound


def require(svc, company_id, actor_account_id, permission):
    """The actor's membership; NotFound for non-members, Forbidden without the permission (None: any member)."""
    member = svc.store.memberships.get(company_id, actor_account_id)
    if member is None:
        raise NotFound()
    if permission is not None and not roles.has_permission(member["role"], permission):
        raise Forbidden()
    return member


def membership(svc, company_id, account_id):
    """{role, permissions, second_factor_required} of the person in the company, or None; while the company's
    policy holds them back until they set up a second factor, `second_factor_required` is true and
    `company_name` names the company (policy.py)."""
    found = svc.store.memberships.get(company_id, account_id)
    if found is None:
        return None
    answer = {"role": found["role"], "permissions": sorted(roles.ROLES[found["role"]].permissions),
              "second_factor_required": False}
    company = svc.store.companies.get(company_id)
    if policy.required_of(svc, company, account_id):
        answer.update(second_factor_required=True, company_name=company["name"])
    return answer


def has_permission(svc, company_id, account_id, permission) -> bool:
    """Whether the person is a member whose role grants the permission."""
    found = svc.store.memberships.get(company_id, account_id)
    return found is not None and roles.has_permission(found["role"], permission)


def change_role(svc, company_id, actor_account_id, account_id, role):
    """users.manage, a role the actor manages, never the owner's; the member gets a notice e-mail."""
    actor = require(svc, company_id, actor_account_id, "users.manage")
    new_role = schemas.load(schemas.RoleChangeSchema(), {"role": role})["role"]
    if not roles.can_manage(actor["role"], new_role):
        raise Forbidden()
    now = clock.now()
    before = svc.store.memberships.set_role(company_id, account_id, new_role, roles.ROLES[actor["role"]].manages, now)
    if before is None:
        _explain_untouchable(svc, company_id, account_id)
    svc.feed.membership_changed(company_id, account_id)
    if before["role"] != new_role:
        mail = audit.notice(svc, company_id, account_id, actor_account_id, "role_changed",
                            old_role=before["role"], new_role=new_role)
        svc.store.audit.write(company_id, "role_changed", now, actor_account_id=actor_account_id,
                              subject_account_id=account_id, details={"from": before["role"], "to": new_role},
                              mail=mail)
        svc.outbox.kick()
    return {"account_id": account_id, "role": new_role}


def remove(svc, company_id, actor_account_id, account_id):
    """users.manage over the member's role, or leaving oneself; never the owner. Others get a notice."""
    actor = require(svc, company_id, actor_account_id, None)
    if account_id == actor_account_id:
        manageable = {actor["role"]} - {"owner"}
    elif roles.has_permission(actor["role"], "users.manage"):
        manageable = set(roles.ROLES[actor["role"]].manages)
    else:
        raise Forbidden()
    removed = svc.store.memberships.remove(company_id, account_id, manageable)
    if removed is None:
        _explain_untouchable(svc, company_id, account_id)
    now = clock.now()
    svc.feed.membership_changed(company_id, account_id)
    mail = None
    if account_id != actor_account_id:
        mail = audit.notice(svc, company_id, account_id, actor_account_id, "member_removed")
    svc.store.audit.write(company_id, "member_removed", now, actor_account_id=actor_account_id,
                          subject_account_id=account_id, details={"role": removed["role"]}, mail=mail)
    svc.outbox.kick()
    return {"account_id": account_id}


def _explain_untouchable(svc, company_id, account_id):
    """Why a role change or removal matched nothing: no such member, the owner, or a role not managed."""
    target = svc.store.memberships.get(company_id, account_id)
    if target is None:
        raise NotFound()
    if target["role"] == "owner":
        raise Conflict.owner()
    raise Forbidden()
