"""Work done by a process of its own, for races between processes (as between two replicas of a service).

A per-process lock serialises threads; only separate processes show whether a guarantee spans replicas.
Each function here runs in a process started with the `spawn` method: it opens its own client.
"""
from __future__ import annotations


def membership_writes(db_name: str, action: str, plan: list, barrier) -> list:
    """For each (company, owner, heir) in `plan`, wait at the barrier with the other processes, then do
    `action` to that company through users' storage: hand the ownership to the heir, or make the heir a
    manager, or remove the heir. Returns what each call returned (True where it changed something)."""
    from kadra_defaults.contracts.events import utcnow
    from kadra_defaults.storage import connect
    from users.storage.memberships import Memberships

    client = connect("mongodb://127.0.0.1:27017/")
    store = Memberships(client[db_name])
    manageable = {"manager", "employee", "warehouse"}
    done = []
    try:
        for company_id, owner, heir in plan:
            barrier.wait(timeout=60)
            if action == "hand_over":
                done.append(store.hand_over(company_id, owner, heir, utcnow()))
            elif action == "demote_heir":
                done.append(store.set_role(company_id, heir, "employee", manageable, utcnow()) is not None)
            elif action == "remove_heir":
                done.append(store.remove(company_id, heir, manageable) is not None)
            else:
                raise ValueError(action)
    finally:
        client.close()
    return done
