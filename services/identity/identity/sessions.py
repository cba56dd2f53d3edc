"""Sessions: open (after a login), refresh (rotating refresh tokens), log out, end, and the revocations gateways apply.

An access token lives 15 minutes and is checked by the gateway alone, so ending a session also revokes its
access tokens: the revocation is stored (for gateways that (re)connect, `revocations`, and their fallback,
`check_access`) and published on the gateway feed at once.
"""
import logging
import time

from kadra_defaults.storage import new_id

from identity import tokens
from identity.exceptions import AccountNotFound, InvalidInput, InvalidSession

log = logging.getLogger(__name__)


def open_for(deps, account_id, device_id=None) -> dict:
    """A session for an account another service vouched for (devices: a PIN or device-key login)."""
    if deps.store.accounts.by_id(account_id) is None:
        raise AccountNotFound()
    return open_new(deps, account_id, device_id)


def open_new(deps, account_id: str, device_id: str | None = None) -> dict:
    """A new session and its first token pair."""
    session_id = new_id()
    refresh = tokens.refresh_secret(session_id)
    deps.store.sessions.open(session_id, account_id, device_id, tokens.digest(refresh))
    return tokens.pair(tokens.access_token(account_id, session_id, device_id), refresh)


def refresh(deps, refresh_token) -> dict:
    """A new token pair for a live refresh token; a spent one coming back ends its whole session family."""
    if not isinstance(refresh_token, str) or not 20 <= len(refresh_token) <= 200:
        raise InvalidSession()
    sessions = deps.store.sessions
    old_hash = tokens.digest(refresh_token)
    chain = tokens.refresh_chain(refresh_token)
    if chain is not None:
        new_token = tokens.refresh_secret(chain[0], chain[1] + 1)
        rotated = sessions.rotate_chain(chain[0], chain[1], old_hash, tokens.digest(new_token))
    else:  # a token from before chains: found by its hash; the next one starts the chain
        session = sessions.by_refresh(old_hash)
        new_token = tokens.refresh_secret(session["_id"] if session else "-")
        rotated = sessions.rotate(old_hash, tokens.digest(new_token))
    if "reused" in rotated:
        # A spent refresh token came back: someone has a copy. End the whole family.
        log.warning("refresh token reuse: session family ended", extra={"session_id": rotated["reused"]})
        end(deps, session_ids=[rotated["reused"]], reason="refresh_reuse")
    if "session" not in rotated:
        raise InvalidSession()
    session = rotated["session"]
    access = tokens.access_token(session["account_id"], session["_id"], session.get("device_id"))
    return tokens.pair(access, new_token)


def logout(deps, account_id, session_id, refresh_token=None) -> None:
    """End this session, and the one of the refresh token presented if it is the same person's."""
    sessions = deps.store.sessions
    ids = [session_id]
    if isinstance(refresh_token, str) and refresh_token:
        digest = tokens.digest(refresh_token)
        chain = tokens.refresh_chain(refresh_token)
        other = sessions.of_current_token(chain[0], chain[1], digest) if chain else sessions.by_refresh(digest)
        if other is not None and other["account_id"] == account_id:
            ids.append(other["_id"])
    mine = [s for s in (sessions.get(i) for i in ids) if s and s["account_id"] == account_id]
    end(deps, session_ids=[s["_id"] for s in mine] or ["-"], reason="logout")


def end_for(deps, account_id=None, device_id=None) -> dict:
    """Another service ends an account's or a device's sessions (a removed device, a recovery)."""
    if not account_id and not device_id:
        raise InvalidInput.on("account_id", "Name an account or a device.", "Podaj konto lub urządzenie.")
    ended = end(deps, account_id=account_id, device_id=device_id, reason="ended",
                cutoff_account=bool(account_id and not device_id))
    return {"ended": ended}


def end(deps, *, account_id=None, device_id=None, session_ids=None, except_session=None,
        reason: str, cutoff_account: bool = False) -> int:
    """End sessions, remember the revocations, and tell every gateway worker at once.

    `cutoff_account`: every access token of the account issued until now stops working too.
    """
    ended = deps.store.sessions.end(account_id=account_id, device_id=device_id, session_ids=session_ids,
                                    except_session=except_session, reason=reason)
    now = time.time()
    until = now + tokens.REVOCATION_TTL
    entries = [{"sid": s["_id"], "until": until} for s in ended]
    if device_id:
        entries.append({"did": device_id, "until": until})
    if cutoff_account and account_id:
        entries.append({"sub": account_id, "before": int(now), "until": until})
    if entries:
        deps.store.revocations.add(entries)
        deps.feed.revoked(entries)  # unpublished: gateways re-sync from `revocations` when they reconnect
    return len(ended)


def check_access(deps, sid, sub, did=None, iat=0) -> dict:
    """The gateway's fallback while its feed is down: is this access token still good?"""
    return {"active": not deps.store.revocations.revoked(sid, sub, did, iat or 0)}
