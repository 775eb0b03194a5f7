"""Benchmark files as they come, for ``ecombench score``: which layout a data file and a predictions file
have, and their rows in ecombench's terms.

Data files:

- ShopBench JSON Lines (ecombench's own, and the KDD Cup's): one record a line, each with its ``track``.
- A Shopping MMLU skill file (``skills/<skill>.json``, read by ``skill_wise_eval/skill_evaluation.py``):
  the same rows without ``track``; the file is the skill, so its name is the track, and its rules are
  ``shopping-mmlu`` unless ``--rules`` says otherwise.
- eCeLLM's ECInstruct records (a JSON list, or JSON Lines, of ``task``, ``setting``, ``split``,
  ``instruction``, ``input``, ``output``): ``evaluate.py`` scores one task and setting of the ``test``
  split, named by its predictions file ``evaluation/{task}/{setting}.json``; the records become questions
  as ``ecombench import ecinstruct`` makes them, scored by the ``ecellm`` rules.

Predictions files:

- ecombench's JSON Lines: ``{"index": row, "prediction": text}`` (or ``input_field`` for ``index``).
- ``skill_evaluation.py``'s output (Shopping MMLU): ``{"model_output": text}`` per line, in data order.
- eCeLLM's ``evaluation/{task}/{setting}.json``: one JSON list of texts, in data order.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from ecombench.errors import EcombenchError
from ecombench.io import parse_json, read_text
from ecombench.metrics.rulesets import ECELLM, SHOPPING_MMLU
from ecombench.records import ShopBenchRecord, describe, iter_jsonl, load_records

SHOPBENCH = "ShopBench JSON Lines"
PREDICTIONS = "ecombench predictions (JSON Lines of index or input_field, and prediction)"
ECINSTRUCT_FIELDS = ("task", "setting", "split", "instruction", "input", "output")


@dataclass(frozen=True)
class Data:
    records: list[ShopBenchRecord]
    layout: str  # what the file was read as, for the user
    rules: str | None = None  # the rules this layout is scored by when neither --rules nor the rows say


FIRST_LINE_CHARS = 1 << 24  # what the layout check reads of a file's first line at most (16 Mi characters)


def _first_object(path: Path) -> tuple[bool, dict[str, Any] | None]:
    """(whether the file is one JSON list, its first object or None), reading no more than its first line."""
    try:
        with path.open(encoding="utf-8") as handle:
            line = handle.readline(FIRST_LINE_CHARS)
            while line and not line.strip():
                line = handle.readline(FIRST_LINE_CHARS)
    except OSError as exc:
        raise EcombenchError(f"{path}: cannot read ({exc.strerror})") from exc
    except UnicodeDecodeError as exc:
        raise EcombenchError(f"{path}: not UTF-8 text ({exc.reason})") from exc
    if line.lstrip().startswith("["):
        return True, None
    try:
        obj = json.loads(line)
    except (ValueError, RecursionError):  # broken, or longer than read: the full reader says what is wrong
        return False, None
    return False, obj if isinstance(obj, dict) else None


def read_data(data: Path, predictions: Path) -> Data:
    """The data file's records, in the layout it has (see the module's docstring)."""
    is_list, first = _first_object(data)
    if is_list or (first is not None and all(f in first for f in ECINSTRUCT_FIELDS) and "input_field" not in first):
        return _ecinstruct(data, predictions)
    if first is not None and "track" not in first and "input_field" in first:
        return _skill_file(data)
    return Data(load_records(data), SHOPBENCH)


def _skill_file(data: Path) -> Data:
    """A Shopping MMLU skill file: every row takes the file's name as its track (skill_evaluation.py:15)."""
    skill = data.stem
    records = []
    for number, obj in iter_jsonl(data):
        if "track" in obj:
            raise EcombenchError(f"{data}:{number}: a row with 'track' in a file whose first row has none (a Shopping MMLU skill file has none)")
        try:
            records.append(ShopBenchRecord.model_validate({**obj, "track": skill}))
        except ValidationError as exc:
            raise EcombenchError(f"{data}:{number}: {describe(exc)}") from exc
    if not records:
        raise EcombenchError(f"{data}: no records")
    return Data(records, f"a Shopping MMLU skill file (skill_evaluation.py's data; track '{skill}' from its name)", SHOPPING_MMLU)


def _ecinstruct_target(data: Path, predictions: Path) -> tuple[str, str]:
    """The task and setting evaluate.py scores: from ``evaluation/{task}/{setting}.json``, else the one pair
    the data's test split holds."""
    if predictions.parent.name and predictions.suffix == ".json" and predictions.parent.parent.name == "evaluation":
        return predictions.parent.name, predictions.stem
    pairs: dict[tuple[str, str], None] = {}
    for r in _ecinstruct_rows(data):
        if r.get("split") == "test":
            pairs[(str(r.get("task")), str(r.get("setting")))] = None
    if len(pairs) == 1:
        return next(iter(pairs))
    raise EcombenchError(
        f"{predictions}: eCeLLM's evaluate.py names the task and setting by its predictions file, evaluation/{{task}}/{{setting}}.json; "
        f"{data} holds {len(pairs)} test tasks and settings, so put the predictions there"
    )


def _ecinstruct_rows(data: Path) -> list[dict[str, Any]]:
    text = read_text(data)
    if text.lstrip().startswith("["):
        rows = parse_json(text, str(data))
        if not isinstance(rows, list):
            raise EcombenchError(f"{data}: expected a JSON list of records")
        return [r for r in rows if isinstance(r, dict)]
    return [obj for _, obj in iter_jsonl(data)]


def _ecinstruct(data: Path, predictions: Path) -> Data:
    from ecombench.importers import ecinstruct

    task, setting = _ecinstruct_target(data, predictions)
    suite = ecinstruct.read(data, setting=setting, split="test", only_task=task)
    slug = ecinstruct.slug(task)
    rows = suite.tasks.get(slug) or []
    if not rows:
        raise EcombenchError(f"{data}: no test records of task {task!r} with setting {setting!r} (evaluate.py's filter)")
    records = [ShopBenchRecord.model_validate(r) for r in rows]
    return Data(records, f"eCeLLM's ECInstruct records (the test split of {task}, {setting}, as evaluate.py reads them)", ECELLM)


@dataclass(frozen=True)
class Predictions:
    layout: str
    lines: Iterator[tuple[int, dict[str, Any]]]  # (line or position, {"index" | "input_field", "prediction"})


def read_predictions(path: Path) -> Predictions:
    """The predictions file's rows, in the layout it has; ecombench's JSON Lines and Shopping MMLU's are streamed."""
    is_list, first = _first_object(path)
    if is_list:
        return Predictions("eCeLLM's evaluation file (a JSON list of outputs, in data order)", _listed(path))
    if first is not None and "model_output" in first and "prediction" not in first:
        return Predictions('skill_evaluation.py\'s output ({"model_output": ...} per line, in data order)', _model_outputs(path))
    return Predictions(PREDICTIONS, iter_jsonl(path))


def _listed(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    values = parse_json(read_text(path), str(path))
    if not isinstance(values, list):
        raise EcombenchError(f"{path}: expected a JSON list of outputs")
    for i, value in enumerate(values):
        if not isinstance(value, str):
            raise EcombenchError(f"{path}: output {i + 1}: expected text, got {type(value).__name__}")
        yield i + 1, {"index": i, "prediction": value}


def _model_outputs(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    for row, (number, obj) in enumerate(iter_jsonl(path)):
        value = obj.get("model_output")
        if not isinstance(value, str):
            raise EcombenchError(f'{path}:{number}: model_output: expected text (one {{"model_output": ...}} per line, in data order)')
        yield number, {"index": row, "prediction": value}
