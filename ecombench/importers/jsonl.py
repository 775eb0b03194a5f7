"""Any JSON Lines file, with a field mapping, for a user's private data."""

from __future__ import annotations

from pathlib import Path

from ecombench.errors import EcombenchError
from ecombench.importers.writer import ImportedSuite
from ecombench.io import parse_json
from ecombench.metrics import METRICS_BY_TASK_TYPE
from ecombench.metrics.parsers import TASK_TYPES
from ecombench.records import iter_jsonl, make_record

# The `import` command's options this format takes, each to the keyword of `read` it sets.
OPTIONS: dict[str, str] = {"prompt": "prompt", "target": "target", "type": "task_type", "metric": "metric", "track": "track"}


def read(
    source: Path,
    prompt: str = "prompt",
    target: str = "target",
    task_type: str = "generation",
    metric: str | None = None,
    track: str = "custom",
    task: str = "task",
) -> ImportedSuite:
    """One task: ``prompt``/``target`` name the fields; a string target of a list task may be JSON."""
    if task_type not in TASK_TYPES:
        raise EcombenchError(f"--type {task_type}: use one of {', '.join(TASK_TYPES)}")
    metric = metric or METRICS_BY_TASK_TYPE[task_type][0]
    if metric not in METRICS_BY_TASK_TYPE[task_type]:
        raise EcombenchError(f"--metric {metric}: does not fit --type {task_type} (use {', '.join(METRICS_BY_TASK_TYPE[task_type])})")
    suite = ImportedSuite("jsonl", [source])
    rows = []
    for number, row in iter_jsonl(source):
        if prompt not in row or target not in row:
            raise EcombenchError(f"{source}:{number}: missing field '{prompt if prompt not in row else target}' (set --prompt / --target)")
        truth = row[target]
        if isinstance(truth, str) and task_type in ("retrieval", "ranking", "named_entity_recognition") and truth.startswith("["):
            truth = parse_json(truth, f"{source}:{number}: field '{target}'")
        if task_type == "multiple-choice" and isinstance(truth, str) and truth.strip().isdigit():
            truth = int(truth)
        rows.append(make_record(task, task_type, metric, track, str(row[prompt]), truth))
    suite.tasks[task] = rows
    return suite
