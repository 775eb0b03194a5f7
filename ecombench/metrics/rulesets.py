"""Rule sets: whose code a score follows. ``RULESETS`` is the one table of them and of the metrics each scores.

A rule set is a named, recorded choice (``--rules``, the submission's ``rules`` field): the same outputs
score differently under Shopping MMLU's code and the KDD Cup 2024 scorer, so runs under different rules
are never ranked together. Each ``Metric`` carries its question function (what it reads: the KDD parser's
answer or the raw output) and its task reduction (``ecombench.metrics.reductions``); each ``RuleSet`` its
metrics, the stand-ins it scores where its authors' metric cannot run here, and how task scores make the
track and All-Around scores. Adding a metric or a rule set is one entry here plus its pure functions.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Literal

from ecombench.metrics import ecellm, ecomgpt, scores
from ecombench.metrics import shopping_mmlu as smmlu
from ecombench.metrics.parsers import TASK_TYPES, TaskType
from ecombench.metrics.reductions import MEAN, MICRO_F1, Aggregate, Reduction, mean_of_track_means, task_rule

RuleName = Literal["kddcup", "shopping-mmlu", "ecomgpt", "ecellm"]
KDDCUP: RuleName = "kddcup"
SHOPPING_MMLU: RuleName = "shopping-mmlu"
ECOMGPT: RuleName = "ecomgpt"
ECELLM: RuleName = "ecellm"


@dataclass(frozen=True)
class Metric:
    """A metric as one rule set scores it: the task type it fits, what its question function reads, the
    function ((answer, truth) -> a score, F1 counts or an observation) and how a task's results reduce."""

    name: str
    task_type: TaskType
    reads: Literal["parsed", "raw"]  # the KDD parser's answer for the task type, or the model's text as it came
    # None: a sentence-embedding metric, scored in one batch per metric by the caller, which holds the model
    # (ecombench.metrics.embedding); its result is the cosine score.
    item: Callable[[Any, Any], Any] | None
    reduction: Reduction = MEAN


@dataclass(frozen=True)
class RuleSet:
    """Whose scoring code, its metrics, its stand-ins (metric -> what stands in for what), the ``ecombench
    import`` formats whose suites carry it, and its aggregate (task scores by track -> tracks, All-Around)."""

    name: RuleName
    description: str
    metrics: tuple[Metric, ...]
    substitutes: Mapping[str, str] = field(default_factory=dict)
    formats: tuple[str, ...] = ()
    aggregate: Aggregate = mean_of_track_means

    def __post_init__(self) -> None:
        names = [m.name for m in self.metrics]
        if len(names) != len(set(names)):
            raise ValueError(f"rule set {self.name}: a metric named twice")

    @cached_property
    def by_name(self) -> dict[str, Metric]:
        return {m.name: m for m in self.metrics}

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(m.name for m in self.metrics)


def _parsed(name: str, task_type: TaskType, item: Callable[[Any, Any], Any] | None, reduction: Reduction = MEAN) -> Metric:
    return Metric(name, task_type, "parsed", item, reduction)


def _raw(name: str, task_type: TaskType, item: Callable[[Any, Any], Any] | None, reduction: Reduction = MEAN) -> Metric:
    return Metric(name, task_type, "raw", item, reduction)


def _ecellm(name: str, says: str) -> Metric:
    rule = ecellm.TASK_METRICS[name]
    return _raw(name, "generation", rule.observe, task_rule(rule, says))


JUDGE = "judge"  # graded by a model judge (ecombench.run.judging): 1 when it says CORRECT, else 0


def _judged(raw: Any, truth: Any) -> float:
    """A judged question has no score without its judge's verdict, which only a run with ``--judge`` asks for."""
    from ecombench.errors import EcombenchError

    raise EcombenchError(f"metric '{JUDGE}': graded by a model judge; score it with ecombench run --judge MODEL (docs/judged-tasks.md)")


_NOT_BERTSCORE = "ROUGE-L in place of eCeLLM's BERTScore (roberta-large) and BLEURT-20-D12, whose models ecombench cannot run offline"

RULESETS: dict[RuleName, RuleSet] = {
    "kddcup": RuleSet(
        "kddcup",
        "The KDD Cup 2024 (Amazon ShopBench) scorer: each task type's parser, then the metric on the parsed answer.",
        (
            _parsed("accuracy", "multiple-choice", scores.accuracy),
            _parsed("hit rate@3", "retrieval", scores.hit_rate_at_3),
            _parsed("ndcg", "ranking", scores.ndcg),
            _parsed("rougel", "generation", scores.rouge_l),
            _parsed("bleu", "generation", scores.bleu),
            _parsed("jp-bleu", "generation", scores.jp_bleu),
            _parsed("micro f1", "named_entity_recognition", scores.f1_counts, MICRO_F1),
            _parsed("sent-transformer", "generation", None),
            _parsed("multilingual-sent-transformer", "generation", None),
            # Shopping MMLU's task-wise multiple choice as plain accuracy (the parser reads the first non-space
            # character as a digit); lettered options (task-wise letter accuracy) it cannot read.
            _parsed(smmlu.TASK_WISE_ACCURACY, "multiple-choice", scores.accuracy),
            _parsed(smmlu.TASK_WISE_RATING_LETTER_ACCURACY, "multiple-choice", scores.accuracy),
            # Judged short answers (ChineseEcomQA): the item's score is its judge's verdict (ecombench.run.judging).
            _raw(JUDGE, "generation", _judged),
        ),
    ),
    "shopping-mmlu": RuleSet(
        "shopping-mmlu",
        "Shopping MMLU's own code (KL4805/ShoppingMMLU): each metric reads the model's text its own way.",
        (
            _raw("accuracy", "multiple-choice", smmlu.accuracy),
            _raw("hit rate@3", "retrieval", smmlu.hit_rate),
            _raw("ndcg", "ranking", smmlu.ndcg),
            _raw("rougel", "generation", smmlu.rougel),
            _raw("bleu", "generation", smmlu.bleu_13a),
            _raw("jp-bleu", "generation", smmlu.bleu_ja),
            _raw("micro f1", "named_entity_recognition", smmlu.ner_counts, MICRO_F1),
            _raw("sent-transformer", "generation", None),  # metrics.py:42 embeds the text as it came
            _raw("multilingual-sent-transformer", "generation", None),
            _raw(smmlu.TASK_WISE_ACCURACY, "multiple-choice", smmlu.task_wise_accuracy),
            _raw(smmlu.TASK_WISE_LETTER_ACCURACY, "multiple-choice", smmlu.task_wise_letter_accuracy),
            _raw(smmlu.TASK_WISE_RATING_LETTER_ACCURACY, "multiple-choice", smmlu.task_wise_rating_letter_accuracy),
        ),
        formats=("shopping-mmlu",),
    ),
    "ecomgpt": RuleSet(
        "ecomgpt",
        "EcomGPT's src/eval.py (Alibaba-NLP/EcomGPT): one class per task TYPE, reading the raw output.",
        (
            _raw(ecomgpt.CLS_F1, "generation", ecomgpt.cls_counts, MICRO_F1),
            _raw(ecomgpt.NER_F1, "generation", ecomgpt.ner_counts, MICRO_F1),
            _raw(ecomgpt.EXTRACT_ROUGE_L, "generation", ecomgpt.extract_rouge_l),
            _raw(ecomgpt.CONDITION_EXTRACT_ROUGE_L, "generation", ecomgpt.condition_extract_rouge_l),
            _raw(ecomgpt.GENERATE_ROUGE_L, "generation", ecomgpt.generate_rouge_l),
        ),
        formats=("ecominstruct",),
    ),
    "ecellm": RuleSet(
        "ecellm",
        "eCeLLM's evaluate.py (ninglab/eCeLLM): one rule per ECInstruct task, several of them not means.",
        (
            _ecellm("ecellm-yes-no-f1", "F1 of 'yes' over the answers that are yes or no (evaluate.py:111-137)"),
            _ecellm("ecellm-macro-f1", "macro F1 over the answers that start with A-E (evaluate.py:159-182)"),
            _ecellm("ecellm-recall@1", "accuracy over the answers that are one letter A-T (evaluate.py:140-156)"),
            _ecellm("ecellm-ave-f1", "F1 of the task's pooled attribute hits (evaluate.py:31-108)"),
            _ecellm("ecellm-ave-f1-ood", "F1 of the task's pooled attribute hits, containment accepted (evaluate.py:31-108)"),
            _ecellm(ecellm.RANKING_NDCG, "mean NDCG, the ideal order the answer's own gains sorted (evaluate.py:235-277)"),
            _parsed(ecellm.AG_ROUGEL, "generation", scores.rouge_l),
            _parsed("rougel", "generation", scores.rouge_l),
            _parsed("accuracy", "multiple-choice", scores.accuracy),
        ),
        # Scores by these are not the paper's: `score` prints this, `--format json` carries it, the board notes it.
        substitutes={
            ecellm.AG_ROUGEL: _NOT_BERTSCORE,  # evaluate.py:185-232
            "rougel": _NOT_BERTSCORE,  # suites imported before ecellm-ag-rougel named it
            "accuracy": "KDD Cup accuracy: eCeLLM's evaluate.py has no rule for this task",
        },
        formats=("ecinstruct",),
    ),
}

# --- Tables derived from RULESETS, under the names the rest of ecombench reads ---------------------------

RULES: tuple[RuleName, ...] = tuple(RULESETS)
SCORED_BY: dict[str, frozenset[str]] = {name: frozenset(rs.names) for name, rs in RULESETS.items()}
SUBSTITUTES: dict[str, dict[str, str]] = {name: dict(rs.substitutes) for name, rs in RULESETS.items() if rs.substitutes}
# The rules an imported suite carries (``ecombench import <format>``); other formats use the KDD rules.
DEFAULT_BY_FORMAT: dict[str, str] = {fmt: name for name, rs in RULESETS.items() for fmt in rs.formats}
# Every metric, Shopping MMLU's first (their names include the KDD scorer's), then EcomGPT's and eCeLLM's.
_IN_ORDER = [m for rules in (SHOPPING_MMLU, KDDCUP, ECOMGPT, ECELLM) for m in RULESETS[rules].metrics]
METRIC_NAMES: tuple[str, ...] = tuple(dict.fromkeys(m.name for m in _IN_ORDER))
# Which metrics a task type may use (the first is `import jsonl`'s default).
METRICS_BY_TASK_TYPE: dict[str, tuple[str, ...]] = {t: tuple(dict.fromkeys(m.name for m in _IN_ORDER if m.task_type == t)) for t in TASK_TYPES}
EMBEDDING_METRICS: tuple[str, ...] = tuple(dict.fromkeys(m.name for m in _IN_ORDER if m.item is None))
# The reduction of each metric name (one per name, whichever rule set scores it; tests/test_rulesets.py checks).
REDUCTIONS: dict[str, Reduction] = {m.name: m.reduction for rs in RULESETS.values() for m in rs.metrics}


def inferred(metrics: Iterable[str]) -> RuleName:
    """The rules data without a recorded choice was written for: EcomGPT's or eCeLLM's where its metric
    names are theirs, else the KDD Cup's (what every suite was scored by before rules were recorded)."""
    names = set(metrics)
    for rules in (ECOMGPT, ECELLM):
        if names & (SCORED_BY[rules] - SCORED_BY[KDDCUP]):
            return rules
    return KDDCUP


def unscorable(rules: str, metrics: Iterable[str]) -> list[str]:
    """The metric names ``rules`` has no rule for, sorted."""
    return sorted(set(metrics) - SCORED_BY[rules])


def substitutes(rules: str, metrics: Iterable[str]) -> dict[str, str]:
    """Of ``metrics``, those ``rules`` scores by a stand-in for its authors' metric, with what stands in for what."""
    own = SUBSTITUTES.get(rules, {})
    return {m: own[m] for m in sorted(set(metrics)) if m in own}


def substitutes_note(rules: str, found: dict[str, str]) -> str:
    """The line under a table whose tasks (``found``: task -> what stands in) were scored by a stand-in."""
    named = "; ".join(f"{task}: {what}" for task, what in found.items())
    return f"* not the {rules} rules' own metric, so not comparable with the paper (nor are means that include it): {named}"
