"""KDD Cup 2024 / ShopBench JSON Lines: one task per ``task_name``, grouped by track.

A test file without answers (only ``input_field`` and ``is_multiple_choice``, as the challenge's
hidden set) imports for generation only: two tasks, multiple-choice (1 new token) and the rest
(100), whose runs write a predictions file instead of scores.
"""

from __future__ import annotations

from pathlib import Path

from ecombench.errors import EcombenchError
from ecombench.importers.writer import ImportedSuite
from ecombench.records import iter_jsonl, load_records

TEST_FIELDS = ("input_field", "is_multiple_choice")


def _is_test_layout(source: Path) -> bool:
    for _, row in iter_jsonl(source):
        return "output_field" not in row
    raise EcombenchError(f"{source}: no records")


# The `import` command's options this format takes, each to the keyword of `read` it sets.
OPTIONS: dict[str, str] = {}


def read(source: Path) -> ImportedSuite:
    """Rows keep their fields; the metric stays per row (one task may mix bleu and jp-bleu)."""
    if _is_test_layout(source):
        return _read_test(source)
    suite = ImportedSuite("shopbench", [source])
    for record in load_records(source):
        suite.tasks.setdefault(record.task_name, []).append(record.model_dump(exclude_none=True))
    for task, rows in suite.tasks.items():
        suite.descriptions[task] = f"ShopBench {task}: {rows[0]['task_type']}, {rows[0]['track']}"
    return suite


def _read_test(source: Path) -> ImportedSuite:
    suite = ImportedSuite("shopbench", [source], answers=False)
    for index, (number, row) in enumerate(iter_jsonl(source)):
        if not isinstance(row.get("input_field"), str) or not isinstance(row.get("is_multiple_choice"), bool):
            raise EcombenchError(f"{source}:{number}: a test row needs {', '.join(TEST_FIELDS)} (a string and a bool)")
        mc = row["is_multiple_choice"]
        task = "test_multiple_choice" if mc else "test_generation"
        suite.tasks.setdefault(task, []).append(
            {
                "index": index,
                "input_field": row["input_field"],
                "is_multiple_choice": mc,
                "task_name": task,
                "task_type": "multiple-choice" if mc else "generation",
                "metric": "accuracy" if mc else "rougel",
                "track": "test",
            }
        )
    for task in suite.tasks:
        suite.descriptions[task] = f"ShopBench test questions without answers ({task.removeprefix('test_').replace('_', '-')}): generation only"
    return suite
