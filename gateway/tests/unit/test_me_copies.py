"""The per-process copies behind GET /me: what each feed message drops, and fills that raced a change."""
import pytest

from gateway.copies import Companies, Profiles


class FakeFeed(dict):
    """Stands for the app's feed: only its state (`live`) matters here."""

    def live(self):
        return self["live"]


FEED = FakeFeed(live=True)


@pytest.fixture(autouse=True)
def live_feed():
    FEED["live"] = True


def _filled():
    cache = Companies(FEED)
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


@pytest.mark.parametrize("cache_class", [Profiles, Companies])
def test_a_fill_that_raced_a_change_is_not_kept(cache_class):
    cache = cache_class(FEED)
    asked_at = cache.generation()
    cache.on_change({"company_id": "c9", "account_id": "someone-else"})
    cache.put("anna", [], asked_at)
    assert cache.get("anna") is None
    cache.put("anna", [], cache.generation())
    assert cache.get("anna") == []


def test_nothing_is_kept_while_the_feed_is_down():
    FEED["live"] = False
    cache = Companies(FEED)
    cache.put("anna", [], cache.generation())
    assert cache.get("anna") is None
