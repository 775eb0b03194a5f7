"""Bring-your-own-predictions scoring: a ShopBench data file plus a predictions file.

The predictions file is streamed: each line is cut to the 5,000 characters the scorer reads,
scored in chunks (embedding metrics still batched per chunk), and only scores and F1 counts are
kept, so a predictions file of any size is scored in memory bounded by the data file.
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

from pydantic import ValidationError

from ecombench.errors import EcombenchError
from ecombench.metrics.embedding import Embedders
from ecombench.metrics.parsers import truncate
from ecombench.records import Prediction, ShopBenchRecord, describe, iter_jsonl, load_records
from ecombench.scoring import ItemScore, Report, ScoringItem, aggregate, score_items, task_score

CHUNK = 2048


def _item(record: ShopBenchRecord, raw: str) -> ScoringItem:
    return ScoringItem(record.task_name, record.task_type, record.metric, record.track, record.output_field, raw)


def score_files(data: Path, predictions: Path, embedders: Embedders | None = None) -> Report:
    """Score a predictions JSON Lines file against a ShopBench JSON Lines data file.

    Every data row needs exactly one prediction, keyed by ``index`` (0-based row) or ``input_field``.
    """
    embedders = embedders or Embedders()
    records = load_records(data)
    by_prompt: dict[str, list[int]] = defaultdict(list)
    for i, record in enumerate(records):
        by_prompt[record.input_field].append(i)
    scores: list[ItemScore | None] = [None] * len(records)
    seen = bytearray(len(records))
    pending: list[tuple[int, ScoringItem]] = []

    def flush() -> None:
        results = score_items([item for _, item in pending], embedders)
        for (row, _), result in zip(pending, results, strict=True):
            scores[row] = ItemScore(None, result.score, result.counts)  # the parsed answer is not kept
        pending.clear()

    for number, obj in iter_jsonl(predictions):
        try:
            pred = Prediction.model_validate(obj)
        except ValidationError as exc:
            raise EcombenchError(f"{predictions}:{number}: {describe(exc)}") from exc
        if pred.index is not None:
            if pred.index >= len(records):
                raise EcombenchError(f"{predictions}:{number}: index {pred.index} is past the last row of {data} ({len(records) - 1})")
            rows = [pred.index]
        else:
            rows = by_prompt.get(pred.input_field or "", [])
            if not rows:
                raise EcombenchError(f"{predictions}:{number}: input_field matches no row of {data}")
        raw = truncate(pred.prediction)
        for row in rows:
            if seen[row]:
                raise EcombenchError(f"{predictions}:{number}: a second prediction for data row {row}")
            seen[row] = 1
            pending.append((row, _item(records[row], raw)))
        if len(pending) >= CHUNK:
            flush()
    flush()
    missing = [i for i, s in enumerate(seen) if not s]
    if missing:
        shown = ", ".join(str(i) for i in missing[:5]) + (" ..." if len(missing) > 5 else "")
        raise EcombenchError(f"{predictions}: no prediction for {len(missing)} of {len(records)} rows of {data} (rows {shown})")
    by_task: dict[str, list[int]] = defaultdict(list)
    for i, record in enumerate(records):
        by_task[record.task_name].append(i)
    try:
        tasks = {
            name: task_score(name, [_item(records[i], "") for i in rows], [s for i in rows if (s := scores[i]) is not None])
            for name, rows in by_task.items()
        }
    except EcombenchError as exc:  # a task that mixes types, tracks or pooled metrics: the data file is at fault
        raise EcombenchError(f"{data}: {exc}") from exc
    return aggregate(tasks)
