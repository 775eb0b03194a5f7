"""Bring-your-own-predictions scoring: a ShopBench data file plus a predictions file."""

from __future__ import annotations

from pathlib import Path

from ecombench.metrics.embedding import Embedders
from ecombench.records import load_predictions, load_records
from ecombench.scoring import ItemScore, Report, ScoringItem, score_report


def score_files(data: Path, predictions: Path, embedders: Embedders | None = None) -> tuple[Report, list[ItemScore]]:
    """Score a predictions JSON Lines file against a ShopBench JSON Lines data file."""
    records = load_records(data)
    answers = load_predictions(predictions, records, data)
    items = [
        ScoringItem(r.task_name, r.task_type, r.metric, r.track, r.output_field, raw)
        for r, raw in zip(records, answers, strict=True)
    ]
    return score_report(items, embedders)
