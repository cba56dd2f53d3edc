"""Identity's figures for `make bench` (bench/run.py calls run(ctx)).

- password logins/s through the gateway (wrk, both cores busy) vs the pure argon2id verify rate in as
  many processes as cores (goal >= 0.8);
- token refreshes/s through gateway, RPC and database (wrk, 8 connections, each with its own rotating
  chain) vs the bare nameko echo RPC rate, many in flight (goal >= 0.4);
- authenticated GET /me/s (wrk) vs the same echo RPC rate (goal >= 0.5), and its p99 at half that
  load (bench/pacer: a fixed schedule sent by a small Go program, latency counted from the due time;
  goal <= 20 ms);
- forgot-password, a failed login and a sign-up request: latency for a known (taken) vs an unknown (new)
  address (mean and p99; compared, not asserted: a difference would tell an attacker which addresses have
  accounts). A sign-up request for a new address stores a sign-up and its confirmation e-mail; for a taken one,
  a notice to the owner: both one argon2id hash and the same writes.
"""
import json
import multiprocessing
import os
import statistics
import tempfile
import time
import uuid

import requests

import pace

PASSWORD = "correct horse battery staple"


def _row(figure, value, unit, baseline=None, baseline_value=None, goal=None, ok=None):
    ratio = value / baseline_value if baseline_value else None
    return {"figure": figure, "value": value, "unit": unit, "baseline": baseline, "baseline_value": baseline_value,
            "ratio": ratio, "goal": goal, "ok": ok}


def _sign_up(base: str) -> dict:
    """An account made as a person makes one: the request, the e-mailed link (from the bench's SMTP sink), confirm."""
    from tests.support import signup

    email = f"bench-{uuid.uuid4().hex[:10]}@example.com"
    session = requests.Session()
    session.url = lambda path: base + path
    return {"email": email, **signup.sign_up(session, email, PASSWORD, "Bench", "Bench Sp. z o.o.")}


def _login(base: str, email: str) -> dict:
    response = requests.post(f"{base}/api/v1/auth/login", json={"email": email, "password": PASSWORD}, timeout=30)
    response.raise_for_status()
    return response.json()


def _lua(folder: str, name: str, text: str) -> str:
    path = os.path.join(folder, name)
    with open(path, "w") as f:
        f.write(text)
    return path


def _refresh_worker(base, refresh_token, seconds, out):
    session = requests.Session()
    done, errors = 0, 0
    deadline = time.monotonic() + seconds
    token = refresh_token
    while time.monotonic() < deadline:
        response = session.post(f"{base}/api/v1/auth/refresh", json={"refresh_token": token}, timeout=30)
        if response.status_code == 200:
            token = response.json()["refresh_token"]
            done += 1
        else:
            errors += 1
            break
    out.put((done, errors))


def refresh_rate(base: str, emails: list, seconds: float, processes: int = 4) -> dict:
    chains = [_login(base, emails[i % len(emails)])["refresh_token"] for i in range(processes)]
    queue = multiprocessing.Queue()
    procs = [multiprocessing.Process(target=_refresh_worker, args=(base, chain, seconds, queue)) for chain in chains]
    started = time.monotonic()
    for p in procs:
        p.start()
    results = [queue.get(timeout=seconds + 60) for _ in procs]
    for p in procs:
        p.join()
    elapsed = time.monotonic() - started
    return {"rps": sum(r[0] for r in results) / min(elapsed, seconds + 1), "errors": sum(r[1] for r in results)}


REFRESH_LUA = """
local chains = {%s}
local next_chain = 1
function setup(thread)
  thread:set("token", chains[next_chain])
  next_chain = next_chain + 1
end
function request()
  return wrk.format("POST", nil, {["Content-Type"] = "application/json"}, '{"refresh_token": "' .. token .. '"}')
end
function response(status, headers, body)
  if status == 200 then
    token = string.match(body, '"refresh_token"%%s*:%%s*"([^"]+)"') or token
  end
end
"""


def refresh_rate_wrk(base: str, emails: list, seconds: float, folder: str, chains: int = 8) -> dict:
    """Refreshes/s with wrk: one rotating chain per wrk thread (one connection each, so each thread
    always sends the token its previous answer gave). A Python client per chain spent about as much
    CPU as the gateway on this 2-core machine; wrk spends little. A broken chain shows as non-2xx."""
    import baselines as b

    tokens = [_login(base, emails[i % len(emails)])["refresh_token"] for i in range(chains)]
    script = _lua(folder, "refresh.lua", REFRESH_LUA % ", ".join(json.dumps(t) for t in tokens))
    result = b.wrk(f"{base}/api/v1/auth/refresh", seconds=max(1, int(seconds)), connections=chains, threads=chains,
                   script=script)
    return {"rps": result["rps"], "errors": result["non2xx"], "p50_ms": result["p50_ms"]}


def _compare(send, rounds: int) -> dict:
    """Mean and p99 (ms) of send("known", i) and send("unknown", i), interleaved, alternating which goes first."""
    times = {"known": [], "unknown": []}
    for i in range(rounds):
        for kind in ("known", "unknown") if i % 2 else ("unknown", "known"):
            started = time.perf_counter()
            send(kind, i)
            times[kind].append((time.perf_counter() - started) * 1000)
    return {k: {"mean": statistics.mean(v), "p99": sorted(v)[max(0, int(len(v) * 0.99) - 1)]} for k, v in times.items()}


def _nobody() -> str:
    return f"nobody-{uuid.uuid4().hex[:8]}@example.com"


def forgot_timing(base: str, rounds: int = 60) -> dict:
    """Three requests per address on both sides (identity sends at most three reset e-mails an hour to one
    address; the next ones would measure the held-back path)."""
    session = requests.Session()
    accounts = [_sign_up(base)["email"] for _ in range((rounds + 2) // 3)]
    nobodies = [_nobody() for _ in accounts]

    def send(kind, i):
        email = (accounts if kind == "known" else nobodies)[i // 3]
        response = session.post(f"{base}/api/v1/auth/password/forgot", json={"email": email}, timeout=30)
        assert response.status_code == 202, response.text

    return _compare(send, rounds)


def failed_login_timing(base: str, rounds: int = 40) -> dict:
    """A wrong password for an account vs any password for an unknown address: both 401.

    Four failures per account (the fifth starts a lockout, and its notice), from a client address of its
    own, new each run (the per-client limit allows 100 failures in 15 minutes; this sends 80, and
    `make bench-scale` runs it twice within minutes on each system)."""
    import random

    from tests.support.identity import session_from

    session = session_from(None, f"127.{random.randint(1, 254)}.{random.randint(0, 255)}.{random.randint(1, 254)}")
    accounts = [_sign_up(base)["email"] for _ in range((rounds + 3) // 4)]
    nobodies = [_nobody() for _ in accounts]  # also four failures each: a first failure writes more

    def send(kind, i):
        email = (accounts if kind == "known" else nobodies)[i // 4]
        response = session.post(f"{base}/api/v1/auth/login", json={"email": email, "password": "not the password"},
                                timeout=30)
        assert response.status_code == 401, response.text

    return _compare(send, rounds)


def sign_up_timing(base: str, rounds: int = 30) -> dict:
    """A sign-up request with an address that has an account (another password) vs a new one: both 202, one body.

    Two requests per address on both sides: identity sends at most three sign-up e-mails an hour to one
    address, and a taken address has had one already (its own confirmation); past that both sides send
    nothing, which would measure the held-back path instead."""
    session = requests.Session()
    taken = [_sign_up(base)["email"] for _ in range((rounds + 1) // 2)]
    new = [_nobody() for _ in taken]

    def send(kind, i):
        email = (taken if kind == "known" else new)[i // 2]
        response = session.post(f"{base}/api/v1/accounts", json={
            "email": email, "password": "another horse battery staple", "full_name": "Bench",
            "company_name": "Bench Sp. z o.o."}, timeout=30)
        assert response.status_code == 202, response.text

    return _compare(send, rounds)


def run(ctx) -> list[dict]:
    import baselines as b

    base = ctx["base_url"]
    seconds = ctx["seconds"]
    base_lines = ctx["baselines"]
    cores = os.cpu_count() or 1
    folder = tempfile.mkdtemp(prefix="kadra-identity-bench-", dir=ctx.get("work"))
    rows = []
    people = [_sign_up(base) for _ in range(4)]
    emails = [p["email"] for p in people]

    # 1. password logins through the gateway, both cores busy
    login_script = _lua(folder, "login.lua", (
        'wrk.method = "POST"\nwrk.headers["Content-Type"] = "application/json"\n'
        f'wrk.body = {json.dumps(json.dumps({"email": emails[0], "password": PASSWORD}))}\n'))
    logins = b.wrk(f"{base}/api/v1/auth/login", seconds=seconds, connections=8, threads=2, script=login_script)
    argon = base_lines["argon2_verify_all"]
    rows.append(_row(f"password logins through the gateway (wrk, 8 connections; non-2xx {logins['non2xx']})",
                     logins["rps"], "logins/s", f"pure argon2id verify, {cores} processes", argon,
                     goal=">= 0.8", ok=logins["rps"] >= 0.8 * argon and logins["non2xx"] == 0))

    # 2. token refresh through gateway, RPC and database
    echo = base_lines["echo_rpc_rps_many"]
    refresh = refresh_rate_wrk(base, emails, seconds, folder)
    rows.append(_row(f"token refresh through gateway+RPC+database (wrk, 8 rotating chains; non-2xx {refresh['errors']})",
                     refresh["rps"], "refreshes/s", "echo RPC, many in flight", echo, goal=">= 0.4",
                     ok=refresh["rps"] >= 0.4 * echo and refresh["errors"] == 0))

    # 3. authenticated GET /me: rate, then p99 at half of it
    access = _login(base, emails[1])["access_token"]
    headers = {"Authorization": f"Bearer {access}"}
    me = b.wrk(f"{base}/api/v1/me", seconds=seconds, connections=16, threads=2, headers=headers)
    rows.append(_row(f"GET /me authenticated (wrk, 16 connections; non-2xx {me['non2xx']})", me["rps"], "req/s",
                     "echo RPC, many in flight", echo, goal=">= 0.5", ok=me["rps"] >= 0.5 * echo and me["non2xx"] == 0))
    time.sleep(1)  # let the gateway finish what wrk left queued (sync workers still answer closed connections)
    paced = pace.paced(f"{base}/api/v1/me", headers, me["rps"] / 2, seconds)
    rows.append(_row(f"GET /me p99 at about half that load ({paced['rps']:.0f} req/s paced, from the due time; "
                     f"p50 {paced['p50_ms']:.1f} ms; non-2xx {paced['non2xx']})", paced["p99_ms"] or 0,
                     "ms", "echo RPC p99, 1 in flight", base_lines.get("echo_rpc_p99_ms"), goal="<= 20 ms",
                     ok=(paced["p99_ms"] or 1e9) <= 20 and paced["non2xx"] == 0))

    # 4. known vs unknown address: forgot-password, a failed login, sign-up (compared, not asserted)
    for what, timing in (("forgot-password", forgot_timing(base)),
                         ("failed login", failed_login_timing(base)),
                         ("sign-up", sign_up_timing(base))):
        known = "taken address" if what == "sign-up" else "known address"
        unknown = "new address" if what == "sign-up" else "unknown address"
        rows.append(_row(f"{what} mean, {known}", timing["known"]["mean"], "ms", unknown, timing["unknown"]["mean"],
                         goal="ratio ~ 1.0 (no signal)"))
        rows.append(_row(f"{what} p99, {known}", timing["known"]["p99"], "ms", unknown, timing["unknown"]["p99"]))
    return rows
