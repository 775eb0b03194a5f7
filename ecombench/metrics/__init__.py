"""KDD Cup 2024 parsers and metrics: one explicit table, no registries."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ecombench.metrics.ecomgpt import RAW_ITEM_METRICS, RAW_POOLED_METRICS
from ecombench.metrics.scores import accuracy, bleu, hit_rate_at_3, jp_bleu, ndcg, rouge_l

# Metrics scored question by question from (parsed prediction, truth).
ITEM_METRICS: dict[str, Callable[[Any, Any], float]] = {
    "accuracy": accuracy,
    "hit rate@3": hit_rate_at_3,
    "ndcg": ndcg,
    "rougel": rouge_l,
    "bleu": bleu,
    "jp-bleu": jp_bleu,
}
POOLED_METRICS = ("micro f1",)
EMBEDDING_METRICS = ("sent-transformer", "multilingual-sent-transformer")
KDD_METRIC_NAMES: tuple[str, ...] = (*ITEM_METRICS, *POOLED_METRICS, *EMBEDDING_METRICS)
# EcomGPT's own rules (ecombench.metrics.ecomgpt), read from the raw output, for `import ecominstruct`.
ECOMGPT_METRICS: tuple[str, ...] = (*RAW_POOLED_METRICS, *RAW_ITEM_METRICS)
METRIC_NAMES: tuple[str, ...] = (*KDD_METRIC_NAMES, *ECOMGPT_METRICS)

# Which metrics a task type may use (the pairs the challenge used).
METRICS_BY_TASK_TYPE: dict[str, tuple[str, ...]] = {
    "multiple-choice": ("accuracy",),
    "retrieval": ("hit rate@3",),
    "ranking": ("ndcg",),
    "named_entity_recognition": ("micro f1",),
    "generation": ("rougel", "bleu", "jp-bleu", "sent-transformer", "multilingual-sent-transformer", *ECOMGPT_METRICS),
}
