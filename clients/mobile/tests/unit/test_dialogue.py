"""kadra-mobile follows the guide's activation dialogue and speaks to people, not in HTTP status codes.

No network: the client's requests session gets a transport adapter that answers as the gateway does
(the same routes, statuses and problem+json bodies); tests/e2e/test_devices_guide.py drives the same
client against the running system.
"""
import base64
import io
import json

import pytest
import requests
from requests.adapters import BaseAdapter

from kadra_mobile import app, cli, messages

GATEWAY = "http://kadra.test"
GOOD_PASSWORD = "Dobre-Hasło-2025!x"


def problem(status: int, detail: str, detail_pl: str, errors=None) -> tuple[int, dict]:
    return status, {"type": "about:blank", "title": "t", "title_pl": "t", "status": status, "detail": detail,
                    "detail_pl": detail_pl, "code": "x", **({"errors": errors} if errors else {})}


class FakeGateway(BaseAdapter):
    """Answers the device routes like the gateway; `answers[(method, path)]` overrides one route."""

    def __init__(self):
        super().__init__()
        self.calls: list[tuple[str, str, dict | None]] = []
        self.answers: dict[tuple[str, str], tuple[int, dict | None]] = {}
        self.down = False

    def send(self, request, **kwargs):
        path = request.path_url.removeprefix("/api/v1")
        body = json.loads(request.body) if request.body else None
        self.calls.append((request.method, path, body))
        if self.down:
            raise requests.ConnectionError("connection refused")
        status, answer = self.answers.get((request.method, path)) or self.default(request.method, path, body)
        response = requests.Response()
        response.status_code = status
        response.url = request.url
        response.request = request
        response.raw = io.BytesIO(json.dumps(answer).encode() if answer is not None else b"")
        response.headers["Content-Type"] = "application/json"
        return response

    def default(self, method: str, path: str, body: dict | None):
        if (method, path) == ("POST", "/devices/activate"):
            if body["password"] != GOOD_PASSWORD:
                return problem(401, "The e-mail address or the password is wrong.",
                               "Nieprawidłowy adres e-mail lub hasło.")
            return 201, {"device_id": "d1", "access_token": "at", "refresh_token": "rt", "replaced_device_ids": []}
        if (method, path) == ("PUT", "/devices/d1/pin"):
            return 204, None
        if (method, path) == ("POST", "/devices/d1/challenge"):
            return 200, {"challenge": "c1.abc", "expires_in": 120}
        if (method, path) == ("PUT", "/devices/d1/biometrics"):
            return 204, None
        return 404, None

    def close(self):
        pass

    def routes(self) -> list[tuple[str, str]]:
        return [(method, path) for method, path, _ in self.calls]


@pytest.fixture
def gateway(monkeypatch):
    fake = FakeGateway()
    real_session = requests.Session

    def session():
        made = real_session()
        made.mount(GATEWAY, fake)
        return made

    monkeypatch.setattr(app.requests, "Session", session)
    for name in ("KADRA_MOBILE_PASSWORD", "KADRA_MOBILE_PIN", "KADRA_MOBILE_CURRENT_PIN", messages.LANG_ENV):
        monkeypatch.delenv(name, raising=False)
    return fake


@pytest.fixture
def run(tmp_path, capsys, monkeypatch):
    """run(*args, lang="pl", tty_answers=None) -> (exit code, stdout, stderr); tty_answers makes stdin a terminal
    whose person types those answers (getpass and input, in order)."""

    def call(*args, lang="pl", tty_answers=None):
        answers = list(tty_answers or [])
        monkeypatch.setattr(cli.sys, "stdin", type("Stdin", (), {"isatty": lambda self: tty_answers is not None})())
        monkeypatch.setattr(cli.getpass, "getpass", lambda prompt="": _answer(answers, prompt))
        monkeypatch.setattr("builtins.input", lambda prompt="": _answer(answers, prompt))
        code = cli.main(["--gateway", GATEWAY, "--state", str(tmp_path / "phone.json"), "--lang", lang, *args])
        out = capsys.readouterr()
        return code, out.out, out.err

    return call


def _answer(answers: list, prompt: str) -> str:
    print(prompt, end="")
    return answers.pop(0)


def activate(*more):
    return ("activate", "--email", "jan.kowalski@majafirma.pl", "--password", GOOD_PASSWORD, "--name", "Pixel 8",
            *more)


def test_activate_with_a_pin_goes_on_to_the_biometrics_question_and_ends_with_the_guides_words(gateway, run,
                                                                                                tmp_path):
    code, out, err = run(*activate("--pin", "482915", "--biometrics"))
    assert code == 0, err
    lines = out.strip().splitlines()
    assert lines[0].startswith("Ten telefon jest teraz Twoim zaufanym urządzeniem")
    assert "PIN ustawiony" in out and "Logowanie biometryczne włączone" in out
    assert lines[-1] == "To wszystko! Gratulujemy!"
    assert gateway.routes() == [("POST", "/devices/activate"), ("PUT", "/devices/d1/pin"),
                                ("POST", "/devices/d1/challenge"), ("PUT", "/devices/d1/biometrics")]
    pin_call, biometrics_call = gateway.calls[1][2], gateway.calls[3][2]
    assert pin_call == {"pin": "482915"} and biometrics_call["pin"] == "482915"
    state = json.loads((tmp_path / "phone.json").read_text())
    assert state["pin_set"] is True and state["biometric_key"]


def test_no_biometrics_is_an_answer_too_and_says_how_to_turn_it_on_later(gateway, run, tmp_path):
    code, out, err = run(*activate("--pin", "482915", "--no-biometrics"), lang="en")
    assert code == 0, err
    assert ("PUT", "/devices/d1/biometrics") not in gateway.routes()
    assert "you can turn it on at any time: kadra-mobile enable-biometrics" in out
    assert out.strip().splitlines()[-1] == "That's all! Congratulations!"
    assert json.loads((tmp_path / "phone.json").read_text())["biometric_key"] is None


def test_at_a_terminal_the_app_asks_for_the_pin_and_about_biometrics(gateway, run):
    code, out, err = run(*activate(), tty_answers=["482915", "t"])
    assert code == 0, err
    assert "Ustaw PIN (6–8 cyfr; będzie potrzebny do kolejnych logowań): " in out
    pin_at = out.index("PIN ustawiony")
    question_at = out.index("Czy chcesz korzystać z szybkiego logowania biometrycznego (np. za pomocą odcisku palca)?")
    assert pin_at < question_at < out.index("To wszystko! Gratulujemy!")  # the guide's order: PIN, biometrics, end
    assert ("PUT", "/devices/d1/biometrics") in gateway.routes()


def test_without_a_pin_and_no_terminal_activation_stops_and_names_the_next_step(gateway, run):
    code, out, err = run(*activate())
    assert code == 0, err
    assert "Dalej: ustaw PIN (kadra-mobile set-pin)." in out and "Gratulujemy" not in out
    assert gateway.routes() == [("POST", "/devices/activate")]
    # the next step, set-pin, goes on with the same dialogue
    code, out, err = run("set-pin", "--pin", "482915", "--biometrics")
    assert code == 0, err
    assert "Logowanie biometryczne włączone" in out and out.strip().endswith("To wszystko! Gratulujemy!")


def test_changing_the_pin_is_not_the_activation_dialogue(gateway, run):
    assert run(*activate("--pin", "482915", "--no-biometrics"))[0] == 0
    code, out, err = run("set-pin", "--pin", "730164", "--current-pin", "482915")
    assert code == 0, err
    assert out.strip() == "PIN zmieniony."


@pytest.mark.parametrize("lang, hints", [
    ("pl", ["Nieprawidłowy adres e-mail lub hasło.",
            "Nie pamiętasz adresu e-mail? Zapytaj właściciela firmy: widzi go w Dane i ustawienia → Użytkownicy.",
            "Nie pamiętasz hasła? Na stronie logowania wybierz „przypomnij hasło”: "
            "http://kadra.test/app/forgot-password"]),
    ("en", ["The e-mail address or the password is wrong.",
            "Forgot your e-mail address? Ask your company's owner: they see it under Dane i ustawienia → Użytkownicy",
            "Forgot your password? On the login page choose \"remind password\" (\"przypomnij hasło\"): "
            "http://kadra.test/app/forgot-password"]),
])
def test_a_wrong_password_gives_the_guides_two_hints_and_no_http_status(gateway, run, lang, hints):
    code, out, err = run("activate", "--email", "jan.kowalski@majafirma.pl", "--password", "not-my-password-1",
                         lang=lang)
    assert code == app.REFUSED
    for hint in hints:
        assert hint in err
    assert "401" not in err and "odpowiedziała" not in err and "answered" not in err


def test_refused_input_is_told_in_words_with_the_fields_and_no_status(gateway, run):
    gateway.answers[("POST", "/devices/activate")] = problem(
        422, "Some fields are invalid.", "Niektóre pola są niepoprawne.",
        errors=[{"field": "device_name", "message": "Not allowed.", "message_pl": "Niedozwolone znaki."}])
    code, _, err = run(*activate())
    assert code == app.INVALID
    assert err.strip().splitlines() == ["Niektóre pola są niepoprawne.", "  device_name: Niedozwolone znaki."]


@pytest.mark.parametrize("status, words", [(503, "Spróbuj ponownie za chwilę."), (504, "Spróbuj ponownie za chwilę."),
                                           (500, "skontaktuj się z pomocą")])
def test_a_server_failure_is_told_in_words(gateway, run, status, words):
    gateway.answers[("POST", "/devices/activate")] = problem(status, "x", "x")
    code, _, err = run(*activate())
    assert code == app.UNEXPECTED and words in err and str(status) not in err


def test_an_unreachable_gateway_is_told_in_words(gateway, run):
    gateway.down = True
    code, _, err = run(*activate(), lang="en")
    assert code == app.UNREACHABLE
    assert err.strip() == "Cannot reach Kadra at http://kadra.test. Check the connection and try again."


def test_every_message_is_in_both_languages_and_none_shows_a_status_code():
    for key, (english, polish) in messages.MESSAGES.items():
        assert english and polish, key
        assert "{status}" not in english + polish, key
    assert messages.text("pl", "all_done") == "To wszystko! Gratulujemy!"
    assert messages.text("en", "all_done") == "That's all! Congratulations!"


# -- approvals / approve: the phone approves a web login (kadra_mobile/approvals.py) --------------------------

APPROVAL = "a" * 32
WAITING = {"approval_id": APPROVAL, "purpose": "login", "app": "web", "client_ip": "203.0.113.7",
           "user_agent": "Firefox/130", "requested_at": "2026-12-07T01:00:00+00:00", "expires_in": 97}


@pytest.fixture
def active_phone(tmp_path):
    """A state file of an activated phone with its device and biometric keys."""
    from kadra_mobile import state as st
    device_key, biometric_key = st.new_key(), st.new_key()
    (tmp_path / "phone.json").write_text(json.dumps({"device_id": "d1", "device_key": device_key,
                                                     "biometric_key": biometric_key, "access_token": "at",
                                                     "refresh_token": "rt", "pin_set": True}))
    (tmp_path / "phone.json").chmod(0o600)
    return {"device_key": device_key, "biometric_key": biometric_key}


def _verify(private_b64: str, message: str, signature_b64: str) -> None:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    key = Ed25519PrivateKey.from_private_bytes(base64.b64decode(private_b64))
    key.public_key().verify(base64.b64decode(signature_b64), message.encode())  # raises when it does not match


def test_approvals_lists_where_and_when_in_the_persons_language(gateway, run, active_phone):
    gateway.answers[("GET", "/devices/d1/approvals")] = (200, {"approvals": [WAITING]})
    code, out, err = run("approvals")
    assert code == 0, err
    assert "Logowania czekające na Twoje potwierdzenie" in out and APPROVAL in out
    assert "203.0.113.7" in out and "Firefox/130" in out and "zostało 97 s" in out
    gateway.answers[("GET", "/devices/d1/approvals")] = (200, {"approvals": []})
    code, out, _ = run("approvals", lang="en")
    assert code == 0 and "No web login is waiting" in out


def test_approve_signs_the_request_the_number_and_a_fresh_challenge_with_the_pin(gateway, run, active_phone):
    gateway.answers[("GET", "/devices/d1/approvals")] = (200, {"approvals": [WAITING]})
    gateway.answers[("POST", f"/devices/d1/approvals/{APPROVAL}/approve")] = (200, {"decision": "approved"})
    code, out, err = run("approve", "--number", "07", "--pin=482915")
    assert code == 0, err
    assert "Logowanie potwierdzone" in out
    method, path, body = gateway.calls[-1]
    assert (method, path) == ("POST", f"/devices/d1/approvals/{APPROVAL}/approve")
    assert body["number"] == "07" and body["pin"] == "482915" and body["challenge"] == "c1.abc"
    _verify(active_phone["device_key"], f"kadra-approval.v1.{APPROVAL}.07.c1.abc", body["signature"])


def test_approve_with_biometrics_and_the_number_asked_at_a_terminal(gateway, run, active_phone):
    gateway.answers[("POST", f"/devices/d1/approvals/{APPROVAL}/approve")] = (200, {"decision": "approved"})
    code, out, err = run("approve", APPROVAL, "--biometric", tty_answers=["42"])
    assert code == 0, err
    assert "Wpisz liczbę widoczną na ekranie logowania" in out
    body = gateway.calls[-1][2]
    assert "pin" not in body and "signature" not in body
    _verify(active_phone["biometric_key"], f"kadra-approval.v1.{APPROVAL}.42.c1.abc", body["biometric_signature"])


def test_deny_and_a_wrong_number_are_told_in_words(gateway, run, active_phone):
    gateway.answers[("POST", f"/devices/d1/approvals/{APPROVAL}/deny")] = (200, {"decision": "denied"})
    code, out, err = run("approve", APPROVAL, "--deny", lang="en")
    assert code == 0 and "Login denied" in out, err
    gateway.answers[("POST", f"/devices/d1/approvals/{APPROVAL}/approve")] = problem(
        422, "Some fields are invalid.", "Niektóre pola są niepoprawne.",
        [{"field": "number", "message": "This is not the number shown on the login screen.",
          "message_pl": "To nie jest liczba z ekranu logowania."}])
    code, _, err = run("approve", APPROVAL, "--number", "13", "--pin=482915")
    assert code == app.INVALID and "To nie jest liczba z ekranu logowania" in err and "422" not in err


def test_approve_without_an_id_needs_exactly_one_waiting(gateway, run, active_phone):
    gateway.answers[("GET", "/devices/d1/approvals")] = (200, {"approvals": [WAITING, {**WAITING, "approval_id": "b" * 32}]})
    code, _, err = run("approve", "--number", "07", "--pin=482915")
    assert code == app.USAGE and "Czeka więcej niż jedno logowanie" in err
    gateway.answers[("GET", "/devices/d1/approvals")] = (200, {"approvals": []})
    code, _, err = run("approve", "--number", "07", "--pin=482915")
    assert code == app.NOT_ACTIVE and "Żadne logowanie nie czeka" in err


def test_an_expired_device_token_is_refreshed_once(gateway, run, active_phone, tmp_path):
    calls = {"n": 0}

    def listing():
        calls["n"] += 1
        return (401, {"code": "unauthorized"}) if calls["n"] == 1 else (200, {"approvals": [WAITING]})
    original = gateway.default

    def default(method, path, body):
        if (method, path) == ("GET", "/devices/d1/approvals"):
            return listing()
        if (method, path) == ("GET", "/me/devices"):
            return 401, {"code": "unauthorized"}
        if (method, path) == ("POST", "/auth/refresh"):
            return 200, {"access_token": "at2", "refresh_token": "rt2", "expires_in": 900}
        return original(method, path, body)
    gateway.default = default
    code, out, err = run("approvals")
    assert code == 0 and APPROVAL in out, err
    assert ("POST", "/auth/refresh") in gateway.routes()
    assert json.loads((tmp_path / "phone.json").read_text())["access_token"] == "at2"
