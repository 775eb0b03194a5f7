"""How a task's question results become its score: the reduction a metric carries.

A metric's item function returns one result per question: a score, F1 counts, or (eCeLLM's rules) an
observation. Its ``Reduction`` says what that question's own score is (shown in the item explorer), how
a task's results become the task score, and that score's standard error; as lm-eval registers a metric
with its aggregation and lighteval pairs a sample function with a corpus function.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ecombench.metrics.ecellm import TaskRule
from ecombench.metrics.scores import F1Counts, micro_f1

BOOTSTRAP_SEED = 1234
BOOTSTRAP_ITERS = 1000


@dataclass(frozen=True)
class Reduction:
    """A task score from its questions' results (in order), each question's own score, and the stderr."""

    name: str  # what the task score is, in words
    reduce: Callable[[Sequence[Any]], float]
    item_score: Callable[[Any], float]
    stderr: Callable[[Sequence[Any]], float | None]
    pooled: bool = False  # not a mean of question scores: a task scored by it uses no other metric


def mean(scores: Sequence[float]) -> float:
    return float(sum(scores) / len(scores))


def mean_stderr(scores: Sequence[float]) -> float | None:
    """Standard error of the mean (sample standard deviation over sqrt(n)); None below 2 questions."""
    import numpy as np  # numpy stays out of the fast commands' imports

    n = len(scores)
    return float(np.std(scores, ddof=1) / math.sqrt(n)) if n >= 2 else None


def _own(score: float) -> float:
    return score


def _f1(counts: F1Counts) -> float:
    return counts.f1


def bootstrap_stderr(counts: Sequence[F1Counts]) -> float | None:
    """Standard deviation of micro F1 over BOOTSTRAP_ITERS resamples of the questions (fixed seed); None below 2."""
    import numpy as np

    n = len(counts)
    if n < 2:
        return None
    table = np.array([[c.tp, c.fp, c.fn] for c in counts], dtype=np.int64)
    rng = np.random.default_rng(BOOTSTRAP_SEED)
    totals = table[rng.integers(0, n, size=(BOOTSTRAP_ITERS, n))].sum(axis=1)
    return float(np.std([F1Counts(int(tp), int(fp), int(fn)).f1 for tp, fp, fn in totals], ddof=1))


def no_stderr(_: Sequence[Any]) -> None:
    return None


MEAN = Reduction("mean of the question scores", mean, _own, mean_stderr)
MICRO_F1 = Reduction("micro F1 of the pooled counts", micro_f1, _f1, bootstrap_stderr, pooled=True)


def task_rule(rule: TaskRule, name: str) -> Reduction:
    """One of eCeLLM's task rules (``ecombench.metrics.ecellm``) as a reduction of its observations; no stderr."""
    return Reduction(name, rule.reduce, rule.item, no_stderr, pooled=True)


Aggregate = Callable[[Mapping[str, Sequence[float]]], tuple[dict[str, float], float]]


def mean_of_track_means(by_track: Mapping[str, Sequence[float]]) -> tuple[dict[str, float], float]:
    """Track = mean of its task scores (tracks sorted by name); All-Around = mean of the tracks (0.0 for none).

    The KDD Cup 2024's All-Around; Shopping MMLU's skill score (``skill_evaluation.py:136``, ``track_wise``) is this track mean."""
    tracks = {track: float(sum(v) / len(v)) for track, v in sorted(by_track.items())}
    return tracks, float(sum(tracks.values()) / len(tracks)) if tracks else 0.0
