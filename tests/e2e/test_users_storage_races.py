"""Role writes around the owner from separate processes, as from two users replicas, on the real database.

FerretDB applies a filtered find_one_and_update as a read, then a write by `_id`: a demotion that read
"manager" can land after an ownership move made that person the owner, leaving the company without one.
Within one process a lock would stop it; between replicas only the company's lease (kit Lease) does.
"""
import multiprocessing
import uuid
from concurrent.futures import ProcessPoolExecutor

import pytest

from kadra_defaults.contracts.events import utcnow
from tests.support import races
from tests.support.infra import store_on_own_database
from users.storage.memberships import MEMBERSHIPS, Memberships

pytestmark = [pytest.mark.integration, pytest.mark.slow]

COMPANIES = 60


@pytest.fixture
def store(real_parts):
    with store_on_own_database(Memberships, "users_race") as store:
        yield store


def test_an_ownership_move_racing_demotions_and_removals_in_other_processes_leaves_one_owner(store):
    now = utcnow()
    plan = []
    for _ in range(COMPANIES):
        company_id, owner, heir = (uuid.uuid4().hex for _ in range(3))
        store.add(company_id, owner, "owner", now)
        store.add(company_id, heir, "manager", now)
        plan.append((company_id, owner, heir))
    actions = ["hand_over", "demote_heir", "demote_heir", "remove_heir"]
    context = multiprocessing.get_context("spawn")
    with context.Manager() as manager:
        barrier = manager.Barrier(len(actions))
        with ProcessPoolExecutor(len(actions), mp_context=context) as pool:
            results = list(pool.map(races.membership_writes, [store.db.name] * len(actions), actions,
                                    [plan] * len(actions), [barrier] * len(actions)))

    moved = results[0]
    for i, (company_id, owner, heir) in enumerate(plan):
        owners = [m["account_id"] for m in store.db[MEMBERSHIPS].find({"company_id": company_id, "role": "owner"})]
        # Exactly one owner, and it is the heir exactly when the move went through.
        assert owners == [heir if moved[i] else owner], (i, owners, [r[i] for r in results])
    # The race ran both ways: some moves won, and some demotions or removals came first.
    assert 0 < sum(moved) < COMPANIES or any(any(r) for r in results[1:])
    assert store.db["leases"].count_documents({}) == 0  # every lease given back


def test_a_role_write_waits_for_the_companys_lease_and_answers_unavailable_when_it_stays_taken(store, monkeypatch):
    from kadra_defaults.storage import Lease
    from users.exceptions import Unavailable
    from users.storage import memberships

    now = utcnow()
    company_id, owner, member = (uuid.uuid4().hex for _ in range(3))
    store.add(company_id, owner, "owner", now)
    store.add(company_id, member, "employee", now)
    monkeypatch.setattr(memberships, "COMPANY_LEASE_WAIT", 0.3)
    other_replica = Lease(store.db, f"company-roles:{company_id}", ttl=30)
    assert other_replica.take()
    with pytest.raises(Unavailable) as raised:
        store.set_role(company_id, member, "manager", {"employee", "manager"}, now)
    assert raised.value.headers == {"Retry-After": "1"}
    assert store.get(company_id, member)["role"] == "employee"  # nothing written
    other_replica.release()
    assert store.set_role(company_id, member, "manager", {"employee", "manager"}, now)["role"] == "employee"
    assert store.get(company_id, member)["role"] == "manager"
