"""What the users service raises; the gateway maps each to an HTTP answer (gateway/api/*.py REMOTE_ERRORS).

Each exception's first argument is a dict `{"detail", "detail_pl", "errors"?, "extra"?}`
that the gateway passes through, so people read the reason in English and Polish.
"""


def _details(detail: str, detail_pl: str, **more) -> dict:
    return {"detail": detail, "detail_pl": detail_pl, **more}


class UsersError(Exception):
    """Base of the users service's named errors."""

    default = ("", "")

    def __init__(self, details: dict | None = None):
        super().__init__(details or _details(*self.default))

    @property
    def details(self) -> dict:
        return self.args[0]


class InvalidInput(UsersError):
    """A field is wrong: `{"errors": [{"field", "message", "message_pl"}]}` (422)."""

    default = ("Some fields are invalid.", "Niektóre pola są niepoprawne.")

    @classmethod
    def field(cls, field: str, message: str, message_pl: str) -> "InvalidInput":
        return cls(_details(message, message_pl, errors=[{"field": field, "message": message, "message_pl": message_pl}]))


class NotFound(UsersError):
    """No such company, member or invitation — or the caller may not know it exists (404)."""

    default = ("Not found.", "Nie znaleziono.")


class Forbidden(UsersError):
    """The caller is a member but their role does not allow this (403)."""

    default = ("Your role does not allow this.", "Twoja rola na to nie pozwala.")


class Conflict(UsersError):
    """The request contradicts the current state: already a member, already invited, the owner (409)."""

    default = ("This conflicts with the current state.", "To jest sprzeczne z obecnym stanem.")


class TokenInvalid(UsersError):
    """An invitation or ownership link that is unknown, used, expired, revoked or replaced (400).

    `extra.reason` is one of unknown, used, expired, revoked, replaced, wrong_account.
    """

    REASONS = {
        "unknown": ("This link is not valid.", "Ten link jest nieprawidłowy."),
        "used": ("This link has already been used.", "Ten link został już wykorzystany."),
        "expired": ("This link has expired. Ask for a new one.", "Ten link wygasł. Poproś o nowy."),
        "revoked": ("This invitation was withdrawn.", "To zaproszenie zostało wycofane."),
        "replaced": ("A newer link was sent; use the latest e-mail.",
                     "Wysłano nowszy link; użyj najnowszej wiadomości."),
        "wrong_account": ("This link was sent to a different e-mail address than your login.",
                          "Ten link wysłano na inny adres e-mail niż Twój login."),
    }

    @classmethod
    def because(cls, reason: str) -> "TokenInvalid":
        en, pl = cls.REASONS[reason]
        return cls(_details(en, pl, extra={"reason": reason},
                            errors=[{"field": "token", "message": en, "message_pl": pl}]))


class AccountRequired(UsersError):
    """Accepting needs a login (existing account) or a password and full name (new account) (422)."""

    default = ("Log in or give a password to accept.", "Zaloguj się lub podaj hasło, aby przyjąć zaproszenie.")


EXPECTED = (InvalidInput, NotFound, Forbidden, Conflict, TokenInvalid, AccountRequired)
