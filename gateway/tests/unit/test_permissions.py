"""The gateway's membership cache and service tokens, without a broker: the feed is a stand-in."""
import threading

import pytest

from gateway import permissions, state
from gateway.copies import Memberships

MANAGER = {"role": "manager", "permissions": ["users.manage"]}
EMPLOYEE = {"role": "employee", "permissions": ["invoices.write"]}


class FakeFeed(dict):
    """Stands for the app's feed: only its state (`live`) matters here."""

    def live(self):
        return self["live"]


@pytest.fixture
def live():
    return FakeFeed(live=True)


def test_live_feed_answers_from_the_cache(live):
    cache, calls = Memberships(live), []
    fetch = lambda: calls.append(1) or MANAGER  # noqa: E731
    assert cache.lookup("c", "a", fetch) == MANAGER
    assert cache.lookup("c", "a", fetch) == MANAGER
    assert len(calls) == 1 and cache.hits == 1


def test_a_change_message_makes_the_next_lookup_ask_again(live):
    cache = Memberships(live)
    cache.lookup("c", "a", lambda: MANAGER)
    cache.on_change({"company_id": "c", "account_id": "a"})
    assert cache.lookup("c", "a", lambda: EMPLOYEE) == EMPLOYEE
    cache.on_change({"company_id": "c"})
    assert cache.lookup("c", "a", lambda: None) is None


def test_a_change_during_a_fill_is_not_overwritten_by_the_stale_answer(live):
    cache = Memberships(live)
    asked, release = threading.Event(), threading.Event()

    def slow_fetch():
        asked.set()
        release.wait(5)
        return MANAGER  # the answer from before the change

    filler = threading.Thread(target=lambda: cache.lookup("c", "a", slow_fetch))
    filler.start()
    asked.wait(5)
    cache.on_change({"company_id": "c", "account_id": "a"})  # the change lands meanwhile
    release.set()
    filler.join(5)
    assert cache.lookup("c", "a", lambda: EMPLOYEE) == EMPLOYEE


def test_without_the_feed_every_lookup_asks_the_service(live):
    cache, calls = Memberships(live), []
    live["live"] = False
    for _ in range(3):
        cache.lookup("c", "a", lambda: calls.append(1) or MANAGER)
    assert len(calls) == 3 and len(cache) == 0 and cache.bypasses == 3


def test_resync_forgets_everything(live):
    cache = Memberships(live)
    cache.lookup("c", "a", lambda: MANAGER)
    cache.clear()
    assert cache.lookup("c", "a", lambda: None) is None


def test_ids_of_the_wrong_shape_are_not_members_without_asking(monkeypatch):
    monkeypatch.setattr(state, "current", lambda: pytest.fail("should not get this far"))
    assert permissions.membership("../etc", "a") is None
    assert permissions.membership("f" * 32, "bad id!") is None


HELD = {"role": "employee", "permissions": ["invoices.write"], "second_factor_required": True,
        "company_name": "Majama Michał Zając"}


def test_a_member_held_back_by_the_policy_gets_setup_required_naming_the_company(monkeypatch):
    monkeypatch.setattr(permissions, "membership", lambda company_id, account_id: HELD)
    with pytest.raises(permissions.Problem) as refused:
        permissions.require("f" * 32, "a")
    problem = refused.value
    assert problem.code == "second_factor_setup_required" and problem.status == 403
    assert problem.extra == {"company_id": "f" * 32, "company_name": "Majama Michał Zając"}
    assert "Majama Michał Zając" in problem.detail and "Majama Michał Zając" in problem.detail_pl
    # nor may the product's other apps let them do anything in the company meanwhile
    assert permissions.allowed("f" * 32, "a", "invoices.write") is False


def test_a_member_with_the_policy_met_passes(monkeypatch):
    monkeypatch.setattr(permissions, "membership",
                        lambda company_id, account_id: {**EMPLOYEE, "second_factor_required": False})
    assert permissions.require("f" * 32, "a", "invoices.write")["role"] == "employee"
    assert permissions.allowed("f" * 32, "a", "invoices.write") is True
