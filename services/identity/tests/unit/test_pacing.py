"""identity.pacing: a decoy lasts as long as a recent real operation (a fake clock; nothing sleeps)."""
from identity.pacing import DurationMatcher


class FakeClock:
    def __init__(self):
        self.now = 100.0
        self.slept = []

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.slept.append(seconds)
        self.now += seconds


def test_nothing_to_copy_before_a_real_operation():
    clock = FakeClock()
    matcher = DurationMatcher(sleep=clock.sleep, clock=clock)
    assert matcher.wait_like_one(clock()) == 0.0 and clock.slept == []


def test_a_decoy_waits_out_the_rest_of_a_real_duration():
    clock = FakeClock()
    matcher = DurationMatcher(sleep=clock.sleep, clock=clock)
    started = clock()
    clock.now += 0.040  # a real sign-up of 40 ms
    matcher.record(started)
    decoy = clock()
    clock.now += 0.015  # the decoy's own work: 15 ms
    assert abs(matcher.wait_like_one(decoy) - 0.025) < 1e-9
    assert abs((clock() - decoy) - 0.040) < 1e-9


def test_a_decoy_already_slower_does_not_wait_and_waits_are_capped():
    clock = FakeClock()
    matcher = DurationMatcher(longest=0.5, sleep=clock.sleep, clock=clock)
    started = clock()
    clock.now += 0.030
    matcher.record(started)
    decoy = clock()
    clock.now += 0.050
    assert matcher.wait_like_one(decoy) == 0.0 and clock.slept == []
    slow = DurationMatcher(longest=0.5, sleep=clock.sleep, clock=clock)
    started = clock()
    clock.now += 9.0  # one real sign-up that hung (users slow): decoys don't copy more than `longest`
    slow.record(started)
    assert abs(slow.wait_like_one(clock()) - 0.5) < 1e-9


def test_durations_are_drawn_from_the_recent_ones():
    clock = FakeClock()
    matcher = DurationMatcher(keep=3, sleep=clock.sleep, clock=clock)
    for duration in (0.010, 0.020, 0.030, 0.040):
        started = clock()
        clock.now += duration
        matcher.record(started)
    waits = set()
    for _ in range(200):
        waits.add(round(matcher.wait_like_one(clock()), 6))
    assert waits == {0.02, 0.03, 0.04}  # the oldest fell out
