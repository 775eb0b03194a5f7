"""Parsers and metrics of each rule set (KDD Cup 2024, Shopping MMLU, EcomGPT, eCeLLM): explicit tables, no registries."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ecombench.metrics.ecellm import AG_ROUGEL
from ecombench.metrics.ecellm import TASK_METRICS as ECELLM_TASK_METRICS
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
# eCeLLM's task rules (ecombench.metrics.ecellm), for `import ecinstruct`.
ECELLM_METRICS: tuple[str, ...] = (*ECELLM_TASK_METRICS, AG_ROUGEL)
# Shopping MMLU's task-wise multiple choice (4 new tokens, the first digit read; ecombench.metrics.shopping_mmlu).
TASK_WISE_ACCURACY = "task-wise accuracy"
# ... and with --use_letter_choices: options (A) to (D), the first letter or digit read.
TASK_WISE_LETTER_ACCURACY, TASK_WISE_RATING_LETTER_ACCURACY = "task-wise letter accuracy", "task-wise rating letter accuracy"
TASK_WISE_METRICS = (TASK_WISE_ACCURACY, TASK_WISE_LETTER_ACCURACY, TASK_WISE_RATING_LETTER_ACCURACY)
METRIC_NAMES: tuple[str, ...] = (*KDD_METRIC_NAMES, *TASK_WISE_METRICS, *ECOMGPT_METRICS, *ECELLM_METRICS)

# Which metrics a task type may use (the pairs the challenge used).
METRICS_BY_TASK_TYPE: dict[str, tuple[str, ...]] = {
    "multiple-choice": ("accuracy", *TASK_WISE_METRICS),
    "retrieval": ("hit rate@3",),
    "ranking": ("ndcg",),
    "named_entity_recognition": ("micro f1",),
    "generation": ("rougel", "bleu", "jp-bleu", "sent-transformer", "multilingual-sent-transformer", *ECOMGPT_METRICS, *ECELLM_METRICS),
}
