"""The customer guide's Part 2 ("Mobile app / trusted devices") end to end, driving `kadra-mobile`.

A person with a web account activates the app with their e-mail and password
(a wrong one is answered with the guide's two hints), sets a PIN, is asked about
biometrics and told "To wszystko! Gratulujemy!", turns biometrics on, logs in
both ways; a second phone is refused until the replacement is confirmed, and
goes through the whole dialogue in one run; the notice e-mails arrive over SMTP.
"""
import os
import stat
import subprocess
import sys

import pytest

from tests.support.devices import sign_up

pytestmark = pytest.mark.e2e

KADRA_MOBILE = os.path.join(os.path.dirname(sys.executable), "kadra-mobile")


def test_guide_part_2_mobile_app_with_kadra_mobile(api, system, mailbox, tmp_path):
    # The person already uses the web application (journey 1): the same e-mail and password activate the app.
    account = sign_up(api, locale="pl")

    def phone(state_file, *args, lang="pl", **env):
        full_env = dict(os.environ, KADRA_GATEWAY_URL=system.base_url, KADRA_MOBILE_STATE=str(tmp_path / state_file),
                        KADRA_MOBILE_LANG=lang, **env)
        full_env.pop("KADRA_MOBILE_PASSWORD", None) if "KADRA_MOBILE_PASSWORD" not in env else None
        return subprocess.run([KADRA_MOBILE, *args], env=full_env, capture_output=True, text=True, timeout=60,
                              stdin=subprocess.DEVNULL)

    password = {"KADRA_MOBILE_PASSWORD": account["password"]}

    # 3. "Aktywuj aplikację": confirm access with the web e-mail and password.
    wrong = phone("pixel.json", "activate", "--email", account["email"], "--name", "Pixel 8",
                  KADRA_MOBILE_PASSWORD="not-my-password-1")
    assert wrong.returncode == 4, wrong.stderr
    # the guide's note: a forgotten e-mail is in Dane i ustawienia → Użytkownicy (the owner sees it there),
    # a forgotten password is reset with "przypomnij hasło"; no HTTP status is shown
    assert "Nieprawidłowy adres e-mail lub hasło." in wrong.stderr
    assert "Zapytaj właściciela firmy: widzi go w Dane i ustawienia → Użytkownicy." in wrong.stderr
    assert f"wybierz „przypomnij hasło”: {system.base_url}/app/forgot-password" in wrong.stderr
    assert "401" not in wrong.stderr and "odpowiedziała" not in wrong.stderr
    activated = phone("pixel.json", "activate", "--email", account["email"], "--name", "Pixel 8",
                      "--platform", "android", **password)
    assert activated.returncode == 0, activated.stderr
    assert "zaufanym urządzeniem" in activated.stdout
    state_file = tmp_path / "pixel.json"
    assert stat.S_IMODE(state_file.stat().st_mode) == 0o600  # keys readable only by their owner
    paired = mailbox.wait_for(account["email"], subject_contains="nowe urządzenie zaufane", count=1, timeout=30)
    assert "Pixel 8" in paired[0].text and "Android" in paired[0].text

    # 4. Set a PIN (a trivial one is refused, naming the field), then biometrics.
    trivial = phone("pixel.json", "set-pin", "--pin", "123456")
    assert trivial.returncode == 8 and "pin" in trivial.stderr
    letters = phone("pixel.json", "set-pin", "--pin", "48a915", lang="en")
    assert letters.returncode == 8 and "pin" in letters.stderr
    # "Ustaw PIN", then the app asks about biometrics (answered "not now" here), then the guide's last words
    pin = phone("pixel.json", "set-pin", "--pin", "482915", "--no-biometrics")
    assert pin.returncode == 0, pin.stderr
    assert "PIN ustawiony" in pin.stdout and "możesz je włączyć w każdej chwili" in pin.stdout
    assert pin.stdout.strip().splitlines()[-1] == "To wszystko! Gratulujemy!"
    # Biometrics need the PIN (and a challenge the app signs with the device key): the token alone is not enough.
    no_pin = phone("pixel.json", "enable-biometrics", lang="en")
    assert no_pin.returncode == 2 and "PIN" in no_pin.stderr
    wrong_for_biometrics = phone("pixel.json", "enable-biometrics", "--pin", "950173", lang="en")
    assert wrong_for_biometrics.returncode == 4, wrong_for_biometrics.stderr
    assert "Wrong PIN" in wrong_for_biometrics.stderr and "session" not in wrong_for_biometrics.stderr.lower()
    biometrics = phone("pixel.json", "enable-biometrics", "--pin", "482915")
    assert biometrics.returncode == 0 and "biometryczne" in biometrics.stdout, biometrics.stderr

    # Later logins: a signed challenge with the PIN, or with the biometric key alone.
    pin_login = phone("pixel.json", "login", "--pin", KADRA_MOBILE_PIN="482915")
    assert pin_login.returncode == 0, pin_login.stderr
    wrong_pin = phone("pixel.json", "login", "--pin", "950173", lang="en")
    assert wrong_pin.returncode == 4 and "Wrong PIN" in wrong_pin.stderr
    bio_login = phone("pixel.json", "login", "--biometric", lang="en")
    assert bio_login.returncode == 0 and "Logged in (biometrics)" in bio_login.stdout
    status = phone("pixel.json", "status", lang="en")
    assert status.returncode == 0 and "Pixel 8" in status.stdout and "biometrics: yes" in status.stdout

    # "At most one mobile device can be linked to your account": a second phone is refused...
    second = phone("iphone.json", "activate", "--email", account["email"], "--name", "iPhone 15",
                   "--platform", "ios", **password)
    assert second.returncode == 3, second.stderr
    assert "Pixel 8" in second.stderr and "--replace" in second.stderr
    # ...until the person confirms the replacement; the old phone is logged out at once.
    # This time the whole dialogue in one run: activation, "Set a PIN", biometrics yes, "That's all!".
    replaced = phone("iphone.json", "activate", "--email", account["email"], "--name", "iPhone 15",
                     "--platform", "ios", "--replace", "--pin", "730164", "--biometrics", lang="en", **password)
    assert replaced.returncode == 0, replaced.stderr
    assert "previous device was removed" in replaced.stdout
    assert "PIN set" in replaced.stdout and "Biometric login is on" in replaced.stdout
    assert replaced.stdout.strip().splitlines()[-1] == "That's all! Congratulations!"
    old_status = phone("pixel.json", "status", lang="en")
    assert old_status.returncode == 4, old_status.stderr
    old_login = phone("pixel.json", "login", "--pin", "482915", lang="en")
    assert old_login.returncode == 6 and "no longer" in old_login.stderr
    both = mailbox.wait_for(account["email"], subject_contains="nowe urządzenie zaufane", count=2, timeout=30)
    assert any("iPhone 15" in m.text and "iOS" in m.text for m in both)

    # The new phone goes on: PIN, login, status; and the person can remove it at any time.
    assert phone("iphone.json", "login", "--pin", "730164").returncode == 0
    assert phone("iphone.json", "login", "--biometric").returncode == 0
    removed = phone("iphone.json", "remove", lang="en")
    assert removed.returncode == 0 and "removed" in removed.stdout
    assert phone("iphone.json", "status").returncode == 6
