"""What identity tells us about people for e-mails and the log: names, addresses, languages."""


def accounts(svc, account_ids) -> dict:
    """{account_id: account} from identity, or {} when identity does not answer."""
    try:
        return {a["account_id"]: a for a in svc.identity.get_accounts(list(account_ids))}
    except Exception:  # names are a courtesy in notices and logs; never fail the change for them
        return {}


def locale_of(account) -> str:
    """The language to write to the person in: "en" or "pl"."""
    locale = ((account or {}).get("locale") or "pl").lower()[:2]
    return "en" if locale == "en" else "pl"
