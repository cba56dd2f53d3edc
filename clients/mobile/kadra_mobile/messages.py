"""Everything kadra-mobile says, in English and Polish."""
import os

LANG_ENV = "KADRA_MOBILE_LANG"

MESSAGES = {
    "activated": ("This phone is now your trusted device \"{name}\" ({platform}).",
                  "Ten telefon jest teraz Twoim zaufanym urządzeniem \"{name}\" ({platform})."),
    "next_pin": ("Next: set a PIN (kadra-mobile set-pin).", "Dalej: ustaw PIN (kadra-mobile set-pin)."),
    "wrong_credentials": ("The e-mail address or the password is wrong.\n"
                          "Forgot your e-mail address? Ask your company's owner: they see it under Dane i ustawienia "
                          "→ Użytkownicy (Data and settings → Users). If you can log in on a computer, you find your "
                          "e-mail there.\n"
                          "Forgot your password? On the login page choose \"remind password\" "
                          "(\"przypomnij hasło\"): {url}/app/forgot-password",
                          "Nieprawidłowy adres e-mail lub hasło.\n"
                          "Nie pamiętasz adresu e-mail? Zapytaj właściciela firmy: widzi go w Dane i ustawienia → "
                          "Użytkownicy. Jeśli możesz zalogować się na komputerze, znajdziesz tam swój e-mail.\n"
                          "Nie pamiętasz hasła? Na stronie logowania wybierz „przypomnij hasło”: "
                          "{url}/app/forgot-password"),
    "biometrics_question": ("Do you want to use quick biometric login (e.g. a fingerprint)? [y/N] ",
                            "Czy chcesz korzystać z szybkiego logowania biometrycznego (np. za pomocą odcisku palca)? "
                            "[t/N] "),
    "biometrics_later": ("Biometric login is off; you can turn it on at any time: kadra-mobile enable-biometrics",
                         "Logowanie biometryczne jest wyłączone; możesz je włączyć w każdej chwili: "
                         "kadra-mobile enable-biometrics"),
    "approvals_none": ("No web login is waiting for this phone's approval.",
                       "Żadne logowanie nie czeka na potwierdzenie w tym telefonie."),
    "approvals_head": ("Web logins waiting for your approval:", "Logowania czekające na Twoje potwierdzenie:"),
    "approval_line": ("[{n}] {approval_id}\n    {what} in the Kadra web app, {requested_at}\n    from address "
                      "{client_ip}, browser: {user_agent}\n    {expires_in} s left to decide",
                      "[{n}] {approval_id}\n    {what} w aplikacji webowej Kadra, {requested_at}\n    z adresu "
                      "{client_ip}, przeglądarka: {user_agent}\n    zostało {expires_in} s na decyzję"),
    "approval_login": ("Logging in", "Logowanie"),
    "approval_phone_off": ("Turning approval on the phone off", "Wyłączenie potwierdzania w aplikacji mobilnej"),
    "approval_unknown": ("unknown", "nieznany"),
    "approval_pick": ("More than one login is waiting: name the one to decide (kadra-mobile approvals lists them).",
                      "Czeka więcej niż jedno logowanie: podaj, o którym decydujesz (lista: kadra-mobile approvals)."),
    "approval_ask_number": ("Type the number shown on the login screen: ",
                            "Wpisz liczbę widoczną na ekranie logowania: "),
    "approval_need_number": ("Give --number: the two-digit number shown on the login screen (or --deny).",
                             "Podaj --number: dwucyfrową liczbę z ekranu logowania (albo --deny)."),
    "approval_approved": ("Login approved. The web page logs you in now.",
                          "Logowanie potwierdzone. Strona w przeglądarce zaraz Cię zaloguje."),
    "approval_denied": ("Login denied. If it wasn't you, change your password on the web.",
                        "Logowanie odrzucone. Jeśli to nie Ty, zmień hasło w aplikacji webowej."),
    "all_done": ("That's all! Congratulations!", "To wszystko! Gratulujemy!"),
    "replaced": ("The previous device was removed and logged out.",
                 "Poprzednie urządzenie zostało usunięte i wylogowane."),
    "already_paired": ("Your account already has a trusted device: \"{name}\" ({platform}), activated {activated}. "
                       "At most one device can be linked. To replace it, run again with --replace.",
                       "Do Twojego konta jest już przypisane zaufane urządzenie: \"{name}\" ({platform}), aktywowane "
                       "{activated}. Można powiązać najwyżej jedno urządzenie. Aby je zastąpić, uruchom ponownie z --replace."),
    "confirm_replace": ("Replace it with this phone? The old one will be logged out at once. [y/N] ",
                        "Zastąpić je tym telefonem? Stare zostanie od razu wylogowane. [t/N] "),
    "pin_set": ("PIN set. Log in with: kadra-mobile login --pin", "PIN ustawiony. Logowanie: kadra-mobile login --pin"),
    "pin_changed": ("PIN changed.", "PIN zmieniony."),
    "biometrics_on": ("Biometric login is on. Log in with: kadra-mobile login --biometric",
                      "Logowanie biometryczne włączone. Logowanie: kadra-mobile login --biometric"),
    "biometrics_off": ("Biometric login is off.", "Logowanie biometryczne wyłączone."),
    "logged_in": ("Logged in ({method}).", "Zalogowano ({method})."),
    "method_pin": ("PIN", "PIN"),
    "method_biometric": ("biometrics", "biometria"),
    "removed": ("This device was removed from your account and logged out.",
                "To urządzenie zostało usunięte z Twojego konta i wylogowane."),
    "status_device": ("Trusted device \"{name}\" ({platform}), id {device_id}\n  activated: {activated_at}\n"
                      "  last used: {last_used_at}\n  PIN: {pin}\n  biometrics: {biometrics}\n  blocked: {blocked}",
                      "Zaufane urządzenie \"{name}\" ({platform}), id {device_id}\n  aktywowane: {activated_at}\n"
                      "  ostatnio używane: {last_used_at}\n  PIN: {pin}\n  biometria: {biometrics}\n"
                      "  zablokowane: {blocked}"),
    "status_local": ("This phone: device {device_id}, not logged in (run kadra-mobile login --pin).",
                     "Ten telefon: urządzenie {device_id}, niezalogowany (uruchom kadra-mobile login --pin)."),
    "yes": ("yes", "tak"),
    "no": ("no", "nie"),
    "never": ("never", "nigdy"),
    "not_activated": ("This phone is not activated yet. Run: kadra-mobile activate --email you@example.com",
                      "Ten telefon nie jest jeszcze aktywowany. Uruchom: kadra-mobile activate --email ty@example.com"),
    "device_gone": ("This device is no longer your trusted device (it was removed or replaced). "
                    "Activate it again with: kadra-mobile activate",
                    "To urządzenie nie jest już Twoim zaufanym urządzeniem (zostało usunięte lub zastąpione). "
                    "Aktywuj je ponownie: kadra-mobile activate"),
    "session_ended": ("Your session on this device has ended (the device was removed, replaced or logged out). "
                      "Log in again, or activate the phone again if it was removed.",
                      "Sesja na tym urządzeniu została zakończona (urządzenie usunięto, zastąpiono lub wylogowano). "
                      "Zaloguj się ponownie albo aktywuj telefon ponownie, jeśli został usunięty."),
    "blocked": ("This device is blocked after too many wrong PINs. Log in to the web app on a computer and, on the "
                "“Aplikacja mobilna” (Mobile app) page in the menu next to the company's name, unblock it "
                "with your password or remove it.",
                "To urządzenie jest zablokowane po zbyt wielu błędnych PIN-ach. Zaloguj się na komputerze do "
                "aplikacji webowej i na stronie „Aplikacja mobilna” (w menu przy nazwie firmy) odblokuj je "
                "swoim hasłem albo je usuń."),
    "no_biometric_key": ("Biometric login is not enabled on this phone. Run: kadra-mobile enable-biometrics",
                         "Logowanie biometryczne nie jest włączone na tym telefonie. Uruchom: "
                         "kadra-mobile enable-biometrics"),
    "unreachable": ("Cannot reach Kadra at {url}. Check the connection and try again.",
                    "Brak połączenia z Kadrą pod adresem {url}. Sprawdź połączenie i spróbuj ponownie."),
    "unsafe_state": ("The key file {path} can be read by other users; refusing to use it. Fix: chmod 600 {path}",
                     "Plik z kluczami {path} mogą czytać inni użytkownicy; nie zostanie użyty. Napraw: chmod 600 {path}"),
    "need_secret": ("Give the {what} (option, environment variable {env}, or type it when asked).",
                    "Podaj {what} (opcja, zmienna środowiskowa {env} albo wpisz, gdy program zapyta)."),
    "what_password": ("password", "hasło"),
    "what_pin": ("PIN", "PIN"),
    "prompt_password": ("Password: ", "Hasło: "),
    "prompt_pin": ("PIN: ", "PIN: "),
    "prompt_new_pin": ("Set a PIN (6-8 digits; needed for later logins): ",
                       "Ustaw PIN (6–8 cyfr; będzie potrzebny do kolejnych logowań): "),
    "prompt_current_pin": ("Current PIN: ", "Obecny PIN: "),
    # What Kadra said, in its own words (problem+json detail); never an HTTP status.
    "unavailable": ("Kadra cannot do this right now. Try again in a moment.",
                    "Kadra nie może teraz tego zrobić. Spróbuj ponownie za chwilę."),
    "unexpected": ("Kadra could not do this. Try again; if it keeps failing, contact support.",
                   "Kadra nie mogła tego zrobić. Spróbuj ponownie; jeśli to się powtarza, skontaktuj się z pomocą."),
    "field": ("  {field}: {message}", "  {field}: {message}"),
}


def language(given: str | None = None) -> str:
    """pl or en: the option, else KADRA_MOBILE_LANG, else the system locale (Polish if it says so)."""
    choice = (given or os.environ.get(LANG_ENV) or "").lower()
    if choice in ("pl", "en"):
        return choice
    system = (os.environ.get("LC_ALL") or os.environ.get("LC_MESSAGES") or os.environ.get("LANG") or "").lower()
    return "pl" if system.startswith("pl") else "en"


def text(lang: str, key: str, **values) -> str:
    english, polish = MESSAGES[key]
    return (polish if lang == "pl" else english).format(**values)
