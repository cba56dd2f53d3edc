"""What the users service raises; the gateway maps each code to an HTTP answer (gateway/errors.py).

Every error carries `{"code", "detail", "detail_pl", "errors"?, "extra"?}` (kadra_defaults.errors),
so people read the reason in English and Polish, with the field named where one is wrong.
"""
from kadra_defaults import errors
from kadra_defaults.errors import DomainError, field_error
from kadra_defaults.limits import RateLimited  # noqa: F401  (raised by the abuse limits; expected)


class InvalidInput(errors.InvalidInput):
    """A field is wrong: `errors` names each of them."""


class NotFound(DomainError):
    """No such company, member or invitation — or the caller may not know it exists."""

    message = ("Not found.", "Nie znaleziono.")


class Forbidden(DomainError):
    """The caller is a member but their role does not allow this."""

    message = ("Your role does not allow this.", "Twoja rola na to nie pozwala.")


class Conflict(DomainError):
    """The request contradicts the current state: already a member, already invited, the owner."""

    message = ("This conflicts with the current state.", "To jest sprzeczne z obecnym stanem.")

    @classmethod
    def already_member(cls) -> "Conflict":
        return cls("This person is already a member of the company.", "Ta osoba już należy do firmy.",
                   errors=[field_error("email", "Already a member.", "Już jest członkiem firmy.")])

    @classmethod
    def already_invited(cls) -> "Conflict":
        return cls("This address already has a pending invitation; resend it instead.",
                   "Ten adres ma już oczekujące zaproszenie; wyślij je ponownie.",
                   errors=[field_error("email", "Already invited.", "Już zaproszono.")])

    @classmethod
    def owner(cls) -> "Conflict":
        return cls("The owner's role changes only by an ownership transfer.",
                   "Rola właściciela zmienia się tylko przez przekazanie własności.", extra={"reason": "owner"})

    @classmethod
    def ownership_moved(cls, reason: str) -> "Conflict":
        return cls("The company's ownership changed meanwhile, or you are no longer a member.",
                   "Własność firmy zmieniła się w międzyczasie lub nie jesteś już jej członkiem.",
                   extra={"reason": reason})


class TokenInvalid(DomainError):
    """An invitation or ownership link that is unknown, used, expired, revoked or replaced.

    `extra.reason` is one of unknown, used, expired, revoked, replaced, wrong_account.
    """

    message = ("This link is not valid.", "Ten link jest nieprawidłowy.")
    REASONS = {
        "unknown": message,
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
        return cls(en, pl, field="token", extra={"reason": reason})


class AccountRequired(DomainError):
    """Accepting needs a login (existing account) or a password and full name (new account)."""

    message = ("Log in or give a password to accept.", "Zaloguj się lub podaj hasło, aby przyjąć zaproszenie.")


class Unavailable(DomainError):
    """Another change of the company's roles held its lease for longer than a request waits; a retry is safe."""

    message = ("Another change of this company's people is under way. Try again in a moment.",
               "Trwa inna zmiana osób w tej firmie. Spróbuj ponownie za chwilę.")
    headers = {"Retry-After": "1"}


EXPECTED = (InvalidInput, NotFound, Forbidden, Conflict, TokenInvalid, AccountRequired, RateLimited, Unavailable)
