"""The reliability suites' load and report: invitations sent at a steady pace, each 201 a promised e-mail.

Used by tests/reliability/test_faults.py (one process of everything) and test_replicated.py (two).
"""
import itertools
import json
import os
import signal
import threading
import time
from collections import Counter

import requests

from tests.support.infra import ROOT
from tests.support.users import unique_email

FULL = os.environ.get("KADRA_RELIABILITY") == "full"
LOAD_SECONDS = 60 if FULL else 20
OUTAGE_SECONDS = 30 if FULL else 15
REPORT_DIR = os.path.join(ROOT, "artifacts", "reliability")
TENANTS = 10  # inviting owners: the long form sends ~700 invitations; the default limit is 100 per inviter a day


class InvitationLoad:
    """Threads sending invitations (each to a new address) at a steady pace, recording every answer.

    The invitations come from several owners, each of a company of their own, in turn: one person inviting
    hundreds of strangers a day is what the abuse limits stop (KADRA_LIMIT_INVITATIONS_PER_*), and this
    load is about faults, not about those limits.
    """

    def __init__(self, api, tenants, threads=2, pause=0.15, timeout=20):
        self.api, self.tenants = api, tenants
        self.threads, self.pause, self.timeout = threads, pause, timeout
        self._turn = itertools.count()
        self.results = []  # (started, seconds, status, email)
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._workers = []

    def next_tenant(self):
        """(owner, company_id) whose turn it is."""
        return self.tenants[next(self._turn) % len(self.tenants)]

    def _run(self):
        session = requests.Session()
        while not self._stop.is_set():
            email = unique_email("rel")
            started = time.monotonic()
            owner, company_id = self.next_tenant()
            try:
                response = session.post(self.api.url(f"/api/v1/companies/{company_id}/users"),
                                        json={"email": email, "role": "employee"}, headers=owner.auth,
                                        timeout=self.timeout)
                status = response.status_code
            except requests.RequestException as error:
                status = f"no answer: {error.__class__.__name__}"
            with self._lock:
                self.results.append((started, time.monotonic() - started, status, email))
            time.sleep(self.pause)

    def start(self):
        for _ in range(self.threads):
            worker = threading.Thread(target=self._run, daemon=True)
            worker.start()
            self._workers.append(worker)

    def stop(self):
        self._stop.set()
        for worker in self._workers:
            worker.join(self.timeout + 5)

    def promised(self) -> list[str]:
        return [email for _, _, status, email in self.results if status == 201]


def deliveries(mailbox, emails, timeout) -> tuple[dict, list]:
    """Wait until every address got its e-mail (or time runs out); returns counts per address and the missing."""
    wanted = set(emails)
    deadline = time.monotonic() + timeout
    while True:
        counts = Counter(m.to.lower() for m in mailbox.all() if m.to.lower() in wanted)
        missing = sorted(wanted - set(counts))
        if not missing or time.monotonic() > deadline:
            return counts, missing
        time.sleep(1)


def report(name, load, counts, missing, extra=None) -> dict:
    statuses = Counter(str(status) for _, _, status, _ in load.results)
    result = {
        "fault": name,
        "requests_sent": len(load.results),
        "answered_2xx": sum(1 for _, _, s, _ in load.results if isinstance(s, int) and 200 <= s < 300),
        "failed": sum(1 for _, _, s, _ in load.results if not (isinstance(s, int) and 200 <= s < 300)),
        "by_status": dict(statuses),
        "slowest_answer_s": round(max((d for _, d, _, _ in load.results), default=0), 2),
        "emails_promised": len(load.promised()),
        "emails_delivered": len(counts),
        "emails_duplicated": sum(c - 1 for c in counts.values() if c > 1),
        "emails_missing": len(missing),
        **(extra or {}),
    }
    os.makedirs(REPORT_DIR, exist_ok=True)
    with open(os.path.join(REPORT_DIR, f"{name}.json"), "w") as f:
        json.dump(result, f, indent=2)
    print(f"\n[reliability] {json.dumps(result)}")
    return result


def _under_load(api, tenants, fault):
    load = InvitationLoad(api, tenants)
    load.start()
    time.sleep(3)
    extra = fault() or {}
    remaining = LOAD_SECONDS - 3
    time.sleep(max(0, remaining - extra.pop("_spent", 0)))
    load.stop()
    return load, extra


SERVICES = ("identity", "users", "devices", "notify")


def kill_first_replica_of_each(running) -> dict:
    """SIGKILL the first process of every service, a second apart (its twin carries on), then start them
    again: the fault of test_replicated.py and of the cluster suite."""
    started = time.monotonic()
    for name in SERVICES:
        running.stop_process(name, sig=signal.SIGKILL)
        time.sleep(1)
    for name in SERVICES:
        running.start_service(name)
    return {"_spent": time.monotonic() - started, "killed": list(SERVICES)}


def replicas_ready(running) -> bool:
    return not running._replicas_not_ready() and running.readyz(timeout=3)[0] == 200


def replica_of_each_killed_under_load(name, api, running, mailbox, tenants) -> dict:
    """The load, with kill_first_replica_of_each 3 s in; nothing lost, at most one duplicate (for the one
    notify killed), every process running at the end. The report is written as `name`."""
    from tests.support.infra import wait_until

    load, extra = _under_load(api, tenants, lambda: kill_first_replica_of_each(running))
    wait_until(lambda: replicas_ready(running), 90, what="every replica ready after the kills")
    counts, missing = deliveries(mailbox, load.promised(), timeout=180)
    result = report(name, load, counts, missing, extra)
    _assert_nothing_lost(result, missing)
    assert result["emails_duplicated"] <= 1, "more than one duplicate for the one notify killed"
    assert running.dead() == []
    return result


def _assert_nothing_lost(result, missing):
    assert result["emails_promised"] > 0, "the load promised no e-mail at all"
    assert missing == [], f"{len(missing)} acknowledged e-mail(s) lost: {missing[:5]}"
    assert not any(str(s).startswith("no answer") for s in result["by_status"]), "a request got no answer"
    # 409 "already invited": the killed instance had stored the invitation but not answered; the broker
    # redelivered the request to the new instance, which found it there. The invitation (and its e-mail) exist.
    assert all(s in ("201", "409", "503", "504") for s in result["by_status"]), result["by_status"]


class RetryingInvitationLoad(InvitationLoad):
    """Clients that follow the documented retry: a 503/504 with Retry-After is tried once more."""

    def _run(self):
        session = requests.Session()
        while not self._stop.is_set():
            email = unique_email("roll")
            started = time.monotonic()
            statuses = []
            owner, company_id = self.next_tenant()
            for attempt in (1, 2):
                try:
                    response = session.post(self.api.url(f"/api/v1/companies/{company_id}/users"),
                                            json={"email": email, "role": "employee"}, headers=owner.auth,
                                            timeout=self.timeout)
                    statuses.append(response.status_code)
                except requests.RequestException as error:
                    statuses.append(f"no answer: {error.__class__.__name__}")
                    break
                if response.status_code not in (503, 504):
                    break
                time.sleep(min(float(response.headers.get("Retry-After", "1")), 1.0))
            # a retried invitation that had landed the first time answers 409 "already invited": it landed
            status = 201 if statuses[-1] == 409 and len(statuses) > 1 else statuses[-1]
            with self._lock:
                self.results.append((started, time.monotonic() - started, status, email))
                self.first_attempt_failures += statuses[0] != 201
            time.sleep(self.pause)

    first_attempt_failures = 0
