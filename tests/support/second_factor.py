"""An authenticator app for the tests: pyotp computing the codes a person would read off their phone.

The server accepts a code of the current 30-second step or one either side, each step once per account, never
an older one than the newest used; `Authenticator.code()` hands out the next unused step that is still
accepted now (waiting for the clock when both usable steps are spent).
"""
import time

import pyotp

API = "/api/v1"


class Authenticator:
    """The codes of one TOTP secret, each step handed out once."""

    def __init__(self, secret: str):
        self.totp = pyotp.TOTP(secret)
        self.last = -1

    def code(self) -> str:
        while True:
            now = int(time.time() // 30)
            step = max(self.last + 1, now)
            if step <= now + 1:
                self.last = step
                return self.totp.generate_otp(step)
            time.sleep(0.5)

    def wrong(self) -> str:
        """A six-digit code that is none of the accepted ones right now."""
        now = int(time.time() // 30)
        taken = {self.totp.generate_otp(s) for s in range(now - 2, now + 3)}
        return next(c for c in (f"{n:06d}" for n in range(123456, 999999, 7919)) if c not in taken)


def enrol(api, headers: dict) -> tuple[Authenticator, list[str], dict]:
    """Turn TOTP on for the bearer's account: (its authenticator, the ten recovery codes, the enrolment answer)."""
    begun = api.post(api.url(f"{API}/me/second-factor/totp"), headers=headers)
    assert begun.status_code == 200, begun.text
    app = Authenticator(begun.json()["secret"])
    confirmed = api.post(api.url(f"{API}/me/second-factor/totp/confirm"), headers=headers, json={"code": app.code()})
    assert confirmed.status_code == 200, confirmed.text
    return app, confirmed.json()["recovery_codes"], begun.json()


def first_step(api, email: str, password: str) -> dict:
    """The pending login a right password answers for an account with TOTP."""
    response = api.post(api.url(f"{API}/auth/login"), json={"email": email, "password": password})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body.get("second_factor_required") is True and "access_token" not in body, body
    return body


def second_step(api, pending_token: str, **code):
    return api.post(api.url(f"{API}/auth/login/second-factor"), json={"pending_token": pending_token, **code})
