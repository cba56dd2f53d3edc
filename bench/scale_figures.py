"""bench-scale's own figures beside make bench's: the outbox delay at the seeded volume and the audit page
(page 1 and a deep one), with what they need on each system (the seeded office's owner; on the empty system a
company whose log is as full and names as many people)."""
from __future__ import annotations

import json
import statistics
import threading
import time

import requests

SEEDED_PREFIX = "kscale"  # the seeded databases' prefix (bench/scale_seed.py writes them)


def outbox_delay(base_url: str, amqp: str, emails: list[str], rate: float = 10.0) -> dict:
    """Forgot-password for seeded addresses (each writes a one-time token with its e-mail in the outbox)
    at `rate`/s; the delay from sending the request to the message arriving on a queue of ours bound beside
    notify's: an upper bound of domain write -> message on the broker (the write happens inside the request)."""
    import pika

    from kadra_defaults.contracts import mailbus

    arrived: dict[str, float] = {}
    ready = threading.Event()
    stop = threading.Event()

    def consume():
        connection = pika.BlockingConnection(pika.URLParameters(amqp))
        channel = connection.channel()
        mailbus.declare_topology(channel)
        queue = channel.queue_declare("", exclusive=True, auto_delete=True).method.queue
        channel.queue_bind(queue, mailbus.EXCHANGE, mailbus.ROUTING_KEY)
        ready.set()
        while not stop.is_set():
            method, _, body = channel.basic_get(queue, auto_ack=True)
            if method is None:
                connection.sleep(0.002)
                continue
            try:
                to = json.loads(body)["payload"]["to"].lower()
            except (ValueError, KeyError, AttributeError):
                continue
            arrived.setdefault(to, time.time())
        connection.close()

    thread = threading.Thread(target=consume, daemon=True)
    thread.start()
    ready.wait(20)
    session = requests.Session()
    sent: dict[str, float] = {}
    started = time.time()
    for i, email in enumerate(emails):
        pause = started + i / rate - time.time()
        if pause > 0:
            time.sleep(pause)
        sent[email] = time.time()
        response = session.post(f"{base_url}/api/v1/auth/password/forgot", json={"email": email}, timeout=30)
        if response.status_code != 202:
            raise RuntimeError(f"forgot-password answered {response.status_code}: {response.text[:200]}")
    deadline = time.time() + 30
    while time.time() < deadline and len(arrived) < len(emails):
        time.sleep(0.1)
    stop.set()
    thread.join(10)
    delays = sorted((arrived[e] - sent[e]) * 1000 for e in emails if e in arrived)
    pick = lambda q: delays[min(len(delays) - 1, int(round(q * (len(delays) - 1))))] if delays else None  # noqa: E731
    return {"sent": len(emails), "arrived": len(delays), "p50_ms": pick(0.5), "p99_ms": pick(0.99),
            "max_ms": delays[-1] if delays else None}


def audit_page(base_url: str, auth: dict, company_id: str, rounds: int = 100) -> dict:
    """GET the audit log's first page (50 entries) and a deep one (from the middle of the log), `rounds` times
    each: p50/p99 ms, and how many people each page names (each page asks identity for their names, so pages
    are compared only when they name about as many).

    The middle, not the last full page: the empty system's oldest entries are its members' invitations, which
    name no account (an invitation has an address), so its last page named a dozen people against the seeded
    office's fifty and was the cheaper page (2026-12-07: 33 ms against its page 1's 40)."""
    session = requests.Session()
    url = f"{base_url}/api/v1/companies/{company_id}/audit"
    first = session.get(url, params={"page": 1, "per_page": 50}, headers=auth, timeout=30)
    first.raise_for_status()
    total = first.json()["total"]
    deep = max(1, total // 100)
    result = {"total": total, "deep_page": deep}
    for name, page in (("first", 1), ("deep", deep)):
        samples, people = [], None
        for _ in range(rounds):
            t = time.perf_counter()
            response = session.get(url, params={"page": page, "per_page": 50}, headers=auth, timeout=30)
            samples.append((time.perf_counter() - t) * 1000)
            response.raise_for_status()
            if people is None:
                people = len({item.get(k) for item in response.json()["items"]
                              for k in ("actor_account_id", "subject_account_id") if item.get(k)})
        samples.sort()
        result[name] = {"p50_ms": statistics.median(samples), "p99_ms": samples[int(0.99 * (len(samples) - 1))],
                        "people": people}
    return result


AUDIT_ENTRIES_EMPTY = 110  # role changes in the empty system's company: full pages of 50, like the seeded one's
AUDIT_PEOPLE_EMPTY = 50  # its members: a page names ~50 people, as a page of the seeded office's log does


def audited_company(system, entries: int):
    """On the empty system: an owner whose company's log has `entries` role changes (and each member's invitation
    and joining) spread over AUDIT_PEOPLE_EMPTY members, so a page is as full as a seeded one and names as many
    people (each page asks identity for the names it shows: two people against fifty is another page)."""
    from tests.support.mailbox import Mailbox
    from tests.support.users import API, join, sign_up

    api = requests.Session()
    api.url = lambda path: system.base_url + path
    mailbox = Mailbox(system.mailsink["dir"])
    owner, company_id = sign_up(api, prefix="scale-audit", mailbox=mailbox)
    members = [join(api, mailbox, owner, company_id, "employee", full_name=f"Osoba Testowa {n}")
               for n in range(AUDIT_PEOPLE_EMPTY)]
    for n in range(entries):
        member = members[n % len(members)]
        role = ("warehouse", "employee")[(n // len(members)) % 2]  # every change is one: from what it was
        changed = api.patch(api.url(f"{API}/companies/{company_id}/users/{member.account_id}"),
                            json={"role": role}, headers=owner.auth)
        changed.raise_for_status()
    return owner, company_id


def audit_rows(result: dict) -> list[dict]:
    from run import row

    rows = []
    for name, label in (("first", "page 1"), ("deep", "a deep page")):
        rows.append(row(f"audit log {label} (50 entries) of a company's log, 100 sequential GETs, p50",
                        result[name]["p50_ms"], "ms"))
        rows.append(row(f"audit log {label} (50 entries) of a company's log, 100 sequential GETs, p99",
                        result[name]["p99_ms"], "ms"))
    return rows


def seeded_owner(uri: str) -> tuple[str, str]:
    """The seeded accounting office: its owner's address and the company id (through the address key)."""
    from pymongo import MongoClient

    client = MongoClient(uri, tz_aware=True)
    try:
        email = "osoba0000000@firma0000.example.pl"
        key = client[f"{SEEDED_PREFIX}_identity"]["keys"].find_one({"_id": f"email:{email}"})
        account = client[f"{SEEDED_PREFIX}_identity"]["accounts"].find_one({"_id": key["ref"]})
        return email, account["signup_company_id"]
    finally:
        client.close()


def login(base_url: str, email: str, password: str) -> dict:
    response = requests.post(f"{base_url}/api/v1/auth/login", json={"email": email, "password": password}, timeout=30)
    response.raise_for_status()
    return {"Authorization": f"Bearer {response.json()['access_token']}"}
