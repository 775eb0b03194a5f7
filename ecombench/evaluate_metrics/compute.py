"""What the ``evaluate`` modules compute: thin adapters over ``ecombench.scoring`` (no scoring logic here)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from pydantic import ValidationError

from ecombench.errors import EcombenchError
from ecombench.metrics.embedding import Embedders
from ecombench.records import ShopBenchRecord, describe
from ecombench.scoring import ScoringItem, score_items, score_report, task_score

# The task type each metric belongs to (the pairs of ecombench.metrics.METRICS_BY_TASK_TYPE).
TASK_TYPE = {"accuracy": "multiple-choice", "hit rate@3": "retrieval", "ndcg": "ranking", "micro f1": "named_entity_recognition"}
_TASK = "evaluate"  # the one task the rows of a single-metric compute() form


def _same_length(predictions: Sequence[Any], references: Sequence[Any]) -> None:
    if len(predictions) != len(references):
        raise EcombenchError(f"{len(predictions)} predictions but {len(references)} references")
    if not predictions:
        raise EcombenchError("no predictions to score")


def metric_score(metric: str, predictions: Sequence[str], references: Sequence[Any], embedders: Embedders | None = None) -> float:
    """One task's score of these rows under ``metric``: the mean of question scores (pooled F1 for micro f1)."""
    _same_length(predictions, references)
    task_type = TASK_TYPE.get(metric, "generation")
    items = [ScoringItem(_TASK, task_type, metric, _TASK, truth, raw) for raw, truth in zip(predictions, references, strict=True)]
    return task_score(_TASK, items, score_items(items, embedders)).score


def kdd_scores(
    predictions: Sequence[str],
    references: Sequence[str],
    task_names: Sequence[str],
    task_types: Sequence[str],
    metrics: Sequence[str],
    tracks: Sequence[str],
    embedders: Embedders | None = None,
) -> dict[str, Any]:
    """The ``ecombench score --format json`` result of ShopBench rows: tasks, tracks, All-Around, overall task mean.

    ``references`` are the truths as JSON text (each row's ``output_field``); rows are checked as
    ``ecombench score`` checks a data file.
    """
    _same_length(predictions, references)
    columns = {"task_names": task_names, "task_types": task_types, "metrics": metrics, "tracks": tracks}
    for what, values in columns.items():
        if len(values) != len(predictions):
            raise EcombenchError(f"{len(predictions)} predictions but {len(values)} {what}")
    items = []
    for i, (raw, truth, task, task_type, metric, track) in enumerate(zip(predictions, references, task_names, task_types, metrics, tracks, strict=True)):
        try:
            record = ShopBenchRecord.model_validate(
                {"input_field": "", "output_field": json.loads(truth), "task_name": task, "task_type": task_type, "metric": metric, "track": track}
            )
        except json.JSONDecodeError as exc:
            raise EcombenchError(f"row {i}: reference is not JSON text ({exc.msg}); pass json.dumps(output_field)") from exc
        except ValidationError as exc:
            raise EcombenchError(f"row {i}: {describe(exc)}") from exc
        items.append(ScoringItem(record.task_name, record.task_type, record.metric, record.track, record.output_field, raw))
    report, _ = score_report(items, embedders)
    return report.as_json()
