"""Score raw model outputs by a rule set (the KDD Cup 2024 scorer by default): per question, per task, per track.

The one scoring path of ecombench: ``ecombench score``, ``ecombench run`` and the lm-eval task
hooks all call ``score_items`` and ``aggregate``, so they cannot disagree. ``rules`` names whose code
the scores follow: ``kddcup``, ``shopping-mmlu``, ``ecomgpt``, ``ecellm``, each a row of
``ecombench.metrics.rulesets.RULESETS`` whose metrics carry their question function and task reduction.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from ecombench.errors import EcombenchError
from ecombench.metrics.embedding import Embedders, embedding_scores
from ecombench.metrics.parsers import Parsed, parse
from ecombench.metrics.reductions import MEAN
from ecombench.metrics.rulesets import KDDCUP, REDUCTIONS, RULES, RULESETS, inferred, substitutes, unscorable


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
    """The parsed answer and score of one question, and what its metric's task reduction reads: the score
    itself, its F1 counts (pooled metrics) or an observation (eCeLLM's rules; ``ecombench.metrics.reductions``)."""

    parsed: Parsed | None  # None where the parsed answer is not kept (scorefile without keep)
    score: float
    result: Any = None


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
    """Parse and score each question by ``rules`` (None: those the metric names imply, ``rulesets.inferred``):
    its metric's function reads the parsed answer or the raw output. Embedding metrics are encoded in one
    batch per metric."""
    embedders = embedders or Embedders()
    rules = rules or inferred(i.metric for i in items)
    _check_rules(items, rules)
    metrics = RULESETS[rules].by_name  # type: ignore[index]  # _check_rules admits only the rule-set names
    parsed = [parse(item.task_type, item.raw) for item in items]
    results: list[ItemScore | None] = [None] * len(items)
    by_embedding: dict[str, list[int]] = defaultdict(list)
    for i, (item, answer) in enumerate(zip(items, parsed, strict=True)):
        metric = metrics[item.metric]
        if metric.item is None:
            by_embedding[item.metric].append(i)
            continue
        result = metric.item(item.raw if metric.reads == "raw" else answer, item.truth)
        results[i] = ItemScore(answer, metric.reduction.item_score(result), result)
    for name, rows in by_embedding.items():
        encoder = embedders.encoder(name)
        # Shopping MMLU embeds the model's text as it came; the KDD scorer embeds it stripped.
        texts = [items[i].raw if metrics[name].reads == "raw" else parsed[i] for i in rows]
        scores = embedding_scores(encoder, texts, [items[i].truth for i in rows])  # type: ignore[arg-type]
        for i, score in zip(rows, scores, strict=True):
            results[i] = ItemScore(parsed[i], score, score)
    return [r for r in results if r is not None]


def _one(values: set[str], what: str, task: str) -> str:
    if len(values) != 1:
        raise EcombenchError(f"task '{task}' mixes {what}s: {', '.join(sorted(values))}")
    return next(iter(values))


def task_score(task: str, items: Sequence[ScoringItem], scores: Sequence[ItemScore]) -> TaskScore:
    """A task's score by its metric's reduction: the mean of its question scores, micro F1 of the pooled
    counts, or eCeLLM's task rule (``ecombench.metrics.rulesets``). A pooled metric is the task's only one."""
    metrics = {i.metric for i in items}
    pooled_by = sorted(m for m in metrics if REDUCTIONS.get(m, MEAN).pooled)
    if pooled_by and len(metrics) > 1:
        raise EcombenchError(f"task '{task}' mixes '{pooled_by[0]}' with {', '.join(sorted(metrics - {pooled_by[0]}))}")
    reduction = REDUCTIONS.get(pooled_by[0], MEAN) if pooled_by else MEAN
    results = [s.result for s in scores]
    value = reduction.reduce(results)
    return TaskScore(
        task_name=task,
        task_type=_one({i.task_type for i in items}, "task type", task),
        metric=next(iter(metrics)) if len(metrics) == 1 else sorted(metrics),
        track=_one({i.track for i in items}, "track", task),
        n=len(items),
        score=value,
        stderr=reduction.stderr(results),
    )


def aggregate(task_scores: dict[str, TaskScore], rules: str = KDDCUP) -> Report:
    """Tracks and All-Around by the rule set's aggregate (each of the four: track = mean of its tasks,
    All-Around = mean of tracks); overall = mean of all tasks."""
    by_track: dict[str, list[float]] = defaultdict(list)
    for t in task_scores.values():
        by_track[t.track].append(t.score)
    tracks, all_around = RULESETS[rules].aggregate(by_track)  # type: ignore[index]  # resolve_rules admits only the rule-set names
    stand_ins = {name: substitutes(rules, [t.metric] if isinstance(t.metric, str) else t.metric) for name, t in task_scores.items()}
    return Report(
        tasks=dict(task_scores),
        tracks=tracks,
        all_around=all_around,
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
