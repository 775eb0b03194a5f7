"""Score raw model outputs by a rule set (the KDD Cup 2024 scorer by default): per question, per task, per track.

The one scoring path of ecombench: ``ecombench score``, ``ecombench run`` and the lm-eval task
hooks all call ``score_items`` and ``aggregate``, so they cannot disagree. ``rules`` names whose code
the scores follow (``ecombench.metrics.rules``): ``kddcup``, ``shopping-mmlu``, ``ecomgpt``, ``ecellm``.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ecombench.errors import EcombenchError
from ecombench.metrics import EMBEDDING_METRICS, ITEM_METRICS, TASK_WISE_METRICS
from ecombench.metrics import shopping_mmlu as smmlu
from ecombench.metrics.ecellm import AG_ROUGEL
from ecombench.metrics.ecellm import TASK_METRICS as ECELLM_TASK_METRICS
from ecombench.metrics.ecomgpt import RAW_ITEM_METRICS, RAW_POOLED_METRICS
from ecombench.metrics.embedding import Embedders, embedding_scores
from ecombench.metrics.parsers import Parsed, parse
from ecombench.metrics.rules import KDDCUP, RULES, SHOPPING_MMLU, inferred, substitutes, unscorable
from ecombench.metrics.scores import F1Counts, f1_counts, micro_f1

BOOTSTRAP_SEED = 1234
BOOTSTRAP_ITERS = 1000


@dataclass(frozen=True)
class ScoringItem:
    """A question with its truth and the model's raw output."""

    task_name: str
    task_type: str
    metric: str
    track: str
    truth: Any
    raw: str


@dataclass(frozen=True)
class ItemScore:
    """The parsed answer and score of one question; NER questions also carry their F1 counts."""

    parsed: Parsed | None  # None where the parsed answer is not kept (scorefile without keep)
    score: float
    counts: F1Counts | None = None
    observation: Any = None  # eCeLLM's rules: what the task score is reduced from (ecombench.metrics.ecellm)


@dataclass(frozen=True)
class TaskScore:
    task_name: str
    task_type: str
    metric: str | list[str]  # the rows' metric, or each of them (sorted) when rows differ (bleu and jp-bleu)
    track: str
    n: int
    score: float
    stderr: float | None


@dataclass(frozen=True)
class Report:
    """Task scores, the macro mean of each track, their mean (All-Around), and the plain task mean."""

    tasks: dict[str, TaskScore]
    tracks: dict[str, float] = field(default_factory=dict)
    all_around: float = 0.0
    overall_task_mean: float = 0.0
    rules: str = KDDCUP
    substitutes: dict[str, str] = field(default_factory=dict)  # task -> the stand-in for the rules' own metric
    read_as: str = ""  # how `score` read files in another benchmark's layout (ecombench.layouts), for the user

    def as_json(self) -> dict[str, Any]:
        """The ``ecombench score --format json`` shape."""
        return {
            "rules": self.rules,
            "substitutes": dict(self.substitutes),
            "tasks": {name: {"task_type": t.task_type, "metric": t.metric, "n": t.n, "score": t.score} for name, t in self.tasks.items()},
            "tracks": dict(self.tracks),
            "all_around": self.all_around,
            "overall_task_mean": self.overall_task_mean,
        }


def resolve_rules(requested: str | None, declared: Sequence[str | None], metrics: Sequence[str]) -> str:
    """The rules to score by: ``--rules`` when given; else the one the data declares (a row's or task's
    ``rules``); else inferred from its metric names. Data declaring two rule sets needs ``--rules``."""
    if requested is not None:
        if requested not in RULES:
            raise EcombenchError(f"--rules {requested}: use one of {', '.join(RULES)}")
        return requested
    named = sorted({d for d in declared if d is not None})
    if len(named) > 1:
        raise EcombenchError(f"the tasks carry different rules ({', '.join(named)}); pass --rules or score them separately")
    if named and named[0] not in RULES:
        raise EcombenchError(f"rules {named[0]!r} in the data: use one of {', '.join(RULES)}")
    return named[0] if named else inferred(metrics)


def _check_rules(items: Sequence[ScoringItem], rules: str) -> None:
    if rules not in RULES:
        raise EcombenchError(f"--rules {rules}: use one of {', '.join(RULES)}")
    missing = unscorable(rules, {i.metric for i in items})
    if missing:
        task = next(i.task_name for i in items if i.metric == missing[0])
        raise EcombenchError(f"task '{task}': metric '{missing[0]}' has no rule under --rules {rules}")


def score_items(items: Sequence[ScoringItem], embedders: Embedders | None = None, rules: str | None = None) -> list[ItemScore]:
    """Parse and score each question by ``rules`` (None: those the metric names imply, ``rules.inferred``).
    Embedding metrics are encoded in one batch per metric."""
    embedders = embedders or Embedders()
    rules = rules or inferred(i.metric for i in items)
    _check_rules(items, rules)
    parsed = [parse(item.task_type, item.raw) for item in items]
    results: list[ItemScore | None] = [None] * len(items)
    by_embedding: dict[str, list[int]] = defaultdict(list)
    for i, (item, answer) in enumerate(zip(items, parsed, strict=True)):
        raw = item.raw
        if item.metric in EMBEDDING_METRICS:
            by_embedding[item.metric].append(i)
        elif rules == SHOPPING_MMLU and item.metric in smmlu.POOLED_METRICS:  # Shopping MMLU reads the raw output
            counts = smmlu.POOLED_METRICS[item.metric](raw, item.truth)
            results[i] = ItemScore(answer, counts.f1, counts)
        elif rules == SHOPPING_MMLU:
            results[i] = ItemScore(answer, smmlu.ITEM_METRICS[item.metric](raw, item.truth))
        elif item.metric == "micro f1":
            counts = f1_counts(answer, item.truth)  # type: ignore[arg-type]
            results[i] = ItemScore(answer, counts.f1, counts)
        elif item.metric in RAW_POOLED_METRICS:  # EcomGPT's rules read the raw output, not the parsed one
            counts = RAW_POOLED_METRICS[item.metric](raw, item.truth)
            results[i] = ItemScore(answer, counts.f1, counts)
        elif item.metric in RAW_ITEM_METRICS:
            results[i] = ItemScore(answer, RAW_ITEM_METRICS[item.metric](raw, item.truth))
        elif item.metric in ECELLM_TASK_METRICS:
            rule = ECELLM_TASK_METRICS[item.metric]
            observation = rule.observe(raw, item.truth)
            results[i] = ItemScore(answer, rule.item(observation), observation=observation)
        else:
            metric = "accuracy" if item.metric in TASK_WISE_METRICS else "rougel" if item.metric == AG_ROUGEL else item.metric
            results[i] = ItemScore(answer, ITEM_METRICS[metric](answer, item.truth))
    for metric, rows in by_embedding.items():
        encoder = embedders.encoder(metric)
        # Shopping MMLU embeds the model's text as it came; the KDD scorer embeds it stripped.
        texts = [items[i].raw if rules == SHOPPING_MMLU else parsed[i] for i in rows]
        scores = embedding_scores(encoder, texts, [items[i].truth for i in rows])  # type: ignore[arg-type]
        for i, s in zip(rows, scores, strict=True):
            results[i] = ItemScore(parsed[i], s)
    return [r for r in results if r is not None]


def _one(values: set[str], what: str, task: str) -> str:
    if len(values) != 1:
        raise EcombenchError(f"task '{task}' mixes {what}s: {', '.join(sorted(values))}")
    return next(iter(values))


def _stderr(scores: Sequence[ItemScore], pooled: bool) -> float | None:
    n = len(scores)
    if n < 2:
        return None
    if not pooled:
        return float(np.std([s.score for s in scores], ddof=1) / math.sqrt(n))
    counts = np.array([[s.counts.tp, s.counts.fp, s.counts.fn] for s in scores if s.counts], dtype=np.int64)
    rng = np.random.default_rng(BOOTSTRAP_SEED)
    totals = counts[rng.integers(0, n, size=(BOOTSTRAP_ITERS, n))].sum(axis=1)
    f1s = [F1Counts(int(tp), int(fp), int(fn)).f1 for tp, fp, fn in totals]
    return float(np.std(f1s, ddof=1))


def task_score(task: str, items: Sequence[ScoringItem], scores: Sequence[ItemScore]) -> TaskScore:
    """A task's score: the mean of its question scores, pooled micro F1 for NER, or eCeLLM's task rule."""
    metrics = {i.metric for i in items}
    pooled_by = sorted(metrics & {"micro f1", *RAW_POOLED_METRICS, *ECELLM_TASK_METRICS})
    pooled = bool(pooled_by)
    if pooled and len(metrics) > 1:
        raise EcombenchError(f"task '{task}' mixes '{pooled_by[0]}' with {', '.join(sorted(metrics - {pooled_by[0]}))}")
    if pooled_by and pooled_by[0] in ECELLM_TASK_METRICS:
        value = ECELLM_TASK_METRICS[pooled_by[0]].reduce([s.observation for s in scores])
        return TaskScore(
            task, _one({i.task_type for i in items}, "task type", task), pooled_by[0], _one({i.track for i in items}, "track", task), len(items), value, None
        )
    if pooled:
        value = micro_f1(s.counts for s in scores if s.counts is not None)
    else:
        value = float(sum(s.score for s in scores) / len(scores))
    return TaskScore(
        task_name=task,
        task_type=_one({i.task_type for i in items}, "task type", task),
        metric=next(iter(metrics)) if len(metrics) == 1 else sorted(metrics),
        track=_one({i.track for i in items}, "track", task),
        n=len(items),
        score=value,
        stderr=_stderr(scores, pooled),
    )


def aggregate(task_scores: dict[str, TaskScore], rules: str = KDDCUP) -> Report:
    """Track = mean of its tasks; All-Around = mean of tracks; overall = mean of all tasks.

    Shopping MMLU's skill score (``skill_evaluation.py:136``, ``track_wise``) is this track mean."""
    by_track: dict[str, list[float]] = defaultdict(list)
    for t in task_scores.values():
        by_track[t.track].append(t.score)
    tracks = {track: float(sum(v) / len(v)) for track, v in sorted(by_track.items())}
    stand_ins = {name: substitutes(rules, [t.metric] if isinstance(t.metric, str) else t.metric) for name, t in task_scores.items()}
    return Report(
        tasks=dict(task_scores),
        tracks=tracks,
        all_around=float(sum(tracks.values()) / len(tracks)) if tracks else 0.0,
        overall_task_mean=float(sum(t.score for t in task_scores.values()) / len(task_scores)) if task_scores else 0.0,
        rules=rules,
        substitutes={name: "; ".join(found.values()) for name, found in stand_ins.items() if found},
    )


def score_report(items: Sequence[ScoringItem], embedders: Embedders | None = None, rules: str | None = None) -> tuple[Report, list[ItemScore]]:
    """Score every question by ``rules`` (None: those the metric names imply), then every task (in order of
    first appearance), track and the whole."""
    rules = rules or inferred(i.metric for i in items)
    scores = score_items(items, embedders or Embedders(), rules)
    by_task: dict[str, list[int]] = defaultdict(list)
    for i, item in enumerate(items):
        by_task[item.task_name].append(i)
    tasks = {name: task_score(name, [items[i] for i in rows], [scores[i] for i in rows]) for name, rows in by_task.items()}
    return aggregate(tasks, rules), scores
