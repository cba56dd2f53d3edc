"""The reliability suite: faults injected into the running system under a steady load of invitations.

Each invitation that answered 201 promised an e-mail; after each fault every
promised e-mail must arrive. `make test` runs a short form; `make reliability`
runs the long one (KADRA_RELIABILITY=full) — that is the one to repeat three
times. Each test prints and saves (artifacts/reliability/*.json) a report:
requests sent, answered, failed by status, slowest answer, e-mails delivered
and duplicated.
"""
import json
import os
import signal
import time
from collections import Counter

import pytest
import requests

from tests.support.infra import infra, wait_until
from tests.support.reliability import (OUTAGE_SECONDS, REPORT_DIR, TENANTS, RetryingInvitationLoad, _assert_nothing_lost,
                                       _under_load, deliveries, report)
from tests.support.users import invite, sign_up, unique_email

pytestmark = [pytest.mark.reliability, pytest.mark.slow]



@pytest.fixture
def owner_company(api):
    return sign_up(api, prefix="rel-owner")


@pytest.fixture
def tenants(api, owner_company):
    """Owners with a company each, who take turns inviting (see InvitationLoad)."""
    return [owner_company] + [sign_up(api, prefix="rel-owner") for _ in range(TENANTS - 1)]


@pytest.mark.parametrize("part", ["rabbitmq", "mongo"])
def test_restart_under_load_loses_no_email(api, system, mailbox, tenants, part):
    def fault():
        started = time.monotonic()
        infra("restart", part)
        return {"_spent": time.monotonic() - started}

    load, extra = _under_load(api, tenants, fault)
    counts, missing = deliveries(mailbox, load.promised(), timeout=180)
    result = report(f"{part}-restart", load, counts, missing, extra)
    _assert_nothing_lost(result, missing)
    assert system.dead() == [], "a process exited during the fault"


@pytest.mark.parametrize("service", ["users", "notify"])
def test_service_killed_under_load_loses_no_email(api, system, mailbox, tenants, service):
    def fault():
        system.stop_process(service, sig=signal.SIGKILL)
        time.sleep(2)
        system.start_service(service)
        return {"_spent": 2}

    load, extra = _under_load(api, tenants, fault)
    wait_until(lambda: api.get(api.url("/readyz")).status_code == 200, 60, what="ready after the kill")
    counts, missing = deliveries(mailbox, load.promised(), timeout=180)
    result = report(f"sigkill-{service}", load, counts, missing, extra)
    _assert_nothing_lost(result, missing)
    assert result["emails_duplicated"] <= 1, "more than one duplicate for one kill"


def test_broker_outage_answers_503_fast_and_recovers(api, system, mailbox, owner_company):
    owner, company_id = owner_company
    infra("down", "rabbitmq")
    outage_started = time.monotonic()
    during = []
    try:
        while time.monotonic() - outage_started < OUTAGE_SECONDS:
            started = time.monotonic()
            try:
                status = invite(api, owner, company_id, unique_email("outage"), "employee").status_code
            except requests.RequestException as error:
                status = f"no answer: {error.__class__.__name__}"
            during.append((status, time.monotonic() - started))
            time.sleep(0.5)
    finally:
        infra("up", "rabbitmq")
    back = time.monotonic()
    recovered = wait_until(lambda: invite(api, owner, company_id, unique_email("after"), "employee").status_code == 201,
                           60, interval=1, what="invitations succeed again after the broker is back")
    recovery_s = time.monotonic() - back
    assert recovered
    # after recovery, a burst of requests all succeed
    after = [invite(api, owner, company_id, unique_email("after"), "employee") for _ in range(10)]
    wait_until(lambda: api.get(api.url("/readyz")).status_code == 200, 60, what="readyz 200 after the outage")
    statuses = Counter(str(s) for s, _ in during)
    result = {"fault": "broker-outage", "outage_s": OUTAGE_SECONDS, "requests_during": len(during),
              "by_status_during": dict(statuses), "slowest_during_s": round(max(d for _, d in during), 2),
              "recovery_s": round(recovery_s, 1), "after_burst": Counter(r.status_code for r in after)}
    os.makedirs(REPORT_DIR, exist_ok=True)
    with open(os.path.join(REPORT_DIR, "broker-outage.json"), "w") as f:
        json.dump(result, f, indent=2, default=str)
    print(f"\n[reliability] {json.dumps(result, default=str)}")
    assert all(s == 503 for s, _ in during), statuses
    assert max(d for _, d in during) < 10
    assert recovery_s < 60
    assert all(r.status_code == 201 for r in after)
    assert system.dead() == [], "a process exited during the outage"
    emails = [r.request.body and json.loads(r.request.body)["email"] for r in after]
    counts, missing = deliveries(mailbox, emails, timeout=120)
    assert missing == []


def test_rolling_restart_of_every_service_under_load(api, system, mailbox, tenants):
    load = RetryingInvitationLoad(api, tenants)
    load.start()
    try:
        time.sleep(2)
        for name in ("identity", "users", "devices", "notify", "gateway"):
            system.rolling_restart(name)
            time.sleep(2)
    finally:
        time.sleep(3)
        load.stop()
    counts, missing = deliveries(mailbox, load.promised(), timeout=180)
    result = report("rolling-restart", load, counts, missing,
                    {"first_attempt_failures": load.first_attempt_failures})
    assert result["failed"] == 0, result["by_status"]
    assert missing == []
    assert result["emails_duplicated"] == 0
