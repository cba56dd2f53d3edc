"""The services' clock: real time, shifted only where tests are allowed to shift it.

Expiry, lockout and token lifetimes read `now()` from here, so a test can
move time forward in a running service (RPC `advance_clock`) instead of
waiting. Shifting is refused unless KADRA_ALLOW_CLOCK_CONTROL=1, which only
the test harness sets.
"""
from datetime import datetime, timedelta, timezone

ALLOW_ENV = "KADRA_ALLOW_CLOCK_CONTROL"
_offset = timedelta(0)


def aware(at):
    """A stored time as UTC-aware (pymongo hands naive ones back unless asked); None for anything else."""
    if isinstance(at, datetime) and at.tzinfo is None:
        return at.replace(tzinfo=timezone.utc)
    return at if isinstance(at, datetime) else None


def now() -> datetime:
    """The current time, UTC, timezone-aware (plus the test offset, if any)."""
    return datetime.now(timezone.utc) + _offset


def control_allowed() -> bool:
    from kadra_defaults import settings

    return settings.current().allow_clock_control


def advance(seconds: float) -> datetime:
    """Move this process's clock forward (tests only); returns the new now()."""
    global _offset
    if not control_allowed():
        raise PermissionError(f"clock control is off (set {ALLOW_ENV}=1 only in tests)")
    _offset += timedelta(seconds=seconds)
    return now()


def reset() -> None:
    global _offset
    if not control_allowed():
        raise PermissionError(f"clock control is off (set {ALLOW_ENV}=1 only in tests)")
    _offset = timedelta(0)
