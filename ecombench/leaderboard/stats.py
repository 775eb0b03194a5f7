"""Leaderboard statistics: pure functions of small tables, no I/O.

- ``aggregate``: KDD Cup aggregation (task → mean per track → mean of tracks), optionally with
  each task normalised against its random-guess baseline (0 = chance, 100 = perfect).
- ``all_around_ci``: a 95% interval for All-Around from the task standard errors (tasks are
  independent samples; All-Around is a fixed linear combination of task scores).
- ``win_rates``: HELM's mean win rate: per task, the share of other models a model beats,
  ties counting half, averaged over tasks.
- ``paired_bootstrap`` and ``holm``: the paired test and multiple-comparison correction of
  ``ecombench compare``.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

Z95 = 1.959963984540054


def normalise(score: float, baseline: float | None) -> float:
    """0 at the random-guess baseline, 100 at a perfect score (scores below chance go negative).

    Without a baseline (None or NaN) the score is only scaled to 0-100.
    """
    if baseline is None or math.isnan(baseline) or baseline >= 1.0:
        return 100.0 * score
    return 100.0 * (score - baseline) / (1.0 - baseline)


def aggregate(tasks: pd.DataFrame, normalize: bool = False) -> pd.DataFrame:
    """Per submission: track means and All-Around from rows (submission, task, track, score, stderr, baseline).

    Returns one row per submission with columns ``all_around``, ``all_around_stderr`` and one
    column per track.
    """
    frame = tasks.copy()
    if normalize:
        frame["value"] = [normalise(s, b) for s, b in zip(frame["score"], frame["baseline"], strict=True)]
        scale = [100.0 / (1.0 - b) if b is not None and not math.isnan(b) and b < 1 else 100.0 for b in frame["baseline"]]
        frame["value_stderr"] = frame["stderr"] * scale
    else:
        frame["value"] = frame["score"]
        frame["value_stderr"] = frame["stderr"]
    rows = []
    for submission, group in frame.groupby("submission", sort=False):
        tracks = {track: float(g["value"].mean()) for track, g in group.groupby("track", sort=True)}
        row = {"submission": submission, "all_around": float(np.mean(list(tracks.values()))), **{f"track:{k}": v for k, v in tracks.items()}}
        row["all_around_stderr"] = all_around_stderr(group)
        rows.append(row)
    return pd.DataFrame(rows)


def all_around_stderr(group: pd.DataFrame) -> float:
    """Standard error of the mean of track means, propagating each task's standard error."""
    n_tracks = group["track"].nunique()
    variance = 0.0
    for _, track in group.groupby("track"):
        k = len(track)
        variance += float(np.nansum(np.square(track["value_stderr"].astype(float)))) / (k * k)
    return math.sqrt(variance) / n_tracks


def win_rates(scores: pd.DataFrame) -> dict[str, float]:
    """Mean win rate of each submission over tasks (rows: submission, task, score); ties are half a win.

    A task counts for a submission only against others that have a score on it.
    """
    by_task: dict[str, dict[str, float]] = defaultdict(dict)
    for sub, task, score in zip(scores["submission"], scores["task"], scores["score"], strict=True):
        by_task[task][sub] = float(score)
    totals: dict[str, list[float]] = defaultdict(list)
    for task_scores in by_task.values():
        if len(task_scores) < 2:
            continue
        for sub, mine in task_scores.items():
            others = [s for other, s in task_scores.items() if other != sub]
            wins = sum(1.0 if mine > o else 0.5 if mine == o else 0.0 for o in others)
            totals[sub].append(wins / len(others))
    subs = dict.fromkeys(scores["submission"])
    return {s: float(np.mean(totals[s])) if totals[s] else 0.0 for s in subs}


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
