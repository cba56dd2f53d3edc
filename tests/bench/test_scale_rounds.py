"""`make bench-scale`'s comparison (bench/scale_rounds.py): each figure's better value over the interleaved
rounds, matched across rounds and systems by its name without the numbers a run puts in it."""
import os
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path[:0] = [os.path.join(ROOT, "bench"), os.path.join(ROOT, "scripts")]
import scale_rounds  # noqa: E402


def _row(figure, value, unit):
    return {"figure": figure, "value": value, "unit": unit}


def test_the_better_value_of_each_figure_is_kept_higher_rates_and_lower_times():
    first = [_row("logins (wrk; non-2xx 0)", 30.0, "logins/s"), _row("notify delay p99 at 104 events/s", 40.0, "ms")]
    second = [_row("logins (wrk; non-2xx 2)", 34.0, "logins/s"), _row("notify delay p99 at 96 events/s", 55.0, "ms")]

    best = scale_rounds.better([first, second])

    assert [(r["figure"], r["value"]) for r in best] == [
        ("logins (wrk; non-2xx 2)", 34.0), ("notify delay p99 at 104 events/s", 40.0)]


def test_a_round_without_a_value_does_not_hide_the_other_rounds():
    best = scale_rounds.better([[_row("refresh", None, "refreshes/s")], [_row("refresh", 250.0, "refreshes/s")]])

    assert best[0]["value"] == 250.0


def test_the_comparison_judges_kadra_figures_and_leaves_the_machines_baselines_unjudged():
    empty = [_row("GET /me (wrk; non-2xx 0)", 1000.0, "req/s"), _row("audit page p50", 40.0, "ms"),
             _row("argon2id verify, 2 processes", 80.0, "verify/s")]
    seeded = [_row("GET /me (wrk; non-2xx 0)", 880.0, "req/s"), _row("audit page p50", 42.0, "ms"),
              _row("argon2id verify, 2 processes", 60.0, "verify/s")]

    entries = {e["figure"]: e for e in scale_rounds.compare(empty, seeded)}

    assert entries["GET /me (wrk; non-2xx 0)"]["ok"] is False  # 0.88
    assert round(entries["audit page p50"]["as_good"], 3) == round(40 / 42, 3)
    assert entries["audit page p50"]["ok"] is True
    assert entries["argon2id verify, 2 processes"]["ok"] is None


def test_parts_are_measured_in_their_order_with_the_baselines_always():
    assert scale_rounds.parts_from("notify, audit") == ("baselines", "audit", "notify")
    assert scale_rounds.parts_from("") == scale_rounds.PARTS
    assert scale_rounds.parts_from(None) == scale_rounds.PARTS


def test_an_unknown_part_is_refused_with_the_known_ones_named():
    with pytest.raises(SystemExit) as refused:
        scale_rounds.parts_from("notify,mail")

    assert "mail" in str(refused.value) and "notify" in str(refused.value) and "baselines" in str(refused.value)
