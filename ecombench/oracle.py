"""Oracle answers: the truth written as a model should write it, for sanity checks of tasks."""

from __future__ import annotations

from typing import Any

from ecombench.metrics.ecellm import RANKING_NDCG, ranking_gold


def oracle_answer(task_type: str, truth: Any, rules: str = "kddcup", metric: str | None = None) -> str:
    """Raw text that the task type's parser reads back as a perfect answer (under ``rules``: Shopping MMLU
    reads NER answers as one comma-separated line, where the KDD parser also takes a Python list).
    eCeLLM's ranking questions (``metric`` ``ecellm-ndcg``) keep each option's ESCI label as their truth."""
    if metric == RANKING_NDCG:
        return ranking_gold(truth)
    if task_type == "multiple-choice":
        return str(truth)
    if task_type == "ranking":
        order = sorted(range(len(truth)), key=lambda i: -truth[i])
        return ", ".join(str(i + 1) for i in order)
    if task_type == "retrieval":
        return ", ".join(str(v) for v in truth)
    if task_type == "named_entity_recognition":
        return ", ".join(truth) if rules == "shopping-mmlu" else repr(list(truth))
    return truth if isinstance(truth, str) else truth[0]
