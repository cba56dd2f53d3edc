"""Fuzz the running gateway from its own OpenAPI document (schemathesis + Hypothesis, fixed seed).

    python tests/fuzz/fuzz.py --base-url http://127.0.0.1:8000 --cases 5000 [--seed 20250301] [--json out.json]

Every operation of `/api/v1/openapi.json` gets generated requests, valid ones (positive) and invalid ones
(negative), with random path parameters and with the real ids of a small world this script makes first
(two companies with their owners, an invitation, a trusted device). Checks, per generated case:

- no answer is a 5xx;
- the answer matches the schema the document gives for its status (schemathesis' response_schema_conformance);
- a route that declares `bearerAuth` accepts no request without a token, with a malformed token, or with the
  token of a person from another company (the "foreign" token, tried on the first company's real ids).

Then the device challenge (`c1.<device>.<expires>.<nonce>.<mac>`), which the spec knows only as "a string":
`challenge_cases` builds challenges in that format with one or more parts malformed (Unicode digits such as
"²", signs, huge numbers, other alphabets, surrogates, NUL, a part too many or too few, a real challenge with a
character changed) and sends each to every route that reads one (PIN login, biometric login, the PIN change, the
biometric step) of a device of its own: each must answer 401 or 422, nothing else.

`--cases` is the total number of generated cases, spread evenly over the operations and both modes; the
token probes come on top, and the challenge cases (a tenth as many again, at least 200). The exit code is 0
only when every check passed.
"""
import argparse
import base64
import json
import random
import re
import sys
import time
import uuid
from dataclasses import dataclass, field
from typing import Callable

import requests

PASSWORD = "Fuzz-Hasło-2025!xyz"
DEFAULT_SEED = 20250301
API = "/api/v1"
# The probes that must never be accepted, on a secured route.
GARBAGE_TOKEN = "Bearer not-a-real-token"


@dataclass
class Party:
    """A person with a company and a session (refreshed, not re-logged, so wrong-password fuzzing can't lock it)."""

    base: str
    email: str
    account_id: str = ""
    company_id: str = ""
    access: str = ""
    refresh: str = ""
    at: float = 0.0

    @classmethod
    def sign_up(cls, base: str, name: str, sign_up: Callable[..., dict] | None = None) -> "Party":
        """A new person with a company. `sign_up(email=, password=, full_name=, company_name=)` -> {account_id,
        company_id} is how the caller makes one; without it, tests.support.signup follows the e-mailed link
        (the confirmation e-mail read from a mailbox this process has open)."""
        email = f"fuzz.{name}.{uuid.uuid4().hex[:10]}@example.pl"
        data = {"email": email, "password": PASSWORD, "full_name": f"Fuzz {name}",
                "company_name": f"Fuzz {name} sp. z o.o."}
        if sign_up is not None:
            made = sign_up(**data)
        else:
            from tests.support import signup

            session = requests.Session()
            session.url = lambda path: base + path
            made = signup.sign_up(session, email, PASSWORD, data["full_name"], data["company_name"])
        party = cls(base, email, made["account_id"], made["company_id"])
        party.login()
        return party

    def login(self):
        answer = requests.post(f"{self.base}{API}/auth/login", json={"email": self.email, "password": PASSWORD},
                               timeout=30)
        answer.raise_for_status()
        self._store(answer.json())

    def _store(self, pair: dict):
        self.access, self.refresh, self.at = pair["access_token"], pair["refresh_token"], time.monotonic()

    def renew(self):
        answer = requests.post(f"{self.base}{API}/auth/refresh", json={"refresh_token": self.refresh}, timeout=30)
        if answer.status_code == 200:
            self._store(answer.json())
        else:
            self.login()

    @property
    def headers(self) -> dict:
        if time.monotonic() - self.at > 300:  # access tokens live 15 minutes
            self.renew()
        return {"Authorization": f"Bearer {self.access}"}

    def still_valid(self) -> bool:
        return requests.get(f"{self.base}{API}/me", headers={"Authorization": f"Bearer {self.access}"},
                            timeout=30).status_code == 200


@dataclass
class World:
    """Real ids to aim at: the first company (owner A), another company (owner B), an invitation, a device."""

    a: Party
    b: Party
    invitation_id: str = ""
    device_id: str = ""
    device_token: str = ""

    sign_up: Callable[..., dict] | None = None

    @classmethod
    def make(cls, base: str, sign_up: Callable[..., dict] | None = None) -> "World":
        world = cls(Party.sign_up(base, "a", sign_up), Party.sign_up(base, "b", sign_up), sign_up=sign_up)
        invited = requests.post(f"{base}{API}/companies/{world.a.company_id}/users", headers=world.a.headers,
                                json={"email": f"fuzz.invited.{uuid.uuid4().hex[:8]}@example.pl", "role": "employee"},
                                timeout=30)
        if invited.status_code == 201:
            world.invitation_id = invited.json()["invitation_id"]
        device = Phone.activate(base, world.a)
        if device is not None:
            world.device_id, world.device_token = device.device_id, device.token
        return world

    def path_ids(self) -> dict:
        ids = {"company_id": self.a.company_id, "account_id": self.a.account_id}
        if self.invitation_id:
            ids["invitation_id"] = self.invitation_id
        if self.device_id:
            ids["device_id"] = self.device_id
        return ids


@dataclass
class Phone:
    """A trusted device the fuzz made: its id, token and device key (to sign what a real phone would)."""

    base: str
    device_id: str
    token: str
    key: object

    @classmethod
    def activate(cls, base: str, party: Party) -> "Phone | None":
        try:
            from cryptography.hazmat.primitives import serialization
            from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
        except ImportError:
            return None
        key = Ed25519PrivateKey.generate()
        raw = key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        device = requests.post(f"{base}{API}/devices/activate", timeout=30, json={
            "email": party.email, "password": PASSWORD, "device_name": "Fuzz phone", "platform": "android",
            "public_key": base64.b64encode(raw).decode(), "replace": True})
        if device.status_code != 201:
            return None
        return cls(base, device.json()["device_id"], device.json()["access_token"], key)

    def sign(self, text: str) -> str:
        try:
            return base64.b64encode(self.key.sign(text.encode("utf-8"))).decode()
        except UnicodeEncodeError:  # a lone surrogate: no phone could sign it; send a well-formed signature
            return base64.b64encode(b"\0" * 64).decode()

    def challenge(self) -> str | None:
        answer = requests.post(f"{self.base}{API}/devices/{self.device_id}/challenge", timeout=30)
        return answer.json()["challenge"] if answer.status_code == 200 else None


@dataclass
class Report:
    cases: int = 0
    probes: int = 0
    by_operation: dict = field(default_factory=dict)
    statuses: dict = field(default_factory=dict)
    failures: list = field(default_factory=list)
    notes: list = field(default_factory=list)

    def fail(self, kind: str, label: str, detail: str):
        if sum(1 for f in self.failures if f["kind"] == kind and f["operation"] == label) < 3:
            self.failures.append({"kind": kind, "operation": label, "detail": detail[:1500]})
        else:
            self.failures.append({"kind": kind, "operation": label, "detail": "(same kind again)"})

    challenge_cases: int = 0
    challenge_statuses: dict = field(default_factory=dict)

    def summary(self) -> str:
        kinds = {}
        for f in self.failures:
            kinds.setdefault(f["kind"], set()).add(f["operation"])
        lines = [f"{self.cases} generated cases over {len(self.by_operation)} operations, {self.probes} token probes",
                 f"statuses: {dict(sorted(self.statuses.items()))}",
                 f"of which {self.challenge_cases} malformed device challenges, answered "
                 f"{dict(sorted(self.challenge_statuses.items()))}"]
        for kind, ops in sorted(kinds.items()):
            count = sum(1 for f in self.failures if f["kind"] == kind)
            lines.append(f"FAIL {kind}: {count} case(s) in {', '.join(sorted(ops))}")
        if not self.failures:
            lines.append("no server error, no answer off the documented schema, no missing/malformed/foreign token accepted")
        return "\n".join(lines)


def _secured(operation) -> bool:
    definition = operation.definition.raw if hasattr(operation.definition, "raw") else operation.definition
    return bool(definition.get("security"))


def _device_route(path: str) -> bool:
    return bool(re.search(r"/devices/\{device_id\}/(pin|biometrics)$", path))


def _session_ending(method: str, path: str) -> bool:
    return (method, path) in {("POST", "/api/v1/auth/logout")}


def run(base_url: str, total_cases: int = 400, seed: int = DEFAULT_SEED, world: World | None = None,
        progress=None, sign_up: Callable[..., dict] | None = None) -> Report:
    """Fuzz every operation; `total_cases` generated cases in all (plus the token probes and the challenges).

    `sign_up`: how to make a person (see Party.sign_up)."""
    import schemathesis
    from hypothesis import HealthCheck, Phase, given, settings
    from hypothesis import seed as fixed_seed
    from schemathesis.generation import GenerationMode
    from schemathesis.specs.openapi.checks import response_schema_conformance

    base_url = base_url.rstrip("/")
    schema = schemathesis.openapi.from_url(f"{base_url}{API}/openapi.json", timeout=30)
    operations = [result.ok() for result in schema.get_all_operations() if hasattr(result, "ok")]
    world = world or World.make(base_url, sign_up)
    report = Report()
    # First, while nothing has touched the devices: the challenge format, on a device of its own.
    challenge_cases(base_url, max(200, total_cases // 10), seed, world, report, progress)
    # Two modes × two kinds of path ids (random and real) per operation.
    per_strategy = max(1, total_cases // max(1, len(operations) * 4))
    session = requests.Session()

    for operation in operations:
        label = f"{operation.method.upper()} {operation.path}"
        secured = _secured(operation)
        real_ids = {k: v for k, v in world.path_ids().items() if "{" + k + "}" in operation.path}
        variants = [(mode, ids) for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)
                    for ids in ({}, real_ids)]
        if progress:
            progress(f"{label}: {per_strategy * len(variants)} cases")
        for mode, ids in variants:
            strategy = operation.as_strategy(generation_mode=mode, path_parameters=ids or None)

            one = _case_runner(operation, label, secured, bool(ids), mode, world, base_url, session, report,
                               response_schema_conformance)
            test = settings(max_examples=per_strategy, deadline=None, database=None, derandomize=False,
                            phases=[Phase.generate], suppress_health_check=list(HealthCheck),
                            print_blob=False)(given(case=strategy)(one))
            test = fixed_seed(seed)(test)
            try:
                test()
            except Exception as error:
                if type(error).__name__ == "Unsatisfiable":
                    # nothing to make invalid (an operation without parameters has no negative cases)
                    continue
                report.fail("generation", label, f"{type(error).__name__}: {error}")
    return report


def _case_runner(*args):
    def one(case):
        _exercise(case, *args)
    return one


def _exercise(case, operation, label, secured, real_ids, mode, world, base_url, session, report, conformance):
    method, path = operation.method.upper(), operation.path
    headers = {}
    if secured:
        if _device_route(path) and world.device_token:
            headers = {"Authorization": f"Bearer {world.device_token}"}
        elif _session_ending(method, path):
            throwaway = Party(world.a.base, world.a.email)
            throwaway.login()
            headers = {"Authorization": f"Bearer {throwaway.access}"}
        else:
            headers = world.a.headers
    if case.headers:
        case.headers = {k: v for k, v in case.headers.items() if k.lower() != "authorization"}
    try:
        response = case.call(base_url=base_url, session=session, headers=headers, timeout=30)
    except requests.RequestException as error:
        report.fail("no answer", label, f"{type(error).__name__}: {error}")
        return
    report.cases += 1
    report.by_operation[label] = report.by_operation.get(label, 0) + 1
    report.statuses[response.status_code] = report.statuses.get(response.status_code, 0) + 1
    if response.status_code >= 500 and not (path == "/readyz" and response.status_code == 503):
        report.fail("server error", label, f"{response.status_code} {response.text[:500]}\n{case.as_curl_command()}")
    else:
        try:
            case.validate_response(response, checks=[conformance], headers=headers)
        except BaseException as error:  # schemathesis' FailureGroup
            if isinstance(error, (KeyboardInterrupt, SystemExit)):
                raise
            report.fail("schema", label, f"{response.status_code}: {error}")
    if secured and response.status_code == 401 and headers and not _session_ending(method, path):
        # our own token was refused: renew it (a generated request may have ended the session on purpose)
        world.a.renew()
    if secured and mode.name == "POSITIVE":
        _probe_tokens(case, label, real_ids, world, base_url, session, report)


def _probe_tokens(case, label, real_ids, world, base_url, session, report):
    probes = [("missing token", {}), ("malformed token", {"Authorization": GARBAGE_TOKEN})]
    if real_ids and "{" in case.operation.path:
        probes.append(("foreign token", world.b.headers))
    for kind, headers in probes:
        try:
            response = case.call(base_url=base_url, session=session, headers=headers, timeout=30)
        except requests.RequestException as error:
            report.fail("no answer", label, f"{kind}: {error}")
            continue
        report.probes += 1
        if response.status_code < 400:
            report.fail(f"accepted a {kind}", label, f"{response.status_code} {response.text[:300]}")
        elif response.status_code >= 500:
            report.fail("server error", label, f"{kind}: {response.status_code} {response.text[:300]}")
        elif kind != "foreign token" and response.status_code != 401:
            note = f"{label}: {kind} answered {response.status_code}, not 401"
            if note not in report.notes:
                report.notes.append(note)


# -- the device challenge ----------------------------------------------------------------------------------

B64URL = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
# Parts that are not what the format wants: digits str.isdigit accepts but int() refuses (or reads otherwise),
# other alphabets, signs and spaces, sizes off, characters JSON carries but UTF-8 cannot encode.
ODD_NUMBERS = ["²", "¹²³", "1²", "١٧٠٠٠٠٠٠٠٠", "１７００００００００", "۱۲", "߁", "+1700000000", "-1", " 1700000000",
               "1700000000 ", "1_700_000_000", "1e9", "0x10", "9" * 11, "9" * 40, "", "٠", "Ⅻ", "½", "1.5",
               "1700000000\n", "\x001", "১২৩"]
ODD_TEXT = ["", "²", "ż" * 43, "A" * 42, "A" * 44, "A" * 200, "\ud800" + "A" * 42, "A" * 42 + "\x00", "A+/=" * 11,
            "Ａ" * 43, " " * 43, "A\nB", "\u202e" + "A" * 42, "%41" * 14, "..", "\u2024" * 10]
ODD_VERSIONS = ["c2", "C1", "ｃ1", "c", "c1 ", "", "c²", "\u0441" + "1"]


def _malformed_challenge(rnd: random.Random, device_id: str, real: str | None) -> str:
    """A challenge-shaped string with at least one part malformed (never a genuine one: the MAC never matches)."""
    if real and rnd.random() < 0.2:  # a real challenge with one character changed, added or removed
        i = rnd.randrange(len(real))
        change = rnd.choice([real[:i] + rnd.choice("²١Ａ.\x00ż") + real[i + 1:], real[:i] + real[i + 1:],
                             real[:i] + rnd.choice(B64URL) + real[i:]])
        return change if change != real else change + "²"
    parts = ["c1", device_id, str(int(time.time()) + 120), "".join(rnd.choice(B64URL) for _ in range(43)),
             "".join(rnd.choice(B64URL) for _ in range(22))]
    bad = rnd.sample(range(5), rnd.choice([1, 1, 1, 2, 3]))
    for index in bad:
        if index == 0:
            parts[0] = rnd.choice(ODD_VERSIONS)
        elif index == 1:
            parts[1] = rnd.choice(["²" + device_id[1:], device_id.upper().replace("A", "Ａ"), "a" * 65, "",
                                   device_id + "\n", uuid.uuid4().hex, "ż" * 32])
        elif index == 2:
            parts[2] = rnd.choice(ODD_NUMBERS)
        else:
            parts[index] = rnd.choice(ODD_TEXT)
    joined = ".".join(parts)
    shape = rnd.random()
    if shape < 0.1:
        return joined + "." + rnd.choice(ODD_TEXT)  # a part too many
    if shape < 0.2:
        return ".".join(parts[:rnd.randrange(1, 5)])  # too few
    if shape < 0.25:
        return joined.replace(".", rnd.choice(["\u2024", "\uff0e", ",", ". "]))
    return joined


def challenge_cases(base_url: str, count: int, seed: int, world: World, report: Report, progress=None) -> None:
    """Malformed challenges to every route that reads one, on a device (with a PIN) made for it: 401 or 422."""
    party = Party.sign_up(base_url, "challenges", world.sign_up)
    phone = Phone.activate(base_url, party)
    if phone is None:
        report.fail("setup", "challenges", "no device could be activated for the challenge cases")
        return
    pin, session, rnd = "482915", requests.Session(), random.Random(seed)
    bearer = {"Authorization": f"Bearer {phone.token}"}
    url = f"{base_url}{API}/devices/{phone.device_id}"
    session.put(f"{url}/pin", json={"pin": pin}, headers=bearer, timeout=30)
    routes = {
        "POST /devices/{device_id}/login (PIN)":
            lambda c: session.post(f"{url}/login", timeout=30,
                                   json={"challenge": c, "signature": phone.sign(c), "pin": pin}),
        "POST /devices/{device_id}/login (biometric)":
            lambda c: session.post(f"{url}/login", timeout=30, json={"challenge": c, "biometric_signature": phone.sign(c)}),
        "PUT /devices/{device_id}/pin (change)":
            lambda c: session.put(f"{url}/pin", headers=bearer, timeout=30, json={
                "pin": "730164", "current_pin": pin, "challenge": c, "signature": phone.sign(c)}),
        "PUT /devices/{device_id}/biometrics":
            lambda c: session.put(f"{url}/biometrics", headers=bearer, timeout=30, json={
                "public_key": "Fb1UxVZ6mJ0yF7qgSUm8xK9o0n2v5wq4dJxvZ1c3nBk=", "pin": pin, "challenge": c,
                "signature": phone.sign(c)}),
    }
    if progress:
        progress(f"device challenges: {count} malformed ones over {len(routes)} routes")
    names = list(routes)
    real = None
    for n in range(count):
        if n % 25 == 0:
            real = phone.challenge()
        challenge = _malformed_challenge(rnd, phone.device_id, real)
        label = names[n % len(names)]
        try:
            response = routes[label](challenge)
        except requests.RequestException as error:
            report.fail("no answer", label, f"{type(error).__name__}: {error}")
            continue
        report.cases += 1
        report.challenge_cases += 1
        report.by_operation[label] = report.by_operation.get(label, 0) + 1
        report.statuses[response.status_code] = report.statuses.get(response.status_code, 0) + 1
        report.challenge_statuses[response.status_code] = report.challenge_statuses.get(response.status_code, 0) + 1
        if response.status_code >= 500:
            report.fail("server error", label, f"{response.status_code} {response.text[:300]}\n{challenge!r}")
        elif response.status_code not in (401, 422):
            report.fail("malformed challenge not refused", label, f"{response.status_code} {response.text[:300]}\n"
                                                                  f"{challenge!r}")
    # nothing of all that counted as a wrong PIN or changed anything: the PIN still logs in
    real = phone.challenge()
    check = session.post(f"{url}/login", timeout=30, json={"challenge": real, "signature": phone.sign(real or ""),
                                                            "pin": pin}) if real else None
    if check is None or check.status_code != 200:
        report.fail("malformed challenge changed the device", "challenges",
                    f"the right PIN no longer logs in: {getattr(check, 'status_code', 'no challenge')}")
    session.close()


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--base-url", default="http://127.0.0.1:8000")
    parser.add_argument("--cases", type=int, default=5000)
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--json", help="write the report here")
    args = parser.parse_args(argv)
    started = time.monotonic()
    report = run(args.base_url, args.cases, args.seed, progress=lambda m: print(f"[fuzz] {m}", flush=True))
    print(report.summary())
    for note in report.notes:
        print(f"note: {note}")
    for failure in report.failures[:40]:
        print(f"\n--- {failure['kind']} — {failure['operation']}\n{failure['detail']}")
    print(f"[fuzz] {time.monotonic() - started:.0f} s")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(report.__dict__, f, indent=1, default=str)
    return 1 if report.failures else 0


if __name__ == "__main__":
    sys.exit(main())


def spec_gaps(spec: dict) -> list[str]:
    """What a route's documentation lacks: errors (401 when secured, 422 when it takes input) and an example."""
    gaps = []
    for path, operations in spec.get("paths", {}).items():
        for method, op in operations.items():
            if method not in ("get", "post", "put", "patch", "delete"):
                continue
            label = f"{method.upper()} {path}"
            responses = op.get("responses", {})
            text = json.dumps(op)
            if op.get("security") and "401" not in responses:
                gaps.append(f"{label}: needs a token but documents no 401")
            takes_input = "requestBody" in op or any(p.get("in") == "query" for p in op.get("parameters", []))
            if takes_input and "422" not in responses:
                gaps.append(f"{label}: takes input but documents no 422")
            if "{" in path and "404" not in responses and path.startswith(API):
                gaps.append(f"{label}: has a path id but documents no 404")
            if '"example' not in text and "Example" not in text:
                gaps.append(f"{label}: no example (request or answer)")
            for status, response in responses.items():
                if status.startswith("2") and status != "204" and not response.get("content") \
                        and not response.get("$ref"):
                    gaps.append(f"{label}: answer {status} has no documented body")
    error = spec.get("components", {}).get("schemas", {}).get("Error", {})
    if error and "detail" not in error.get("properties", {}):
        gaps.append("components.schemas.Error is flask-smorest's {code:int, status:str, message, errors}, not the "
                    "problem+json body the gateway answers ({type, title, title_pl, status:int, code:str, detail, "
                    "detail_pl, errors:[{field, message, message_pl}]}); and errors are documented as "
                    "application/json, answered as application/problem+json")
    return gaps
