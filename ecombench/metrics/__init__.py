"""Parsers and metrics of each rule set (KDD Cup 2024, Shopping MMLU, EcomGPT, eCeLLM): explicit tables, no registries.

The table is ``ecombench.metrics.rulesets.RULESETS``; the names below are derived from it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ecombench.metrics.rulesets import EMBEDDING_METRICS, METRIC_NAMES, METRICS_BY_TASK_TYPE, RULESETS
from ecombench.metrics.shopping_mmlu import TASK_WISE_ACCURACY, TASK_WISE_LETTER_ACCURACY, TASK_WISE_RATING_LETTER_ACCURACY

TASK_WISE_METRICS = (TASK_WISE_ACCURACY, TASK_WISE_LETTER_ACCURACY, TASK_WISE_RATING_LETTER_ACCURACY)
# The KDD Cup scorer's own metric names (not Shopping MMLU's task-wise ones it reads as accuracy).
KDD_METRIC_NAMES: tuple[str, ...] = tuple(n for n in RULESETS["kddcup"].names if n not in TASK_WISE_METRICS)
# Its question-by-question metrics of (parsed prediction, truth).
ITEM_METRICS: dict[str, Callable[[Any, Any], float]] = {
    m.name: m.item for m in RULESETS["kddcup"].metrics if m.name in KDD_METRIC_NAMES and m.item is not None and not m.reduction.pooled
}

__all__ = [
    "EMBEDDING_METRICS",
    "ITEM_METRICS",
    "KDD_METRIC_NAMES",
    "METRICS_BY_TASK_TYPE",
    "METRIC_NAMES",
    "TASK_WISE_ACCURACY",
    "TASK_WISE_LETTER_ACCURACY",
    "TASK_WISE_METRICS",
    "TASK_WISE_RATING_LETTER_ACCURACY",
]
