"""What devices raises: DomainErrors (kadra_defaults.errors), each with its words as class defaults.

Raise them bare (`raise DeviceBlocked()`) unless the words depend on the case. The gateway maps them
by name (gateway/api/devices.py, my_devices.py) and passes detail, detail_pl, errors, headers and
extra through.
"""
from kadra_defaults import errors
from kadra_defaults.errors import DomainError


class DevicesError(DomainError):
    """Base of devices' errors (a class's `field` and `field_message` name the field at fault)."""


class InvalidInput(errors.InvalidInput):
    """A field is missing or wrong; `errors` names each field."""


class DeviceNotFound(DevicesError):
    """No trusted device with that id, or not the caller's."""

    message = ("There is no such trusted device.", "Nie ma takiego zaufanego urządzenia.")
    field = "device_id"
    field_message = ("No such trusted device.", "Nie ma takiego zaufanego urządzenia.")


class DeviceAlreadyPaired(DevicesError):
    """The account has a trusted device and `replace` was not true (the current device in `extra`)."""

    message = ("Your account already has a trusted device. At most one device can be linked; "
               "send replace: true to replace it (the old one is logged out at once).",
               "Do Twojego konta jest już przypisane zaufane urządzenie. Można powiązać najwyżej "
               "jedno urządzenie; wyślij replace: true, aby je zastąpić (stare zostanie od razu wylogowane).")


class DeviceBlocked(DevicesError):
    """Too many wrong PINs: the device is blocked until unblocked from the web."""

    # "Aplikacja mobilna" is its own item of the menu next to the company's name, not a part of
    # "Dane i ustawienia" (gateway/web/static/js/main.js, companyMenu).
    message = ("This device is blocked after too many wrong PINs. Log in to the web app on a computer and, "
               "on the “Aplikacja mobilna” (Mobile app) page in the menu next to the company's name, "
               "unblock it with your password or remove it.",
               "To urządzenie jest zablokowane po zbyt wielu błędnych PIN-ach. Zaloguj się na komputerze do "
               "aplikacji webowej i na stronie „Aplikacja mobilna” (w menu przy nazwie firmy) "
               "odblokuj je swoim hasłem albo je usuń.")


class LoginRefused(DevicesError):
    """A bad signature, a reused, expired or foreign challenge, biometrics off, or a wrong PIN."""

    message = ("The login was refused: get a new challenge and sign it with this device.",
               "Logowanie odrzucone: pobierz nowe wyzwanie i podpisz je tym urządzeniem.")


class PasswordRefused(DevicesError):
    """The account password given to confirm a web action is wrong."""

    message = ("The password is wrong.", "Hasło jest nieprawidłowe.")
    field = "password"


class PinNotSet(DevicesError):
    """The device has no PIN yet: set one before a PIN login."""

    message = ("Set a PIN first.", "Najpierw ustaw PIN.")


class Throttled(DevicesError):
    """identity refused to check the password now: too many attempts (try again in a minute)."""

    message = ("Too many password attempts. Try again later.",
               "Zbyt wiele prób podania hasła. Spróbuj ponownie później.")
    headers = {"Retry-After": "60"}
