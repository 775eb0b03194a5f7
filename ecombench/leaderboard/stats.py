"""Leaderboard statistics: pure functions of small tables, no I/O.

- ``aggregate``: KDD Cup aggregation (task → mean per track → mean of tracks), optionally with
  each task normalised against its random-guess baseline (0 = chance, 100 = perfect;
  ``NORMALISATION`` says how, ``MAX_BASELINE`` which tasks are left as they are).
- ``competition_rank``: ranks as the tables show them: equal shown values share a rank ("1, 1, 3").
- ``all_around_ci``: a 95% interval for All-Around from the task standard errors (tasks are
  independent samples; All-Around is a fixed linear combination of task scores).
- ``win_rates``: HELM's mean win rate: per task, the share of other models a model beats,
  ties counting half, averaged over tasks.
- ``paired_test`` and ``holm``: the paired test (McNemar's exact test for 0/1 item scores, a sign-flip
  permutation test for others) and the multiple-comparison correction of ``ecombench compare``, the
  report's side-by-side page and ``sweep``'s gains.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

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


def shown_decimals_of(values: np.ndarray) -> np.ndarray:
    """``shown_decimals`` of every value of an array at once."""
    return np.where(np.abs(values) <= 1.5, 4, 2)


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


EXACT_MAX_DIFFERING = 20  # a sign-flip test enumerates all 2**k sign patterns up to this many differing items
MIN_INTERVAL_ITEMS = 30  # continuous scores: fewer paired items get no (normal) interval
_TIE = 1e-9  # relative tolerance: a sign pattern whose |sum| equals the observed one counts as extreme
_BYTE_SIGNS = ((np.arange(256)[:, None] >> np.arange(8)) & 1) * 2.0 - 1.0  # byte -> the signs of its 8 bits


@dataclass(frozen=True)
class PairedTest:
    """The paired test of scores ``b`` against ``a`` on the same items (``paired_test``).

    ``test``: ``mcnemar-exact`` (0/1 scores: the exact binomial test on the items that differ),
    ``sign-flip-exact`` (every sign pattern of the differing items enumerated), ``sign-flip-monte-carlo``
    (``iters`` random sign patterns; ``mc_error`` is the standard error of its p-value) or ``none`` (no
    item differs: p = 1). ``interval``: a 95% interval of the mean difference b − a, or None with
    ``interval_note`` saying why there is none."""

    delta: float
    p_value: float
    test: str
    n: int
    differing: int
    mc_error: float | None = None
    interval: tuple[float, float] | None = None
    interval_note: str = ""


def binomial_two_sided(k: int, m: int) -> float:
    """Exact two-sided p of ``k`` successes in ``m`` fair coin flips: twice the smaller tail, at most 1
    (the binomial is symmetric, so this is also the sum of the outcomes no more likely than ``k``)."""
    if m == 0:
        return 1.0
    low = min(k, m - k)
    tail = sum(math.comb(m, i) for i in range(low + 1))
    return min(1.0, 2 * tail / 2**m)


def _binomial_cdf(k: int, m: int) -> Callable[[float], float]:
    """p -> P(X <= k) for X ~ Binomial(m, p), summed in log space (any m)."""
    i = np.arange(k + 1)
    log_comb = math.lgamma(m + 1) - np.array([math.lgamma(j + 1) + math.lgamma(m - j + 1) for j in range(k + 1)])

    def cdf(p: float) -> float:
        if k < 0 or p >= 1.0:
            return 0.0 if k < m else 1.0
        if k >= m or p <= 0.0:
            return 1.0
        logs = log_comb + i * math.log(p) + (m - i) * math.log1p(-p)
        top = float(logs.max())
        return min(1.0, math.exp(top) * float(np.exp(logs - top).sum()))

    return cdf


def _bisect(f: Callable[[float], float], target: float) -> float:
    """Where the increasing ``f`` crosses ``target`` on [0, 1]: the Illinois method (false position that halves
    the kept end's weight), about 10 evaluations to 1e-13 where bisection takes 45."""
    lo, hi = 0.0, 1.0
    flo, fhi = f(lo) - target, f(hi) - target
    side = 0
    for _ in range(100):
        mid = (lo * fhi - hi * flo) / (fhi - flo) if fhi != flo else (lo + hi) / 2
        fmid = f(mid) - target
        if fmid == 0 or hi - lo < 1e-13:
            return mid
        if fmid < 0:
            lo, flo = mid, fmid
            if side == -1:
                fhi /= 2
            side = -1
        else:
            hi, fhi = mid, fmid
            if side == 1:
                flo /= 2
            side = 1
        if abs(fmid) < 1e-15:
            return mid
    return (lo + hi) / 2


def clopper_pearson(k: int, m: int, level: float = 0.95) -> tuple[float, float]:
    """The exact (Clopper-Pearson) interval of a binomial proportion from ``k`` of ``m``: the p at which
    P(X >= k) and P(X <= k) are each (1 - level) / 2."""
    tail = (1.0 - level) / 2
    below, at = _binomial_cdf(k - 1, m), _binomial_cdf(k, m)
    lower = 0.0 if k == 0 else _bisect(lambda p: 1.0 - below(p), tail)
    upper = 1.0 if k == m else _bisect(lambda p: -at(p), -tail)
    return lower, upper


def _subset_sums(d: np.ndarray) -> np.ndarray:
    """The sums of ``d`` under all 2**len(d) sign patterns."""
    sums = np.zeros(1)
    for value in d:
        sums = np.concatenate((sums + value, sums - value))
    return sums


def paired_test(a: Sequence[float], b: Sequence[float], iters: int = 10_000, seed: int = 0, interval: bool = True) -> PairedTest:
    """Exact paired test of the mean difference b − a over paired items (two-sided), and a 95% interval.

    0/1 scores: McNemar's exact test, the binomial test of the b-better items among the items that
    differ (p = 2 × the smaller tail, at most 1); the interval is exact given the items that differ
    (Clopper-Pearson on their split, times their share of the items). Other scores: a paired
    sign-flip permutation test of |sum of differences| (under no effect each difference is as likely
    negated): exact over all 2**k sign patterns for up to ``EXACT_MAX_DIFFERING`` differing items or
    when they all differ by the same amount (then it is the binomial test), else ``iters`` seeded
    random patterns, p = (1 + extreme) / (1 + iters) with its standard error; the interval is the
    normal one of the mean difference, given from ``MIN_INTERVAL_ITEMS`` paired items on (``interval``
    False: none is computed, for simulations that need only the p-values)."""
    x = np.round(np.asarray(b, dtype=float) - np.asarray(a, dtype=float), 12)  # 0.4 - 0.1 and 0.5 - 0.2 differ by as much
    n = len(x)
    if n == 0:
        return PairedTest(0.0, 1.0, "none", 0, 0, interval_note="no paired items")
    delta = float(x.mean())
    d = x[x != 0]
    k = len(d)
    if k == 0:
        return PairedTest(0.0, 1.0, "none", n, 0, interval_note="no item scores differently: no interval from these items")
    sa, sb = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if bool(((sa == 0.0) | (sa == 1.0)).all() and ((sb == 0.0) | (sb == 1.0)).all()):
        up = int((d > 0).sum())
        span = None
        if interval:
            low, high = clopper_pearson(up, k)
            span = (k / n * (2 * low - 1), k / n * (2 * high - 1))
        return PairedTest(delta, binomial_two_sided(up, k), "mcnemar-exact", n, k, interval=span)
    span = None
    note = ""
    if n < MIN_INTERVAL_ITEMS:
        note = f"{n} paired items: too few for an interval (it takes {MIN_INTERVAL_ITEMS})"
    elif interval:
        half = Z95 * float(x.std(ddof=1)) / math.sqrt(n)
        span = (delta - half, delta + half)
    observed = abs(float(d.sum()))
    tolerance = _TIE * max(1.0, float(np.abs(d).sum()))
    if np.all(np.abs(d) == abs(d[0])):  # every item differs by as much: the sign-flip test is the binomial test
        return PairedTest(delta, binomial_two_sided(int((d > 0).sum()), k), "sign-flip-exact", n, k, interval=span, interval_note=note)
    if k <= EXACT_MAX_DIFFERING:
        sums = _subset_sums(d)
        p = float(np.mean(np.abs(sums) >= observed - tolerance))
        return PairedTest(delta, min(1.0, p), "sign-flip-exact", n, k, interval=span, interval_note=note)
    rng = np.random.default_rng(seed)
    extreme = 0
    # a random byte per 8 differences: its sign pattern's partial sum is looked up in a table of all 256 (5x faster
    # than multiplying out random signs)
    groups = (k + 7) // 8
    padded = np.zeros(groups * 8)
    padded[:k] = d
    table = (_BYTE_SIGNS @ padded.reshape(groups, 8).T).T  # group x byte -> signed partial sum
    columns = np.arange(groups)
    chunk = max(1, 4_000_000 // groups)
    for start in range(0, iters, chunk):
        size = min(chunk, iters - start)
        patterns = rng.integers(0, 256, size=(size, groups), dtype=np.uint8)
        sums = table[columns, patterns].sum(axis=1)
        extreme += int(np.count_nonzero(np.abs(sums) >= observed - tolerance))
    p = (1 + extreme) / (1 + iters)
    return PairedTest(delta, min(1.0, p), "sign-flip-monte-carlo", n, k, math.sqrt(p * (1 - p) / iters), span, note)


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
