"""What identity raises. The first argument is a dict the gateway passes through:
`{"detail", "detail_pl", "errors", "status", "headers", "extra"}` (see gateway.errors)."""


class IdentityError(Exception):
    def __init__(self, details: dict | None = None):
        super().__init__(details or {})


class InvalidInput(IdentityError):
    """Some fields are invalid: `errors` names them (422 validation_failed)."""


class InvalidCredentials(IdentityError):
    """The e-mail and password don't match an active account (one message for every case)."""


class Throttled(IdentityError):
    """Too many failures: wait `retry_after` seconds (429 with Retry-After)."""

    @property
    def retry_after(self) -> int:
        return int(self.args[0].get("extra", {}).get("retry_after", 0))


class EmailTaken(IdentityError):
    """An account with this e-mail exists (internal callers only; never said over HTTP to strangers)."""


class InvalidToken(IdentityError):
    """A one-time token is unknown, used, voided or expired (400)."""


class InvalidSession(IdentityError):
    """A refresh token is unknown, spent, expired, or its session has ended (401)."""


class Unavailable(IdentityError):
    """A service identity needs did not answer in time (503); a retry is safe."""


class AccountNotFound(IdentityError):
    """No active account with this id."""


def invalid(field: str, message: str, message_pl: str) -> InvalidInput:
    return InvalidInput({"errors": [{"field": field, "message": message, "message_pl": message_pl}]})


def credentials() -> InvalidCredentials:
    return InvalidCredentials({"detail": "The e-mail address or the password is wrong.",
                               "detail_pl": "Nieprawidłowy adres e-mail lub hasło."})


def throttled(retry_after: float) -> Throttled:
    seconds = max(1, int(-(-retry_after // 1)))
    return Throttled({"detail": f"Too many attempts. Try again in {seconds} s.",
                      "detail_pl": f"Zbyt wiele prób. Spróbuj ponownie za {seconds} s.",
                      "headers": {"Retry-After": str(seconds)}, "extra": {"retry_after": seconds}})


def bad_token() -> InvalidToken:
    return InvalidToken({"detail": "This link is invalid, used or expired.",
                         "detail_pl": "Ten link jest nieprawidłowy, został już użyty lub wygasł.",
                         "errors": [{"field": "token", "message": "Invalid, used or expired token.",
                                     "message_pl": "Token jest nieprawidłowy, użyty lub wygasły."}]})


def bad_session() -> InvalidSession:
    return InvalidSession({"detail": "The session has ended. Log in again.",
                           "detail_pl": "Sesja została zakończona. Zaloguj się ponownie."})


def email_taken() -> EmailTaken:
    return EmailTaken({"detail": "An account with this e-mail address exists.",
                       "detail_pl": "Konto z tym adresem e-mail już istnieje.",
                       "errors": [{"field": "email", "message": "An account with this e-mail address exists.",
                                   "message_pl": "Konto z tym adresem e-mail już istnieje."}]})
