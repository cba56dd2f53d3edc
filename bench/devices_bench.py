"""The devices service's figures for `make bench` (bench/run.py calls run(ctx)).

- PIN logins/s through the gateway (challenge + signed login with the PIN; 8 client processes, each with
  its own device: with 4, a hash slot sat idle while a client waited for its next challenge) vs the pure argon2id verify rate at the PIN hash's parameters in as many processes as
  cores, measured in the same run (goal >= 0.8: the PIN hash is the cost, everything else is small);
- challenge issuance/s through the gateway (wrk, POST /devices/{id}/challenge), goal >= 500/s.
"""
import base64
import multiprocessing
import os
import time
import uuid

import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

PASSWORD = "correct horse battery staple"
PIN = "482915"
CLIENTS = 8


def _row(figure, value, unit, baseline=None, baseline_value=None, goal=None, ok=None):
    ratio = value / baseline_value if baseline_value else None
    return {"figure": figure, "value": value, "unit": unit, "baseline": baseline, "baseline_value": baseline_value,
            "ratio": ratio, "goal": goal, "ok": ok}


def _raw_private(key: Ed25519PrivateKey) -> bytes:
    return key.private_bytes(serialization.Encoding.Raw, serialization.PrivateFormat.Raw,
                             serialization.NoEncryption())


def _device(base: str) -> dict:
    """A fresh account with an activated device and a PIN; returns {device_id, key (raw private)}."""
    from tests.support import signup

    email = f"bench-dev-{uuid.uuid4().hex[:10]}@example.com"
    session = requests.Session()
    session.url = lambda path: base + path
    signup.sign_up(session, email, PASSWORD, "Bench", "Bench Sp. z o.o.")  # the link from the bench's SMTP sink
    key = Ed25519PrivateKey.generate()
    public = base64.b64encode(key.public_key().public_bytes(serialization.Encoding.Raw,
                                                            serialization.PublicFormat.Raw)).decode()
    answer = requests.post(f"{base}/api/v1/devices/activate", json={
        "email": email, "password": PASSWORD, "device_name": "bench phone", "platform": "android",
        "public_key": public}, timeout=30)
    answer.raise_for_status()
    device = answer.json()
    requests.put(f"{base}/api/v1/devices/{device['device_id']}/pin", json={"pin": PIN},
                 headers={"Authorization": f"Bearer {device['access_token']}"}, timeout=30).raise_for_status()
    return {"device_id": device["device_id"], "key": _raw_private(key)}


def _login_worker(base, device, seconds, out):
    key = Ed25519PrivateKey.from_private_bytes(device["key"])
    session = requests.Session()
    done = errors = 0
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        challenge = session.post(f"{base}/api/v1/devices/{device['device_id']}/challenge", timeout=30)
        if challenge.status_code != 200:
            errors += 1
            continue
        text = challenge.json()["challenge"]
        response = session.post(f"{base}/api/v1/devices/{device['device_id']}/login", json={
            "challenge": text, "signature": base64.b64encode(key.sign(text.encode())).decode(), "pin": PIN},
            timeout=30)
        if response.status_code == 200:
            done += 1
        else:
            errors += 1
    out.put((done, errors))


def pin_login_rate(base: str, devices: list, seconds: float) -> dict:
    queue = multiprocessing.Queue()
    procs = [multiprocessing.Process(target=_login_worker, args=(base, d, seconds, queue)) for d in devices]
    for p in procs:
        p.start()
    results = [queue.get(timeout=seconds + 120) for _ in procs]
    for p in procs:
        p.join()
    return {"rps": sum(r[0] for r in results) / seconds, "errors": sum(r[1] for r in results)}


def run(ctx) -> list[dict]:
    import baselines as b
    from devices.pins import PIN_PARAMETERS

    base = ctx["base_url"]
    seconds = ctx.get("seconds", 8)
    cores = os.cpu_count() or 1
    devices = [_device(base) for _ in range(CLIENTS)]
    pin_verify = b.argon2_verify_rate(cores, seconds=seconds / 2, params=dict(PIN_PARAMETERS))
    logins = pin_login_rate(base, devices, seconds)
    params = f"m={PIN_PARAMETERS['memory_cost'] // 1024} MiB, t={PIN_PARAMETERS['time_cost']}, " \
             f"p={PIN_PARAMETERS['parallelism']}"
    rows = [_row(f"device PIN logins (challenge + signed login, {CLIENTS} clients; {logins['errors']} errors)",
                 logins["rps"], "logins/s", f"pure argon2id verify at the PIN parameters ({params}), {cores} processes",
                 pin_verify, goal=">= 0.8 x baseline",
                 ok=logins["errors"] == 0 and logins["rps"] >= 0.8 * pin_verify)]

    script = os.path.join(ctx.get("work") or "/tmp", f"devices-challenge-{uuid.uuid4().hex[:6]}.lua")
    with open(script, "w") as f:
        f.write('wrk.method = "POST"\n')
    challenge = b.wrk(f"{base}/api/v1/devices/{devices[0]['device_id']}/challenge", seconds=seconds,
                      connections=16, script=script)
    rows.append(_row(f"device challenge issuance (wrk, 16 connections; {challenge['non2xx']} non-2xx)",
                     challenge["rps"], "challenges/s", "bare Flask hello",
                     ctx.get("baselines", {}).get("flask_hello_rps"), goal=">= 500/s",
                     ok=challenge["non2xx"] == 0 and challenge["rps"] >= 500))
    return rows
