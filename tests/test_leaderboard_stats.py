"""Leaderboard statistics on tiny tables whose answers are worked out by hand."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from ecombench.leaderboard.stats import aggregate, competition_rank, holm, normalise, paired_bootstrap, win_rates


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


def test_paired_bootstrap_detects_a_real_difference_and_not_noise():
    a = [0.0] * 50 + [1.0] * 50
    better = [1.0] * 90 + [0.0] * 10  # b wins 50 items, loses 10 (paired by index)
    delta, p = paired_bootstrap(a, better, iters=2000)
    assert delta == pytest.approx(0.4) and p <= 0.001
    delta, p = paired_bootstrap(a, a, iters=2000)
    assert (delta, p) == (0.0, 1.0)
    delta, p = paired_bootstrap([1, 0, 1, 0], [0, 1, 0, 1], iters=2000)
    assert delta == 0.0 and p == 1.0  # mean difference 0: every resample's sign is balanced


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
