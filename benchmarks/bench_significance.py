"""How often ``ecombench compare`` calls noise significant, and how often it finds a real effect (issue 36).

A comparison is 24 multiple-choice tasks of 60 items. Under no effect, run B equals run A except that
``k`` random items per task flip correctness, each as likely right -> wrong as wrong -> right; the
comparison is falsely significant when any task is significant at 0.05 after Holm's correction over
the 24 tasks (the family-wise false rate, which Holm should hold at 5%). A real effect adds, on one
task, ``e`` items wrong -> right and ``d`` right -> wrong (in the "noisy" rows on top of 8 noise flips
there too), with 8 noise flips in every other task; power is how often that task is significant after Holm.

Old: the paired bootstrap ``compare`` used before (2,000 resamples here, to keep the run short; its
p-value floor, 1/2,000, is below Holm's smallest threshold 0.05/24). New: ``stats.paired_test``
(McNemar's exact test on 0/1 scores). The continuous rows do the same with item scores in [0, 1]
(ROUGE-like), where the new test is the sign-flip permutation test. Seeded; the JSON line at the end
holds every figure.

    python benchmarks/bench_significance.py --runs 1000 --runs-old 200
"""

from __future__ import annotations

import argparse
import math
import sys
import time

import numpy as np
from _common import report

from ecombench.leaderboard.stats import holm, paired_test

TASKS, ITEMS, ALPHA = 24, 60, 0.05


def old_bootstrap(a: np.ndarray, b: np.ndarray, iters: int, rng: np.random.Generator) -> float:
    """The old test (``stats.paired_bootstrap`` before issue 36): share of resampled mean differences on the
    other side of zero, doubled, at least 1/iters."""
    x = b - a
    n = len(x)
    if not x.any():
        return 1.0
    delta = x.mean()
    means = x[rng.integers(0, n, size=(iters, n))].mean(axis=1)
    tail = float(np.mean(means <= 0)) if delta > 0 else float(np.mean(means >= 0))
    return min(1.0, max(2 * tail, 1.0 / iters))


def _flip(a: np.ndarray, k: int, rng: np.random.Generator, continuous: bool) -> np.ndarray:
    """B: A with ``k`` items changed, each up or down with probability 1/2 (0/1: a wrong item made right or a
    right one made wrong; continuous: both runs get new scores, exchangeable). Flipping ``k`` items drawn
    at random would not do: at 60% accuracy 60% of the flips go down, which is a real effect."""
    b = a.copy()
    if continuous:
        at = rng.choice(len(a), size=k, replace=False)
        b[at] = rng.random(k)
        a[at] = rng.random(k)
        return b
    wrong, right = list(rng.permutation(np.flatnonzero(a == 0.0))), list(rng.permutation(np.flatnonzero(a == 1.0)))
    for up in rng.random(k) < 0.5:
        if (up and wrong) or not right:
            b[wrong.pop()] = 1.0
        else:
            b[right.pop()] = 0.0
    return b


def _task(rng: np.random.Generator, continuous: bool) -> np.ndarray:
    return rng.random(ITEMS) if continuous else (rng.random(ITEMS) < 0.6).astype(float)


def _significant(pairs: list[tuple[np.ndarray, np.ndarray]], old: bool, rng: np.random.Generator, iters: int) -> dict[str, bool]:
    ps = {str(t): (old_bootstrap(a, b, iters, rng) if old else paired_test(a, b, interval=False).p_value) for t, (a, b) in enumerate(pairs)}
    return {t: p < ALPHA for t, p in holm(ps).items()}


def exact_false_rate(k: int) -> float:
    """The new test's family-wise false rate worked out, not simulated: Holm finds something iff the smallest
    p is at most ALPHA / TASKS, and each task's p is McNemar's on k fair coin flips, independently."""
    from ecombench.leaderboard.stats import binomial_two_sided

    per_task = sum(math.comb(k, up) for up in range(k + 1) if binomial_two_sided(up, k) <= ALPHA / TASKS) / 2**k
    return 1.0 - (1.0 - per_task) ** TASKS


def false_rate(k: int, runs: int, old: bool, seed: int, iters: int, continuous: bool = False) -> float:
    rng = np.random.default_rng(seed + k)
    false = 0
    for _ in range(runs):
        pairs = []
        for _ in range(TASKS):
            a = _task(rng, continuous)
            b = _flip(a, k, rng, continuous)
            pairs.append((a, b))
        false += any(_significant(pairs, old, rng, iters).values())
    return false / runs


def power(up: int, down: int, runs: int, old: bool, seed: int, iters: int, noisy: bool = False) -> float:
    rng = np.random.default_rng(seed + 1000 * up + down + noisy)
    found = 0
    for _ in range(runs):
        pairs = []
        for t in range(TASKS):
            a = _task(rng, False)
            b = _flip(a, 8 if t > 0 or noisy else 0, rng, False)
            if t == 0:  # the real effect, on items the noise left alone
                free = [i for i in range(ITEMS) if a[i] == b[i]]
                wrong = [i for i in free if a[i] == 0.0][:up]
                right = [i for i in free if a[i] == 1.0][:down]
                b[wrong], b[right] = 1.0, 0.0
            pairs.append((a, b))
        found += _significant(pairs, old, rng, iters)["0"]
    return found / runs


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=1000, help="simulated comparisons per row, new test")
    parser.add_argument("--runs-old", type=int, default=200, help="simulated comparisons per row, old test (slow: resampling)")
    parser.add_argument("--iters", type=int, default=2000, help="bootstrap resamples of the old test")
    parser.add_argument("--seed", type=int, default=36)
    parser.add_argument("--max-k", type=int, default=30)
    args = parser.parse_args()
    start = time.perf_counter()
    null = {}
    print(
        f"family-wise false significance, {TASKS} tasks x {ITEMS} items, {args.runs_old} (old) / {args.runs} (new) null comparisons per row (0/1 scores)",
        file=sys.stderr,
    )
    print("differing items per task | old (bootstrap) | new (exact test), simulated | new, worked out", file=sys.stderr)
    for k in range(1, args.max_k + 1):
        old, new = false_rate(k, args.runs_old, True, args.seed, args.iters), false_rate(k, args.runs, False, args.seed, args.iters)
        null[k] = {"old": old, "new": new, "new_exact": exact_false_rate(k)}
        print(f"{k:>2} | {old:.3f} | {new:.3f} | {null[k]['new_exact']:.4f}", file=sys.stderr)
    continuous = {}
    print("continuous scores: differing items | old | new (sign-flip)", file=sys.stderr)
    for k in (2, 4, 8, 16, 30):
        old = false_rate(k, args.runs_old, True, args.seed, args.iters, continuous=True)
        new = false_rate(k, args.runs, False, args.seed, args.iters, continuous=True)
        continuous[k] = {"old": old, "new": new}
        print(f"{k:>2} | {old:.3f} | {new:.3f}", file=sys.stderr)
    powers = {}
    print(
        "power: one task with e items wrong -> right and d back (+ 8 noise flips there too in the 'noisy' rows), 8 noise flips in each other task",
        file=sys.stderr,
    )
    print("effect | old | new", file=sys.stderr)
    rows = [(6, 0, False), (8, 0, False), (10, 0, False), (12, 0, False), (12, 3, False), (16, 4, False), (20, 5, False)]
    rows += [(12, 0, True), (16, 0, True), (20, 0, True), (24, 0, True)]
    for up, down, noisy in rows:
        old, new = power(up, down, args.runs_old, True, args.seed, args.iters, noisy), power(up, down, args.runs, False, args.seed, args.iters, noisy)
        label = f"+{up} -{down}" + (" noisy" if noisy else "")
        powers[label] = {"old": old, "new": new}
        print(f"{label} | {old:.3f} | {new:.3f}", file=sys.stderr)
    worst = max(v["new_exact"] for v in null.values())
    report(
        "significance",
        runs=args.runs,
        runs_old=args.runs_old,
        tasks=TASKS,
        items=ITEMS,
        seed=args.seed,
        old_iters=args.iters,
        false_rate=null,
        false_rate_continuous=continuous,
        power=powers,
        worst_new_false_rate_worked_out=worst,
        worst_old_false_rate=max(v["old"] for v in null.values()),
        seconds=round(time.perf_counter() - start, 1),
    )


if __name__ == "__main__":
    main()
