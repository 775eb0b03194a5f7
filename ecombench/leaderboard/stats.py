"""Leaderboard statistics: pure functions of small tables, no I/O.

- ``aggregate``: KDD Cup aggregation (task → mean per track → mean of tracks), optionally with
  each task normalised against its random-guess baseline (0 = chance, 100 = perfect;
  ``NORMALISATION`` says how, ``MAX_BASELINE`` which tasks are left as they are).
- ``competition_rank``: ranks as the tables show them: equal shown values share a rank ("1, 1, 3").
- ``all_around_ci``: a 95% interval for All-Around from the task standard errors (tasks are
  independent samples; All-Around is a fixed linear combination of task scores).
- ``win_rates``: HELM's mean win rate: per task, the share of other models a model beats,
  ties counting half, averaged over tasks.
- ``paired_bootstrap`` and ``holm``: the paired test and multiple-comparison correction of
  ``ecombench compare``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

Z95 = 1.959963984540054
# A task whose random baseline is this close to the maximum score (1.0) is not normalised: 1 - baseline
# would be a tiny denominator that turns a small gap below chance into a score of -1000.
MAX_BASELINE = 0.95
NORMALISATION = (
    "normalised score per task = 100 × (score − random baseline) / (1 − random baseline): "
    "0 = chance, 100 = perfect, negative = below chance; tasks without a baseline, or with a "
    f"baseline of {MAX_BASELINE} or more, count as 100 × score"
)


def normalisable(baseline: float | None) -> bool:
    """Whether a task with this random baseline is normalised (a baseline below ``MAX_BASELINE``)."""
    return baseline is not None and not math.isnan(baseline) and baseline < MAX_BASELINE


def normalise(score: float, baseline: float | None) -> float:
    """0 at the random-guess baseline, 100 at a perfect score (scores below chance go negative).

    Without a baseline (None or NaN), or with one of ``MAX_BASELINE`` or more, the score is only
    scaled to 0-100.
    """
    if not normalisable(baseline):
        return 100.0 * score
    assert baseline is not None  # normalisable() is False for None
    return 100.0 * (score - baseline) / (1.0 - baseline)


def aggregate(tasks: pd.DataFrame, normalize: bool = False) -> pd.DataFrame:
    """Per submission: track means and All-Around from rows (submission, task, track, score, stderr, baseline).

    Returns one row per submission with columns ``all_around``, ``all_around_stderr`` and one
    column ``track:<name>`` per track. Vectorised: thousands of submissions take milliseconds.
    """
    frame = tasks[["submission", "track", "score", "stderr", "baseline"]].copy()
    baseline = pd.to_numeric(frame["baseline"], errors="coerce")
    if normalize:
        usable = baseline.notna() & (baseline < MAX_BASELINE)
        base = baseline.where(usable, 0.0)
        frame["value"] = 100.0 * (frame["score"] - base) / (1.0 - base)
        frame["value_se"] = 100.0 * frame["stderr"].fillna(0.0) / (1.0 - base)
    else:
        frame["value"] = frame["score"].astype(float)
        frame["value_se"] = frame["stderr"].fillna(0.0).astype(float)
    frame["se2"] = frame["value_se"] ** 2
    per_track = frame.groupby(["submission", "track"], sort=False).agg(mean=("value", "mean"), se2=("se2", "sum"), k=("value", "size"))
    per_track["var"] = per_track["se2"] / per_track["k"] ** 2
    by_sub = per_track.groupby(level="submission", sort=False).agg(all_around=("mean", "mean"), var=("var", "sum"), tracks=("mean", "size"))
    by_sub["all_around_stderr"] = np.sqrt(by_sub["var"]) / by_sub["tracks"]
    wide = per_track["mean"].unstack("track")
    wide = wide[sorted(wide.columns)].add_prefix("track:")
    out = by_sub[["all_around", "all_around_stderr"]].join(wide)
    return out.reset_index()


def shown_decimals(value: float) -> int:
    """Decimals the tables show a score with: 4 for 0-1 scores and win rates, 2 for normalised 0-100 scores."""
    return 4 if abs(value) <= 1.5 else 2


def competition_rank(values: pd.Series) -> pd.Series:
    """Ranks (higher is better) of values as the tables show them (``shown_decimals``): values that
    print the same share a rank and the next rank is skipped ("1, 1, 3"); NaN gets no rank."""
    shown = values.astype(float).map(lambda v: v if math.isnan(v) else float(f"{v:.{shown_decimals(v)}f}"))
    return shown.rank(ascending=False, method="min").astype("Int64")


def win_rates(scores: pd.DataFrame) -> dict[str, float]:
    """Mean win rate of each submission over tasks (rows: submission, task, score); ties are half a win.

    On a task with n scored submissions, one with ``less`` lower and ``eq`` equal scores (itself
    included) wins (less + (eq - 1) / 2) of n - 1 duels, which is (average rank - 1) / (n - 1).
    A task counts for a submission only against others that have a score on it.
    """
    frame = scores[["submission", "task", "score"]].copy()
    frame["n"] = frame.groupby("task")["score"].transform("size")
    frame = frame[frame["n"] >= 2]
    frame["rate"] = (frame.groupby("task")["score"].rank(method="average") - 1.0) / (frame["n"] - 1.0)
    rates = frame.groupby("submission")["rate"].mean()
    return {s: float(rates.get(s, 0.0)) for s in dict.fromkeys(scores["submission"])}


def paired_bootstrap(a: Sequence[float], b: Sequence[float], iters: int = 10_000, seed: int = 0) -> tuple[float, float]:
    """Mean difference b − a over paired items and a two-sided bootstrap p-value.

    Resamples item indices with replacement; the p-value is the share of resampled mean
    differences on the other side of zero, doubled, at least 1/iters and at most 1.
    """
    x = np.asarray(b, dtype=float) - np.asarray(a, dtype=float)
    n = len(x)
    if n == 0:
        return 0.0, 1.0
    delta = float(x.mean())
    if np.all(x == 0):
        return 0.0, 1.0
    rng = np.random.default_rng(seed)
    means = np.empty(iters)
    chunk = max(1, 2_000_000 // max(n, 1))
    for start in range(0, iters, chunk):
        size = min(chunk, iters - start)
        means[start : start + size] = x[rng.integers(0, n, size=(size, n))].mean(axis=1)
    if delta > 0:
        tail = float(np.mean(means <= 0))
    else:
        tail = float(np.mean(means >= 0))
    return delta, min(1.0, max(2 * tail, 1.0 / iters))


def paired_interval(a: Sequence[float], b: Sequence[float], iters: int = 10_000, seed: int = 0, level: float = 0.95) -> tuple[float, float]:
    """Percentile bootstrap interval of the mean paired difference b − a (items resampled with replacement)."""
    x = np.asarray(b, dtype=float) - np.asarray(a, dtype=float)
    if len(x) == 0:
        return 0.0, 0.0
    rng = np.random.default_rng(seed)
    means = x[rng.integers(0, len(x), size=(iters, len(x)))].mean(axis=1) if len(x) * iters <= 50_000_000 else np.array([x.mean()])
    tail = (1.0 - level) / 2
    return float(np.quantile(means, tail)), float(np.quantile(means, 1.0 - tail))


def holm(p_values: Mapping[str, float]) -> dict[str, float]:
    """Holm–Bonferroni adjusted p-values (step-down, monotone, capped at 1)."""
    ordered = sorted(p_values.items(), key=lambda kv: kv[1])
    m = len(ordered)
    adjusted: dict[str, float] = {}
    running = 0.0
    for i, (name, p) in enumerate(ordered):
        running = max(running, min(1.0, (m - i) * p))
        adjusted[name] = running
    return adjusted
