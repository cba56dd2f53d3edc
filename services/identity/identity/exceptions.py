"""What identity raises: DomainErrors (kadra_defaults.errors), each with its words as class defaults.

Raise them bare (`raise InvalidCredentials()`); the two that carry a value have a classmethod
(`Throttled.after(seconds)`, `InvalidInput.on(field, message, message_pl)`). The gateway maps them by
name (gateway/api/auth.py) and passes detail, detail_pl, errors, headers and extra through.
"""
import math

from kadra_defaults import errors
from kadra_defaults.errors import DomainError, field_error


class IdentityError(DomainError):
    """Besides `message`: the field error every instance names (`field`, in `field_message`'s words when
    they differ from `message`) and the `headers` it sends."""

    field: str | None = None
    field_message: tuple[str, str] | None = None
    headers: dict | None = None

    def __init__(self, message=None, message_pl=None, **kwargs):
        if self.field and "errors" not in kwargs:
            kwargs["errors"] = [field_error(self.field, *(self.field_message or self.message))]
        if self.headers and "headers" not in kwargs:
            kwargs["headers"] = self.headers
        super().__init__(message, message_pl, **kwargs)


class InvalidInput(errors.InvalidInput):
    """Some fields are invalid: `errors` names them (the detail stays the general one)."""

    @classmethod
    def on(cls, field: str, message: str, message_pl: str) -> "InvalidInput":
        return cls(errors=[field_error(field, message, message_pl)])


class InvalidCredentials(IdentityError):
    """The e-mail and password don't match an active account (one message for every case)."""

    message = ("The e-mail address or the password is wrong.", "Nieprawidłowy adres e-mail lub hasło.")


class Throttled(IdentityError):
    """Too many failures: wait `extra.retry_after` seconds (Retry-After)."""

    @classmethod
    def after(cls, wait: float) -> "Throttled":
        seconds = max(1, math.ceil(wait))
        return cls(f"Too many attempts. Try again in {seconds} s.",
                   f"Zbyt wiele prób. Spróbuj ponownie za {seconds} s.",
                   headers={"Retry-After": seconds}, extra={"retry_after": seconds})


class EmailTaken(IdentityError):
    """An account with this e-mail exists (internal callers only; never said over HTTP to strangers)."""

    message = ("An account with this e-mail address exists.", "Konto z tym adresem e-mail już istnieje.")
    field = "email"


class InvalidToken(IdentityError):
    """A one-time token is unknown, used, voided or expired."""

    message = ("This link is invalid, used or expired.",
               "Ten link jest nieprawidłowy, został już użyty lub wygasł.")
    field = "token"
    field_message = ("Invalid, used or expired token.", "Token jest nieprawidłowy, użyty lub wygasły.")


class InvalidSession(IdentityError):
    """A refresh token is unknown, spent, expired, or its session has ended."""

    message = ("The session has ended. Log in again.", "Sesja została zakończona. Zaloguj się ponownie.")


class Unavailable(IdentityError):
    """A service identity needs (users, for sign-up) did not answer in time; a retry is safe."""

    message = ("Creating the company did not finish. Try again in a moment.",
               "Tworzenie firmy nie zostało ukończone. Spróbuj ponownie za chwilę.")
    headers = {"Retry-After": "5"}


class AccountNotFound(IdentityError):
    """No active account with this id."""

    message = ("No such account.", "Nie ma takiego konta.")
