"""Seed a realistic volume into the four service databases through the services' own storage code.

`make bench-scale` (bench/scale.py) calls `seed(uri, prefix, scale)`. At KADRA_SCALE=1.0:

| what | how many | written by |
|---|---|---|
| accounts (and their address key documents) | 100,000 | identity `Accounts.insert` (+ `activate` for owners), documents from `signup._new_account` |
| companies (and the owner's membership) | 30,000 | users `Companies.create` |
| memberships | 150,000 (the owners' included) | users `Memberships.add` (roster stamps as it keeps them) |
| audit entries (numbered per company) | 300,000 | users `AuditLog.write` (a tenth in one company: an accounting office) |
| sessions (a third ended; due buckets) | 200,000 | identity `Sessions.open`, `Sessions.end(session_ids=…)` |
| e-mail log entries (due buckets) | 100,000 | notify `NotifyStore.record_sent_many` |
| trusted devices | 20,000 | devices `DevicesStore.insert_device`, documents from `activation.new_device` |

Every write goes through the stores, so what they keep beside a document is kept as the services
keep it: address keys, audit numbers and their hints, due slots and bucket hints, roster stamps. One
round trip per write would take an hour on FerretDB (1-2.5 ms each, measured here), so the stores run
against `MemoryDatabase` (bench/memory_db.py: a write-behind stand-in for an empty database, refusing
what it cannot answer); its contents then go to the real database in `insert_many` batches (~0.07 ms
a document). Before that, each service's
`ensure_indexes` and sweep run once on the real, empty database: the one-off passes (address keys,
audit numbering, documents made due) see nothing and leave their markers, so the services do not
re-run them over the seeded data at start.

Passwords: ONE password is hashed once (identity's own argon2id hasher) and every account gets that
hash; an argon2id hash per account would take hours on two cores.
"""
from __future__ import annotations

import hashlib
import os
import random
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
for _path in (ROOT, HERE):
    if _path not in sys.path:
        sys.path.insert(0, _path)

from memory_db import MemoryDatabase  # noqa: E402
from progress import Progress  # noqa: E402

FULL = {"accounts": 100_000, "companies": 30_000, "memberships": 150_000, "audit": 300_000,
        "sessions": 200_000, "emails": 100_000, "devices": 20_000}
PASSWORD = "correct horse battery staple"  # every seeded account's; the hash is made once
SEED_VERSION = "1"  # part of the cache key: change it when what is seeded changes


def volumes(scale: float) -> dict:
    v = {k: max(1, int(round(n * scale))) for k, n in FULL.items()}
    v["companies"] = min(v["companies"], v["accounts"])
    v["memberships"] = max(v["memberships"], v["companies"])
    v["devices"] = min(v["devices"], v["accounts"])
    return v


# --- the seed ----------------------------------------------------------------------------------------

def _hash_once() -> str:
    from identity.passwords import hash_password

    return hash_password(PASSWORD)


def _prepare(real_db, store_class, sweep) -> None:
    """Indexes and the one-off passes on the empty real database: their markers say 'done' later."""
    store_class.ensure_indexes(real_db)
    sweep(real_db)
    # Every document here is written through the stores' outbox helpers (index entries included): nothing
    # predates the pending index, so the relays' adoption query (a scan on FerretDB) has nothing to find.
    # Marked as a database past its first day with the index (kadra_defaults.outbox._adopt_when_due).
    from kadra_defaults import clock
    from kadra_defaults.outbox import ADOPT_WINDOW, ADOPTED_MARK
    from kadra_defaults.storage import KEYS_COLLECTION
    real_db[KEYS_COLLECTION].update_one({"_id": ADOPTED_MARK}, {"$set": {"at": clock.now() - 2 * ADOPT_WINDOW}},
                                        upsert=True)


def _identity(client, prefix, v, rng, password_hash, log) -> dict:
    from identity.signup import _new_account
    from identity.storage import IdentityStore

    real = client[f"{prefix}_identity"]
    _prepare(real, IdentityStore, lambda db: IdentityStore(db).sweep())
    mem = MemoryDatabase(real.name)
    store = IdentityStore(mem)
    accounts = []
    p = Progress("identity: accounts", v["accounts"])
    for i in range(v["accounts"]):
        doc = _new_account({"email": f"osoba{i:07d}@firma{i % 5003:04d}.example.pl",
                            "full_name": f"Osoba {i:07d}", "locale": "pl" if i % 5 else "en"},
                           password_hash, "active")
        store.accounts.insert(doc)
        accounts.append(doc["_id"])
        p()
    p.end()
    return {"real": real, "mem": mem, "store": store, "accounts": accounts}


def _finish_identity(ident, v, rng, companies_of_owner, devices_of_account) -> None:
    store = ident["store"]
    accounts = ident["accounts"]
    p = Progress("identity: owners' sign-ups finished", len(companies_of_owner))
    for account_id, company_id in companies_of_owner.items():
        store.accounts.activate(account_id, company_id)
        p()
    p.end()
    from kadra_defaults.storage import new_id

    p = Progress("identity: sessions (a third ended)", v["sessions"])
    to_end = []
    device_accounts = list(devices_of_account.items())
    for i in range(v["sessions"]):
        if i < len(device_accounts):  # each device's activation opened a session
            account_id, device_id = device_accounts[i]
        else:
            account_id, device_id = accounts[rng.randrange(len(accounts))], None
        session_id = new_id()
        store.sessions.open(session_id, account_id, device_id, hashlib.sha256(session_id.encode()).hexdigest())
        if i % 3 == 0:
            to_end.append(session_id)
            if len(to_end) >= 200:
                store.sessions.end(session_ids=to_end, reason="logout")
                to_end = []
        p()
    if to_end:
        store.sessions.end(session_ids=to_end, reason="logout")
    p.end()


def _users(client, prefix, v, rng, accounts, log) -> dict:
    from users.storage import UsersStore
    from kadra_defaults.storage import sweep_attempts, sweep_claims

    real = client[f"{prefix}_users"]
    _prepare(real, UsersStore, lambda db: (sweep_attempts(db), sweep_claims(db)))
    mem = MemoryDatabase(real.name)
    store = UsersStore(mem)
    from kadra_defaults import clock

    now = clock.now()
    owners = accounts[:v["companies"]]
    companies, companies_of_owner = [], {}
    p = Progress("users: companies (and owners)", len(owners))
    for i, owner in enumerate(owners):
        company, _ = store.companies.create(owner, f"Firma {i:06d} Sp. z o.o.", owner, now)
        companies.append(company["_id"])
        companies_of_owner[owner] = company["_id"]
        p()
    p.end()
    # The others: most in one company, accountants in several; the first company is a mid-size accounting
    # office's (a few hundred people at full scale).
    others = accounts[v["companies"]:] or accounts
    members = {c: [o] for c, o in zip(companies, owners)}
    wanted = v["memberships"] - len(companies)
    roles = ("employee", "employee", "employee", "warehouse", "manager")
    p = Progress("users: memberships", wanted)
    added = 0
    tries = 0
    while added < wanted and tries < wanted * 3:
        tries += 1
        company = companies[0] if added % 300 == 0 else companies[min(len(companies) - 1,
                                                                      int(len(companies) * rng.random() ** 2))]
        account = others[added % len(others)] if added < len(others) else others[rng.randrange(len(others))]
        if store.memberships.add(company, account, roles[added % len(roles)], now):
            members[company].append(account)
            added += 1
            p()
    p.end()
    p = Progress("users: audit entries", v["audit"])
    actions = ("member_invited", "member_joined", "role_changed", "company_updated", "invitation_resent",
               "member_removed", "invitation_revoked")
    # A tenth of all entries are the accounting office's (tens of thousands at full scale), the rest spread.
    start = now - timedelta(days=365)
    step = timedelta(days=365) / max(1, v["audit"])
    for i in range(v["audit"]):
        company = companies[0] if i % 10 == 0 else companies[min(len(companies) - 1,
                                                                 int(len(companies) * rng.random() ** 2))]
        people = members[company]
        store.audit.write(company, actions[i % len(actions)], start + step * i, actor_account_id=people[0],
                          subject_account_id=people[i % len(people)],
                          subject_email=f"osoba{i % 100000:07d}@example.pl", details={"seeded": True})
        p()
    p.end()
    return {"real": real, "mem": mem, "companies": companies, "companies_of_owner": companies_of_owner}


def _devices(client, prefix, v, rng, accounts, log) -> dict:
    from devices.activation import new_device
    from devices.storage import DevicesStore
    from kadra_defaults import clock

    real = client[f"{prefix}_devices"]
    _prepare(real, DevicesStore, lambda db: DevicesStore(db).sweep_challenges(clock.now()))
    mem = MemoryDatabase(real.name)
    store = DevicesStore(mem)
    devices_of_account = {}
    p = Progress("devices: trusted devices", v["devices"])
    picks = rng.sample(range(len(accounts)), v["devices"])
    for i, n in enumerate(picks):
        key = hashlib.sha256(f"device-{n}".encode()).digest()
        import base64

        device = new_device({"account": {"account_id": accounts[n], "email": f"osoba{n:07d}@example.pl",
                                         "full_name": f"Osoba {n:07d}", "locale": "pl"},
                             "device_name": f"Telefon {n}", "platform": ("android", "ios")[i % 2],
                             "public_key": base64.b64encode(key).decode()})
        store.insert_device(device)
        devices_of_account[accounts[n]] = device["_id"]
        p()
    p.end()
    return {"real": real, "mem": mem, "devices_of_account": devices_of_account}


def _notify(client, prefix, v, rng, log) -> dict:
    from kadra_defaults.contracts.mail import MAIL_EVENTS
    from kadra_defaults.storage import new_id
    from notify.storage import NotifyStore
    from kadra_defaults import clock

    real = client[f"{prefix}_notify"]
    _prepare(real, NotifyStore, lambda db: NotifyStore(db).sweep())
    mem = MemoryDatabase(real.name)
    store = NotifyStore(mem)
    types = sorted(MAIL_EVENTS)
    p = Progress("notify: e-mail log", v["emails"])
    now = clock.now()
    batch = []
    for i in range(v["emails"]):
        event_type = types[i % len(types)]
        batch.append({"event_id": new_id(), "attempts": 1, "sent_at": now,
                      "fields": {"type": event_type, "template": MAIL_EVENTS[event_type].template,
                                 "locale": "pl", "recipient": f"osoba{i % 100000:07d}@example.pl"}})
        if len(batch) == 500:
            store.record_sent_many(batch)
            p(len(batch))
            batch = []
    if batch:
        store.record_sent_many(batch)
        p(len(batch))
    p.end()
    return {"real": real, "mem": mem}


def seed(uri: str, prefix: str, scale: float, out=sys.stdout) -> dict:
    """Seed the databases `<prefix>_<service>` (empty) at `scale`; returns counts and timings."""
    from kadra_defaults.storage import connect

    v = volumes(scale)
    rng = random.Random(15)
    started = time.monotonic()
    client = connect(uri)
    log = out.write
    out.write(f"[seed] scale {scale}: " + ", ".join(f"{n:,} {k}" for k, n in v.items()) + "\n")
    t = time.monotonic()
    password_hash = _hash_once()
    out.write(f"[seed] one password hashed once (argon2id, {time.monotonic() - t:.2f} s), shared by every account\n")
    ident = _identity(client, prefix, v, rng, password_hash, log)
    users = _users(client, prefix, v, rng, ident["accounts"], log)
    devices = _devices(client, prefix, v, rng, ident["accounts"], log)
    _finish_identity(ident, v, rng, users["companies_of_owner"], devices["devices_of_account"])
    notify = _notify(client, prefix, v, rng, log)
    generated = time.monotonic() - started
    parts = {"identity": ident["mem"], "users": users["mem"], "devices": devices["mem"], "notify": notify["mem"]}
    total = sum(m.count() for m in parts.values())
    counts = {f"{service}.{name}": len(c.docs) for service, m in parts.items() for name, c in m.collections.items()}
    p = Progress("writing to the database", total)
    lock = threading.Lock()

    def counted(n):
        with lock:
            p(n)

    # one database file each on FerretDB's SQLite: the four are written at once
    with ThreadPoolExecutor(len(parts)) as pool:
        for done in [pool.submit(mem.flush, client[f"{prefix}_{service}"], counted) for service, mem in parts.items()]:
            done.result()
    p.end()
    client.close()
    took = time.monotonic() - started
    out.write(f"[seed] done: {total:,} documents in {took:.0f} s ({generated:.0f} s through the stores, "
              f"{took - generated:.0f} s writing)\n")
    return {"scale": scale, "volumes": v, "documents": total, "collections": counts, "seconds": round(took, 1),
            "store_seconds": round(generated, 1)}


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(description="seed Kadra's databases (bench/scale.py runs this)")
    parser.add_argument("--uri", required=True)
    parser.add_argument("--prefix", required=True)
    parser.add_argument("--scale", type=float, default=float(os.environ.get("KADRA_SCALE") or 1.0))
    args = parser.parse_args()
    print(seed(args.uri, args.prefix, args.scale))
