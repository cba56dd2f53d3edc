"""Abuse limits against the real database: the count holds under 40 parallel requests, Retry-After, PL/EN."""
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest

from kadra_defaults.limits import DAY, Limit, RateLimited
from kadra_defaults.storage import connect

pytestmark = pytest.mark.integration

SIGNUPS = Limit("signups", "sign-ups from this address", "rejestracji z tego adresu")


@pytest.fixture
def db():
    client = connect("mongodb://127.0.0.1:27017/")
    name = f"kt{uuid.uuid4().hex[:8]}_limits"
    yield client[name]
    client.drop_database(name)
    client.close()


def test_forty_parallel_requests_meet_a_limit_of_five_exactly(db):
    barrier = threading.Barrier(40)

    def one(_):
        barrier.wait()
        try:
            return SIGNUPS.take(db, "203.0.113.7", 5)
        except RateLimited as refused:
            return refused

    with ThreadPoolExecutor(40) as pool:
        results = list(pool.map(one, range(40)))
    assert sorted(r for r in results if isinstance(r, int)) == [1, 2, 3, 4, 5]
    refused = [r for r in results if isinstance(r, RateLimited)]
    assert len(refused) == 35
    details = refused[0].details
    assert details["code"] == "rate_limited" and 1 <= int(details["headers"]["Retry-After"]) <= 3601
    assert "at most 5 per hour" in details["detail"] and "najwyżej 5 na godzinę" in details["detail_pl"]


def test_subjects_are_counted_apart_and_no_subject_is_not_counted(db):
    daily = Limit("companies", "new companies", "nowych firm", window=DAY)
    assert daily.take(db, "account-a", 1) == 1
    with pytest.raises(RateLimited) as refused:
        daily.take(db, "account-a", 1)
    assert "per day" in refused.value.details["detail"]
    assert daily.take(db, "account-b", 1) == 1
    assert daily.take(db, None, 1) == 0 and daily.take(db, "account-a", 0) == 0
