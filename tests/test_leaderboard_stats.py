"""Leaderboard statistics on tiny tables whose answers are worked out by hand."""

from __future__ import annotations

import math
import random

import numpy as np
import pandas as pd
import pytest

from ecombench.leaderboard.stats import aggregate, binomial_two_sided, clopper_pearson, competition_rank, holm, normalise, paired_test, win_rates


def _tasks(rows):
    return pd.DataFrame(rows, columns=["submission", "task", "track", "score", "stderr", "baseline"])


TABLE = _tasks(
    [
        # submission A: track x tasks 0.8, 0.4 -> 0.6; track y task 0.2 -> All-Around 0.4
        ("A", "t1", "x", 0.8, 0.04, 0.25),
        ("A", "t2", "x", 0.4, 0.03, 0.5),
        ("A", "t3", "y", 0.2, 0.05, None),
        # submission B: x -> (0.6 + 0.4) / 2 = 0.5; y 0.6 -> All-Around 0.55
        ("B", "t1", "x", 0.6, 0.04, 0.25),
        ("B", "t2", "x", 0.4, 0.03, 0.5),
        ("B", "t3", "y", 0.6, 0.05, None),
    ]
)


def test_kddcup_aggregation_by_hand():
    out = aggregate(TABLE).set_index("submission")
    assert out.loc["A", "track:x"] == pytest.approx(0.6) and out.loc["A", "track:y"] == pytest.approx(0.2)
    assert out.loc["A", "all_around"] == pytest.approx(0.4)
    assert out.loc["B", "all_around"] == pytest.approx(0.55)
    # var = [(0.04² + 0.03²) / 2²] for x, 0.05² for y; stderr = sqrt(var_x + var_y) / 2 tracks
    expected = math.sqrt((0.04**2 + 0.03**2) / 4 + 0.05**2) / 2
    assert out.loc["A", "all_around_stderr"] == pytest.approx(expected)


def test_normalised_aggregation_by_hand():
    # A: t1 (0.8-0.25)/0.75*100 = 73.33; t2 (0.4-0.5)/0.5*100 = -20; t3 no baseline -> 20
    out = aggregate(TABLE, normalize=True).set_index("submission")
    assert out.loc["A", "track:x"] == pytest.approx((220 / 3 - 20) / 2)
    assert out.loc["A", "all_around"] == pytest.approx(((220 / 3 - 20) / 2 + 20) / 2)
    assert normalise(0.25, 0.25) == 0.0 and normalise(1.0, 0.25) == pytest.approx(100.0)


def test_mean_win_rate_with_ties_by_hand():
    scores = pd.DataFrame(
        [("A", "t1", 0.9), ("B", "t1", 0.5), ("C", "t1", 0.5), ("A", "t2", 0.1), ("B", "t2", 0.7), ("C", "t2", 0.3)],
        columns=["submission", "task", "score"],
    )
    # t1: A beats B and C -> 1; B ties C, loses A -> 0.25; C the same -> 0.25
    # t2: A loses both -> 0; B beats both -> 1; C beats A -> 0.5
    assert win_rates(scores) == pytest.approx({"A": 0.5, "B": 0.625, "C": 0.375})


def test_win_rate_ignores_tasks_a_model_has_no_opponent_on():
    scores = pd.DataFrame([("A", "t1", 0.9), ("B", "t1", 0.5), ("A", "only_a", 0.1)], columns=["submission", "task", "score"])
    assert win_rates(scores) == {"A": 1.0, "B": 0.0}


def test_mcnemar_exact_by_hand():
    # 8 of 60 items differ, all wrong -> right: p = 2 * (1/2)^8 = 0.0078125 (the bootstrap said about 0)
    t = paired_test([0.0] * 60, [1.0] * 8 + [0.0] * 52)
    assert (t.test, t.differing, t.n) == ("mcnemar-exact", 8, 60)
    assert t.p_value == pytest.approx(2 / 2**8, rel=1e-12) and t.delta == pytest.approx(8 / 60)
    # 3 up, 1 down: 2 * P(X <= 1 | 4, 1/2) = 2 * (1 + 4) / 16
    t = paired_test([0, 0, 0, 1, 1, 0], [1, 1, 1, 0, 1, 0])
    assert t.p_value == pytest.approx(10 / 16) and t.differing == 4
    # 50 up, 10 down (paired by index): 2 * sum_{i<=10} C(60, i) / 2^60, worked out with math.comb
    a, better = [0.0] * 50 + [1.0] * 50, [1.0] * 90 + [0.0] * 10
    assert paired_test(a, better).p_value == pytest.approx(2 * sum(math.comb(60, i) for i in range(11)) / 2**60, rel=1e-12)
    assert binomial_two_sided(5, 10) == 1.0  # balanced: capped at 1, not 2 * 0.623
    same = paired_test(a, a)
    assert (same.p_value, same.test, same.interval) == (1.0, "none", None) and "no item" in same.interval_note


def test_one_task_of_24_with_8_one_way_flips_is_not_significant_after_holm_but_12_are():
    # the new user: 8 items of one task differ, all one way; Holm over 24 tasks multiplies by 24
    ps = {f"t{i}": 1.0 for i in range(23)}
    assert holm({**ps, "x": paired_test([0.0] * 60, [1.0] * 8 + [0.0] * 52).p_value})["x"] == pytest.approx(24 * 2 / 2**8)  # 0.1875
    # a real effect: 12 wrong -> right, none back: 24 * 2 / 2^12 = 0.0117 < 0.05
    assert holm({**ps, "x": paired_test([0.0] * 60, [1.0] * 12 + [0.0] * 48).p_value})["x"] == pytest.approx(24 * 2 / 2**12)


def test_exact_intervals_of_01_items_are_clopper_pearson_on_the_items_that_differ():
    # Clopper-Pearson in closed form at the edges: 0 of m -> upper 1 - 0.025^(1/m); m of m -> lower 0.025^(1/m)
    assert clopper_pearson(0, 10) == pytest.approx((0.0, 1 - 0.025 ** (1 / 10)), abs=1e-9)
    assert clopper_pearson(10, 10) == pytest.approx((0.025 ** (1 / 10), 1.0), abs=1e-9)
    # 8 of 60 differ, all up: delta in 8/60 * (2 * [0.025^(1/8), 1] - 1)
    t = paired_test([0.0] * 60, [1.0] * 8 + [0.0] * 52)
    assert t.interval == pytest.approx((8 / 60 * (2 * 0.025 ** (1 / 8) - 1), 8 / 60), abs=1e-9)


def test_sign_flip_test_enumerates_every_sign_pattern_by_hand():
    # differences 0.5, 0.25, 0.25, -0.1 (sum 0.9, |.| total 1.1): a pattern's sum is 1.1 - 2 * (the flipped part);
    # |sum| >= 0.9 only when nothing or the 0.1 alone is flipped, and the mirror images: 4 of 16 patterns
    t = paired_test([0.0, 0.0, 0.5, 0.3, 0.7], [0.5, 0.25, 0.75, 0.2, 0.7])
    assert (t.test, t.differing) == ("sign-flip-exact", 4) and t.p_value == pytest.approx(4 / 16)
    assert t.interval is None and "too few" in t.interval_note  # 5 paired items
    # equal differences: the binomial test, whatever their number (30 items, 25 up by 0.5, 5 down)
    t = paired_test([0.25] * 30, [0.75] * 25 + [-0.25] * 5)
    assert t.p_value == pytest.approx(2 * sum(math.comb(30, i) for i in range(6)) / 2**30, rel=1e-12)


def test_monte_carlo_sign_flips_agree_with_the_exact_distribution_within_their_error():
    # 40 differences in hundredths: the exact null distribution of their signed sum by convolution (integers)
    rng = random.Random(5)
    hundredths = [rng.randint(1, 30) * (1 if rng.random() < 0.68 else -1) for _ in range(40)]
    counts = {0: 1}
    for h in hundredths:
        nxt: dict[int, int] = {}
        for total, c in counts.items():
            for signed in (total + h, total - h):
                nxt[signed] = nxt.get(signed, 0) + c
        counts = nxt
    observed = abs(sum(hundredths))
    exact = sum(c for total, c in counts.items() if abs(total) >= observed) / 2**40
    t = paired_test([0.0] * 40, [h / 100 for h in hundredths], iters=20_000, seed=3)
    assert t.test == "sign-flip-monte-carlo" and t.mc_error is not None
    assert abs(t.p_value - exact) <= 4 * t.mc_error and t.mc_error == pytest.approx(math.sqrt(exact * (1 - exact) / 20_000), rel=0.2)


def test_null_comparisons_keep_the_family_wise_false_rate_at_5_percent():
    # the simulation: 24 tasks x 60 items, 7-8 items per task flip at random, as often each way
    rng = np.random.default_rng(7)
    false = 0
    runs = 300
    for _ in range(runs):
        ps = {}
        for task in range(24):
            a = (rng.random(60) < 0.6).astype(float)
            b = a.copy()
            for up in rng.random(int(rng.integers(7, 9))) < 0.5:  # each flip as likely up as down: no effect
                b[rng.choice(np.flatnonzero((a == b) & (a == (0.0 if up else 1.0))))] = 1.0 if up else 0.0
            ps[str(task)] = paired_test(a, b, interval=False).p_value
        false += min(holm(ps).values()) < 0.05
    assert false / runs <= 0.05  # the bootstrap: about 20-27%


def test_holm_by_hand():
    # sorted: c 0.01*3 = 0.03; a 0.02*2 = 0.04; b max(0.04, 0.04*1) = 0.04
    assert holm({"a": 0.02, "b": 0.04, "c": 0.01}) == pytest.approx({"c": 0.03, "a": 0.04, "b": 0.04})
    assert holm({"a": 0.6, "b": 0.9}) == {"a": 1.0, "b": 1.0}


@pytest.mark.parametrize(
    ("score", "baseline", "expected"),
    [
        (0.25, 0.25, 0.0),  # chance is 0
        (1.0, 0.25, 100.0),  # perfect is 100
        (0.1, 0.25, -20.0),  # below chance is negative: (0.1 - 0.25) / 0.75
        (0.5, None, 50.0),  # no baseline: 100 × score
        (0.5, float("nan"), 50.0),
        (0.9, 0.9, 0.0),  # 0.9 < MAX_BASELINE: still normalised
        (0.93, 0.95, 93.0),  # baseline at MAX_BASELINE: 100 × score, not (0.93 - 0.95) / 0.05 = -40
        (0.9, 0.99, 90.0),  # would be -900
    ],
)
def test_normalise_guards_baselines_near_the_maximum(score, baseline, expected):
    assert normalise(score, baseline) == pytest.approx(expected)


def test_aggregate_leaves_a_near_maximum_baseline_task_unnormalised():
    rows = _tasks([("A", "easy", "x", 0.90, 0.01, 0.97), ("A", "hard", "x", 0.50, 0.01, 0.25)])
    out = aggregate(rows, normalize=True).set_index("submission")
    # easy: 100 × 0.90 = 90 (not (0.90 - 0.97) / 0.03 × 100 = -233); hard: (0.5 - 0.25) / 0.75 × 100 = 33.3
    assert out.loc["A", "all_around"] == pytest.approx((90 + 100 / 3) / 2)


@pytest.mark.parametrize(
    ("values", "ranks"),
    [
        ([0.5, 0.5, 0.3], [1, 1, 3]),  # competition ranking: a tie shares the rank, the next is skipped
        ([0.7, 0.5, 0.5, 0.5, 0.1], [1, 2, 2, 2, 5]),
        ([0.40001, 0.40004, 0.3], [1, 1, 3]),  # both show as 0.4000: tied
        ([0.12341, 0.12344, 0.1235], [2, 2, 1]),  # 0.1234, 0.1234, 0.1235
        ([-18.414, -18.409, 3.0], [2, 2, 1]),  # normalised scores show 2 decimals: -18.41 twice
        ([0.5, float("nan"), 0.2], [1, None, 2]),  # no value, no rank
    ],
)
def test_competition_rank_on_shown_values(values, ranks):
    got = competition_rank(pd.Series(values))
    assert [None if r is pd.NA else int(r) for r in got] == ranks
