"""Accounts as other services and the gateway see them: look-ups and the profile (name, language)."""
from identity import schemas
from identity.exceptions import AccountNotFound


def view(doc: dict) -> dict:
    """What an RPC answers about an account."""
    return {"account_id": doc["_id"], "email": doc["email"], "full_name": doc.get("full_name") or "",
            "locale": doc.get("locale") or "pl"}


def recipient(account: dict) -> dict:
    """The fields of an e-mail event that address this account's person."""
    return {"to": account["email"], "locale": account.get("locale") or "pl",
            "full_name": account.get("full_name") or ""}


def active(deps, account_id) -> dict:
    """The active account, or AccountNotFound."""
    account = deps.store.accounts.by_id(account_id)
    if account is None:
        raise AccountNotFound()
    return account


def many(deps, account_ids) -> list[dict]:
    ids = [a for a in (account_ids or []) if isinstance(a, str)]
    return [view(doc) for doc in deps.store.accounts.by_ids(ids)] if ids else []


def find(deps, email) -> dict | None:
    if not isinstance(email, str) or not email.strip():
        return None
    doc = deps.store.accounts.by_email(email)
    return view(doc) if doc else None


def update_profile(deps, account_id, full_name=None, locale=None) -> dict:
    """Change the name or the language; every gateway forgets its copy of the profile before we answer."""
    changes = {k: v for k, v in (("full_name", full_name), ("locale", locale)) if v is not None}
    data = schemas.load(schemas.ProfileSchema(), changes)
    if not data:
        return view(active(deps, account_id))
    doc = deps.store.accounts.update_profile(account_id, data)
    if doc is None:
        raise AccountNotFound()
    deps.feed.account_changed(account_id)
    return view(doc)
