"""KDD Cup 2024 / ShopBench JSON Lines: one task per ``task_name``, grouped by track."""

from __future__ import annotations

from pathlib import Path

from ecombench.importers.writer import ImportedSuite
from ecombench.records import load_records


def read(source: Path) -> ImportedSuite:
    """Rows keep their fields; the metric stays per row (one task may mix bleu and jp-bleu)."""
    suite = ImportedSuite("shopbench", [source])
    for record in load_records(source):
        suite.tasks.setdefault(record.task_name, []).append(record.model_dump(exclude_none=True))
    for task, rows in suite.tasks.items():
        suite.descriptions[task] = f"ShopBench {task}: {rows[0]['task_type']}, {rows[0]['track']}"
    return suite
