"""Users figures: permission checks/s through the gateway, and the users table of a 200-member company.

`run(ctx) -> rows` (bench/run.py gives ctx: the running system, its env, the baselines of this run).

1. `GET /companies/{id}/permissions/check` under wrk, same connections and threads as the bare
   Flask hello baseline (measured by bench/run.py in this run, same gunicorn settings):
   goal >= 0.5 of it. Right after, a role change must show on the very next check.
2. `GET /companies/{id}/users` for a company of 200 members (accounts made through identity,
   memberships written by the users store from here: the 200 invitations would only time
   argon2), 300 sequential requests: goal p99 <= 50 ms.

Run alone: `.venv/bin/python bench/run.py --only users` (add `--quick` for shorter runs).
"""
import os
import sys
import time
import uuid

import requests

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path[:0] = [ROOT, HERE]

import baselines as b  # noqa: E402
from tests.support.mailbox import Mailbox  # noqa: E402
from tests.support.users import API, join, sign_up  # noqa: E402

MEMBERS = 200


def _row(figure, value, unit, baseline=None, baseline_value=None, goal=None, ok=None):
    ratio = value / baseline_value if baseline_value else None
    return {"figure": figure, "value": value, "unit": unit, "baseline": baseline, "baseline_value": baseline_value,
            "ratio": ratio, "goal": goal, "ok": ok}


def _session(base_url):
    session = requests.Session()
    session.url = lambda path: base_url + path
    return session


def _percentile(values, p):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def permission_checks(ctx, api, mailbox) -> list[dict]:
    owner, company_id = sign_up(api, prefix="bench-owner")
    keeper = join(api, mailbox, owner, company_id, "warehouse")
    url = (f"{ctx['base_url']}{API}/companies/{company_id}/permissions/check"
           f"?account_id={keeper.account_id}&permission=warehouse.write")
    assert api.get(url, headers=keeper.auth).json() == {"allowed": True}
    result = b.wrk(url, seconds=ctx["seconds"], headers=keeper.auth)
    hello = ctx["baselines"]["flask_hello_rps"]
    rows = [_row("permission checks through the gateway (bearer, 16 conns)", result["rps"], "checks/s",
                 "bare Flask hello", hello, goal=">= 0.5 x hello",
                 ok=result["rps"] >= 0.5 * hello and result["non2xx"] == 0)]
    rows.append(_row("permission check p99 under that load", result["p99_ms"] or 0, "ms"))

    # The very next request after a role change answers by the new role (every worker, so ask a few times).
    changed = api.patch(api.url(f"{API}/companies/{company_id}/users/{keeper.account_id}"),
                        json={"role": "employee"}, headers=owner.auth)
    assert changed.status_code == 200, changed.text
    answers = [api.get(url, headers=keeper.auth).json()["allowed"] for _ in range(20)]
    right = sum(1 for a in answers if a is False)
    rows.append(_row("checks right right after a role change (20 next requests)", right, "of 20",
                     goal="20", ok=right == 20))
    return rows


def _make_members(ctx, company_id: str) -> list[str]:
    """200 real accounts (identity) and their memberships (users database)."""
    from pymongo import MongoClient

    from gateway.rpc import RpcClient

    rpc = RpcClient(ctx["amqp_uri"], timeout=30)
    try:
        # one client is one connection guarded by a lock: batch the calls instead of threads
        account_ids = []
        batch = 20
        for start in range(0, MEMBERS - 1, batch):
            calls = [("identity", "create_invited_account",
                      (f"bench-{n}-{uuid.uuid4().hex[:8]}@example.com", f"Bench-Haslo-{uuid.uuid4().hex}",
                       f"Osoba {n:03d}", "pl"), {}) for n in range(start, min(start + batch, MEMBERS - 1))]
            for result in rpc.call_many(calls, timeout=60):
                if isinstance(result, Exception):
                    raise result
                account_ids.append(result["account_id"])
    finally:
        rpc.close()
    client = MongoClient(ctx["env"].get("KADRA_MONGO_URI") or "mongodb://127.0.0.1:27017/", tz_aware=True)
    db = client[f"{ctx['env']['KADRA_MONGO_DB_PREFIX']}_users"]
    from datetime import datetime, timedelta, timezone

    from users.storage import UsersStore

    now = datetime.now(timezone.utc)
    roles = ("employee", "warehouse", "manager")
    memberships = UsersStore(db).memberships  # the store's own write: the keys that find it, the table stale
    for i, a in enumerate(account_ids):
        memberships.add(company_id, a, roles[i % 3], now + timedelta(milliseconds=i))
    client.close()
    return account_ids


def users_list(ctx, api) -> list[dict]:
    owner, company_id = sign_up(api, prefix="bench-big")
    account_ids = _make_members(ctx, company_id)
    url = api.url(f"{API}/companies/{company_id}/users")
    first = api.get(url, headers=owner.auth)
    assert first.status_code == 200 and len(first.json()) == MEMBERS, (first.status_code, len(first.json()))
    samples = []
    for _ in range(30):  # warm-up
        api.get(url, headers=owner.auth)
    for _ in range(300):
        started = time.perf_counter()
        response = api.get(url, headers=owner.auth)
        samples.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200
    p99 = _percentile(samples, 99)
    rows = [_row(f"users table of {MEMBERS} members, 300 sequential GETs, p99", p99, "ms",
                 "same, p50", _percentile(samples, 50), goal="<= 50 ms", ok=p99 <= 50)]

    # The first GET after each change rebuilds the table (memberships, invitations, names from identity).
    after_change = []
    for n in range(10):
        changed = api.patch(api.url(f"{API}/companies/{company_id}/users/{account_ids[n]}"),
                            json={"role": ("employee", "warehouse")[n % 2]}, headers=owner.auth)
        assert changed.status_code == 200, changed.text
        started = time.perf_counter()
        response = api.get(url, headers=owner.auth)
        after_change.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200
        row = next(r for r in response.json() if r["account_id"] == account_ids[n])
        assert row["role"] == ("employee", "warehouse")[n % 2], row
    rows.append(_row(f"users table of {MEMBERS} right after a role change (rebuilt), 10 GETs, p50",
                     _percentile(after_change, 50), "ms", "max", max(after_change)))
    return rows


def run(ctx) -> list[dict]:
    api = _session(ctx["base_url"])
    mailbox = Mailbox(ctx["mail_dir"])
    try:
        return permission_checks(ctx, api, mailbox) + users_list(ctx, api)
    finally:
        api.close()


if __name__ == "__main__":
    sys.stderr.write("run it through bench/run.py: .venv/bin/python bench/run.py --only users\n")
    raise SystemExit(2)
