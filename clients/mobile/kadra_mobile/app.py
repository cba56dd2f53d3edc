"""One run of `kadra-mobile`: its options, language, state file and gateway (`App`), the exit codes, and a
`Failure` that stops the run with a message in the person's language (the commands: kadra_mobile.cli and
kadra_mobile.approvals)."""
import getpass
import os
import sys

import requests

from kadra_mobile import messages, state as st

GATEWAY_ENV = "KADRA_GATEWAY_URL"
DEFAULT_GATEWAY = "http://127.0.0.1:8000"
API = "/api/v1"
TIMEOUT = 15

OK, UNEXPECTED, USAGE, ALREADY_PAIRED, REFUSED, BLOCKED, NOT_ACTIVE, UNREACHABLE, INVALID, THROTTLED = range(10)
_BY_STATUS = {400: INVALID, 401: REFUSED, 403: REFUSED, 404: NOT_ACTIVE, 409: ALREADY_PAIRED, 415: INVALID,
              422: INVALID, 423: BLOCKED, 429: THROTTLED}


class Failure(Exception):
    """Stop with this message and exit code."""

    def __init__(self, code: int, message: str, status: int | None = None):
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status


class App:
    """One run of the program: options, language, the state file and the gateway."""

    def __init__(self, args):
        self.args = args
        self.lang = messages.language(args.lang)
        self.gateway = (args.gateway or os.environ.get(GATEWAY_ENV) or DEFAULT_GATEWAY).rstrip("/")
        self.path = st.state_path(args.state)
        self.http = requests.Session()
        try:
            self.state = st.load(self.path)
        except st.UnsafeState:
            raise Failure(UNEXPECTED, self.t("unsafe_state", path=self.path)) from None

    def t(self, key: str, **values) -> str:
        return messages.text(self.lang, key, **values)

    def save(self) -> None:
        st.save(self.path, self.state)

    # HTTP

    def call(self, method: str, path: str, body: dict | None = None, token: str | None = None,
             expect=(200, 201, 204)) -> requests.Response:
        headers = {"Accept": "application/json", "Accept-Language": self.lang}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        try:
            response = self.http.request(method, f"{self.gateway}{API}{path}", json=body, headers=headers,
                                         timeout=TIMEOUT)
        except requests.RequestException:
            raise Failure(UNREACHABLE, self.t("unreachable", url=self.gateway)) from None
        if response.status_code not in expect:
            raise self.problem(response)
        return response

    def problem(self, response: requests.Response) -> Failure:
        """The server's problem+json as a Failure in the person's language."""
        try:
            problem = response.json()
        except ValueError:
            problem = {}
        status = response.status_code
        code = _BY_STATUS.get(status, UNEXPECTED)
        if status == 423:
            return Failure(BLOCKED, self.t("blocked"), status)
        if status >= 500:
            return Failure(code, self.t("unavailable" if status in (502, 503, 504) else "unexpected"), status)
        polish = self.lang == "pl"
        detail = (problem.get("detail_pl" if polish else "detail") or problem.get("title_pl" if polish else "title")
                  or problem.get("detail") or self.t("unexpected"))
        lines = [detail]
        for error in problem.get("errors") or []:
            message = error.get("message_pl" if self.lang == "pl" else "message") or error.get("message")
            lines.append(self.t("field", field=error.get("field"), message=message))
        return Failure(code, "\n".join(lines), status)

    # secrets

    def interactive(self) -> bool:
        """A person at a terminal who can answer questions (not --json, not a pipe)."""
        return sys.stdin.isatty() and not self.args.json

    def secret(self, given: str | None, env: str, prompt_key: str, what_key: str) -> str:
        value = given or os.environ.get(env)
        if value:
            return value
        if sys.stdin.isatty():
            return getpass.getpass(self.t(prompt_key))
        raise Failure(USAGE, self.t("need_secret", what=self.t(what_key), env=env))

    # state

    def device(self) -> dict:
        if not self.state.get("device_id"):
            raise Failure(NOT_ACTIVE, self.t("not_activated"))
        return self.state

    def token(self) -> str:
        token = self.device().get("access_token")
        if not token:
            raise Failure(REFUSED, self.t("session_ended"))
        return token

    def signed_challenge(self, private_key: str) -> tuple[str, str]:
        """A fresh challenge for this device and its signature by `private_key`."""
        device_id = self.device()["device_id"]
        try:
            response = self.call("POST", f"/devices/{device_id}/challenge")
        except Failure as failure:
            if failure.code == NOT_ACTIVE:
                raise Failure(NOT_ACTIVE, self.t("device_gone")) from None
            raise
        challenge = response.json()["challenge"]
        return challenge, st.sign(private_key, challenge)

    def with_device_token(self, method: str, path: str, body: dict | None = None,
                          proof: bool = False) -> requests.Response:
        """A call with the device's token; a refused token means the session (or the device) is gone.

        `proof`: the body carries a PIN and a signed challenge, so a 401 may refuse those instead of the
        token: the token is tried once more (on a read) to tell which, and the person is told the right one.
        """
        try:
            return self.call(method, path, body, token=self.token())
        except Failure as failure:
            if failure.status == 401 and not (proof and self.token_still_works()):
                raise Failure(REFUSED, self.t("session_ended") + "\n" + failure.message) from None
            raise

    def token_still_works(self) -> bool:
        try:
            self.call("GET", "/me/devices", token=self.token())
        except Failure:
            return False
        return True
