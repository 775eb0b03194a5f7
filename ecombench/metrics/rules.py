"""Rule sets: whose code a score follows. One explicit table of the metric names each rule set scores.

A rule set is a named, recorded choice (``--rules``, the submission's ``rules`` field): the same
outputs score differently under Shopping MMLU's code and the KDD Cup 2024 scorer, so runs under
different rules are never ranked together.
"""

from __future__ import annotations

from collections.abc import Iterable

from ecombench.metrics.ecellm import TASK_METRICS as ECELLM_TASK_METRICS
from ecombench.metrics.ecomgpt import RAW_ITEM_METRICS, RAW_POOLED_METRICS
from ecombench.metrics.shopping_mmlu import EMBEDDING_METRICS as SMMLU_EMBEDDING
from ecombench.metrics.shopping_mmlu import ITEM_METRICS as SMMLU_ITEM
from ecombench.metrics.shopping_mmlu import POOLED_METRICS as SMMLU_POOLED

KDDCUP, SHOPPING_MMLU, ECOMGPT, ECELLM = "kddcup", "shopping-mmlu", "ecomgpt", "ecellm"
RULES: tuple[str, ...] = (KDDCUP, SHOPPING_MMLU, ECOMGPT, ECELLM)

_KDD = (
    "accuracy",
    "task-wise accuracy",
    "task-wise rating letter accuracy",
    "hit rate@3",
    "ndcg",
    "rougel",
    "bleu",
    "jp-bleu",
    "micro f1",
    "sent-transformer",
    "multilingual-sent-transformer",
)
# Metric names each rule set can score. KDD scores Shopping MMLU's task-wise multiple choice as plain
# accuracy (its parser reads the first non-space character as a digit); lettered options it cannot read. eCeLLM's Answer_Generation is scored by
# BLEURT-20 and BERTScore, whose models ecombench cannot ship: it keeps the KDD ROUGE-L there, and an ECInstruct
# task evaluate.py has no rule for keeps KDD accuracy (both documented).
SCORED_BY: dict[str, frozenset[str]] = {
    KDDCUP: frozenset(_KDD),
    SHOPPING_MMLU: frozenset((*SMMLU_ITEM, *SMMLU_POOLED, *SMMLU_EMBEDDING)),
    ECOMGPT: frozenset((*RAW_ITEM_METRICS, *RAW_POOLED_METRICS)),
    ECELLM: frozenset((*ECELLM_TASK_METRICS, "rougel", "accuracy")),
}
# The rules an imported suite carries (``ecombench import <format>``); other formats use the KDD rules.
DEFAULT_BY_FORMAT: dict[str, str] = {"shopping-mmlu": SHOPPING_MMLU, "ecominstruct": ECOMGPT, "ecinstruct": ECELLM}


def inferred(metrics: Iterable[str]) -> str:
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
