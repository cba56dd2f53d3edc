"""The per-process copies behind GET /me: what each feed message drops, and fills that raced a change."""
import pytest

from gateway import feed
from gateway.api.me import AccountCache, CompaniesCache


@pytest.fixture(autouse=True)
def live_feed(monkeypatch):
    monkeypatch.setattr(feed, "live", lambda: True)


def _filled():
    cache = CompaniesCache()
    cache.put("anna", [{"company_id": "c1", "name": "Jeden", "role": "owner"},
                       {"company_id": "c2", "name": "Dwa", "role": "manager"}], cache.generation())
    cache.put("jan", [{"company_id": "c2", "name": "Dwa", "role": "employee"}], cache.generation())
    cache.put("ewa", [{"company_id": "c3", "name": "Trzy", "role": "owner"}], cache.generation())
    return cache


def test_a_membership_message_drops_only_that_persons_list():
    cache = _filled()
    cache.on_change({"company_id": "c2", "account_id": "jan"})
    assert cache.get("jan") is None
    assert cache.get("anna") is not None and cache.get("ewa") is not None


def test_a_company_message_drops_every_list_naming_the_company():
    cache = _filled()
    cache.on_change({"company_id": "c2"})
    assert cache.get("anna") is None and cache.get("jan") is None
    assert cache.get("ewa") is not None


def test_a_message_without_a_company_or_a_resync_drops_everything():
    cache = _filled()
    cache.on_change({})
    assert [cache.get(a) for a in ("anna", "jan", "ewa")] == [None, None, None]
    cache = _filled()
    cache.clear()
    assert [cache.get(a) for a in ("anna", "jan", "ewa")] == [None, None, None]


@pytest.mark.parametrize("cache_class", [AccountCache, CompaniesCache])
def test_a_fill_that_raced_a_change_is_not_kept(cache_class):
    cache = cache_class()
    asked_at = cache.generation()
    cache.on_change({"company_id": "c9", "account_id": "someone-else"})
    cache.put("anna", [], asked_at)
    assert cache.get("anna") is None
    cache.put("anna", [], cache.generation())
    assert cache.get("anna") == []


def test_nothing_is_kept_while_the_feed_is_down(monkeypatch):
    monkeypatch.setattr(feed, "live", lambda: False)
    cache = CompaniesCache()
    cache.put("anna", [], cache.generation())
    assert cache.get("anna") is None
