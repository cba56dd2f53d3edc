"""The preamble routes share: who calls, as what member of the path's company, and the RPC client.

    @blp.route("/companies/<string:company_id>/users")
    @authenticated
    def list_users(company_id):
        caller = current_member(company_id, "users.read")   # 404 for a non-member, 403 without the permission
        return caller.rpc.users.list_members(company_id, caller.account_id)
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from gateway import permissions, state
from gateway.auth import Principal, current_principal


@dataclass(frozen=True)
class Caller:
    """The caller of an @authenticated route, their membership of the path's company (if asked), the RPC client."""

    principal: Principal
    rpc: Any
    membership: dict | None = None

    @property
    def account_id(self) -> str:
        return self.principal.account_id


def current_caller() -> Caller:
    """The caller of an @authenticated route."""
    return Caller(current_principal(), state.current().rpc)


def current_member(company_id: str, permission: str | None = None) -> Caller:
    """The caller as a member of `company_id` whose role has `permission` (any role when None)."""
    principal = current_principal()
    return Caller(principal, state.current().rpc, permissions.require(company_id, principal.account_id, permission))


def rpc_client():
    """The RPC client, for routes without a caller."""
    return state.current().rpc
