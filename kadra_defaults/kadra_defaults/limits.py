"""Abuse limits: at most N of something per subject in a window, held on every replica.

Everything that sends e-mail on a stranger's say-so (sign-ups, reset requests, invitations, e-mail
changes) or creates things without bound (companies) is limited per client address or per account:
a limit met answers 429 with Retry-After and a message in Polish and English. The values come from
settings (``KADRA_LIMIT_*``) and are set so that a busy accounting office's normal day never meets
them. The count holds under any concurrency: each event reserves its number first
(``storage.AttemptCounter``, a unique insert per number), so 40 parallel requests cannot all slip
under a limit of 5 the way "read the count, then act" would let them.

    SIGNUPS = Limit("signups", "sign-ups from this address", "rejestracji z tego adresu")
    SIGNUPS.take(db, client_ip, per_hour=current.limit_signups_per_client_hour)
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from kadra_defaults import clock
from kadra_defaults.errors import DomainError
from kadra_defaults.storage import AttemptCounter, window_index, window_left

HOUR = 3600.0
DAY = 86400.0


class RateLimited(DomainError):
    """Too many of one thing in a window: wait (Retry-After) and try again."""

    message = ("Too many requests. Try again later.", "Zbyt wiele żądań. Spróbuj ponownie później.")


@dataclass(frozen=True)
class Limit:
    """A named limit; `what_en`/`what_pl` say what is counted, for the message people read."""

    name: str
    what_en: str
    what_pl: str
    window: float = HOUR

    def take(self, db, subject: str | None, count: int) -> int:
        """Count one event for `subject`; returns its number, or raises RateLimited when over `count`.

        A missing subject (no client address known) is not counted. `count` 0 turns the limit off.
        """
        if not subject or count <= 0:
            return 0
        now = clock.now()
        window = window_index(self.window, now)
        expires = now + timedelta(seconds=self.window + HOUR)
        number = AttemptCounter(db).reserve(f"limit:{self.name}:{subject}:{window}", count, expires_at=expires)
        if number is None:
            wait = max(1, int(window_left(self.window, now)) + 1)
            per = "hour" if self.window == HOUR else "day" if self.window == DAY else f"{int(self.window)} s"
            per_pl = "godzinę" if self.window == HOUR else "dobę" if self.window == DAY else f"{int(self.window)} s"
            raise RateLimited(
                f"Too many {self.what_en} (at most {count} per {per}). Try again in {_duration(wait)}.",
                f"Zbyt wiele {self.what_pl} (najwyżej {count} na {per_pl}). Spróbuj ponownie za {_duration(wait, 'pl')}.",
                headers={"Retry-After": str(wait)}, extra={"retry_after": wait, "limit": self.name})
        return number


def _duration(seconds: int, locale: str = "en") -> str:
    minutes = -(-seconds // 60)
    if minutes < 2:
        return f"{seconds} s"
    if minutes < 120:
        return f"{minutes} min"
    hours = -(-minutes // 60)
    return f"{hours} h" if locale == "en" else f"{hours} godz."
