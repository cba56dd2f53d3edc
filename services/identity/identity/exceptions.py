"""What identity raises: DomainErrors (kadra_defaults.errors), their words, field and headers as class defaults.

Raise them bare (`raise InvalidCredentials()`); the two that carry a value have a classmethod
(`Throttled.after(seconds)`, `InvalidInput.on(field, message, message_pl)`). The gateway maps them by
name (gateway/api/auth.py) and passes detail, detail_pl, errors, headers and extra through.
"""
import math

from kadra_defaults import errors
from kadra_defaults.errors import DomainError, field_error, field_errors


class InvalidInput(errors.InvalidInput):
    """Some fields are invalid: `errors` names them; the detail is the general one, however many there are."""

    @classmethod
    def on(cls, field: str, message: str, message_pl: str) -> "InvalidInput":
        return cls(errors=[field_error(field, message, message_pl)])

    @classmethod
    def from_messages(cls, messages) -> "InvalidInput":
        return cls(errors=field_errors(messages))


class InvalidCredentials(DomainError):
    """The e-mail and password don't match an active account (one message for every case)."""

    message = ("The e-mail address or the password is wrong.", "Nieprawidłowy adres e-mail lub hasło.")


class InvalidSecondFactor(DomainError):
    """The second step of a login: the code (or recovery code) is wrong, used or expired."""

    message = ("The code is wrong, used or expired.", "Kod jest nieprawidłowy, został już użyty lub wygasł.")
    field = "code"


class Throttled(DomainError):
    """Too many failures: wait `extra.retry_after` seconds (Retry-After)."""

    @classmethod
    def after(cls, wait: float) -> "Throttled":
        seconds = max(1, math.ceil(wait))
        return cls(f"Too many attempts. Try again in {seconds} s.",
                   f"Zbyt wiele prób. Spróbuj ponownie za {seconds} s.",
                   headers={"Retry-After": seconds}, extra={"retry_after": seconds})


class EmailTaken(DomainError):
    """An account with this e-mail exists (internal callers only; never said over HTTP to strangers)."""

    message = ("An account with this e-mail address exists.", "Konto z tym adresem e-mail już istnieje.")
    field = "email"


class InvalidToken(DomainError):
    """A one-time token is unknown, used, voided or expired."""

    message = ("This link is invalid, used or expired.",
               "Ten link jest nieprawidłowy, został już użyty lub wygasł.")
    token_message = ("Invalid, used or expired token.", "Token jest nieprawidłowy, użyty lub wygasły.")

    def __init__(self, *args, **kwargs):  # its field error has words of its own, not the detail's
        kwargs.setdefault("errors", [field_error("token", *self.token_message)])
        super().__init__(*args, **kwargs)


class InvalidSession(DomainError):
    """A refresh token is unknown, spent, expired, or its session has ended."""

    message = ("The session has ended. Log in again.", "Sesja została zakończona. Zaloguj się ponownie.")


class Unavailable(DomainError):
    """A service identity needs (users, for sign-up) did not answer in time; a retry is safe."""

    message = ("Creating the company did not finish. Try again in a moment.",
               "Tworzenie firmy nie zostało ukończone. Spróbuj ponownie za chwilę.")
    headers = {"Retry-After": "5"}


class AccountNotFound(DomainError):
    """No active account with this id."""

    message = ("No such account.", "Nie ma takiego konta.")


class ApprovalNotFound(DomainError):
    """No request for the phone with this id for this account (or it is long gone)."""

    message = ("There is no such login request.", "Nie ma takiej prośby o zalogowanie.")
    field = "approval_id"


class AlreadyDecided(DomainError):
    """The request was approved or denied already (by another of the phone's requests: one decision wins)."""

    message = ("This login request was already decided.", "O tej prośbie o zalogowanie już zdecydowano.")
    field = "approval_id"


class ApprovalExpired(DomainError):
    """The phone did not approve within 2 minutes."""

    message = ("The time to approve this login on the phone has run out. Log in again.",
               "Czas na potwierdzenie logowania w aplikacji mobilnej minął. Zaloguj się ponownie.")
    field = "pending_token"


class LoginDenied(DomainError):
    """The phone denied the request (or a wrong number was typed on it)."""

    message = ("The login was denied in the mobile app.", "Logowanie zostało odrzucone w aplikacji mobilnej.")
    field = "pending_token"
