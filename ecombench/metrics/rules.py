"""Rule sets: whose code a score follows. One explicit table of the metric names each rule set scores.

A rule set is a named, recorded choice (``--rules``, the submission's ``rules`` field): the same
outputs score differently under Shopping MMLU's code and the KDD Cup 2024 scorer, so runs under
different rules are never ranked together.
"""

from __future__ import annotations

from collections.abc import Iterable

from ecombench.metrics.ecellm import AG_ROUGEL
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
# accuracy (its parser reads the first non-space character as a digit); lettered options it cannot read.
# Where a rule set's own metric cannot run here, ecombench scores a substitute, named in SUBSTITUTES.
SCORED_BY: dict[str, frozenset[str]] = {
    KDDCUP: frozenset(_KDD),
    SHOPPING_MMLU: frozenset((*SMMLU_ITEM, *SMMLU_POOLED, *SMMLU_EMBEDDING)),
    ECOMGPT: frozenset((*RAW_ITEM_METRICS, *RAW_POOLED_METRICS)),
    ECELLM: frozenset((*ECELLM_TASK_METRICS, AG_ROUGEL, "rougel", "accuracy")),
}
_NOT_BERTSCORE = "ROUGE-L in place of eCeLLM's BERTScore (roberta-large) and BLEURT-20-D12, whose models ecombench cannot run offline"
# Metrics a rule set scores that are not its authors' (metric -> what stands in for what). Scores by them are
# not the paper's: `score` prints this, `--format json` carries it, the board notes it under the table.
SUBSTITUTES: dict[str, dict[str, str]] = {
    ECELLM: {
        AG_ROUGEL: _NOT_BERTSCORE,  # evaluate.py:185-232
        "rougel": _NOT_BERTSCORE,  # suites imported before ecellm-ag-rougel named it
        "accuracy": "KDD Cup accuracy: eCeLLM's evaluate.py has no rule for this task",
    },
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


def substitutes(rules: str, metrics: Iterable[str]) -> dict[str, str]:
    """Of ``metrics``, those ``rules`` scores by a stand-in for its authors' metric, with what stands in for what."""
    own = SUBSTITUTES.get(rules, {})
    return {m: own[m] for m in sorted(set(metrics)) if m in own}


def substitutes_note(rules: str, found: dict[str, str]) -> str:
    """The line under a table whose tasks (``found``: task -> what stands in) were scored by a stand-in."""
    named = "; ".join(f"{task}: {what}" for task, what in found.items())
    return f"* not the {rules} rules' own metric, so not comparable with the paper (nor are means that include it): {named}"
