"""Bring-your-own-predictions scoring: a ShopBench data file plus a predictions file, optionally kept as a submission.

The predictions file is streamed: each line is scored whole (as each rule set's own code reads it) in
chunks (embedding metrics still batched per chunk), and only scores and F1 counts are kept, so a
predictions file of any length is scored in memory bounded by the data file and the longest chunk of
outputs. Keeping it as a submission (``score_and_keep``, ``save_scored``) also keeps each row's
prediction and parsed answer, which its items file needs.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import sys
from collections import defaultdict
from dataclasses import dataclass, replace
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from ecombench.errors import EcombenchError
from ecombench.layouts import PREDICTIONS, SHOPBENCH, read_data, read_predictions
from ecombench.metrics.embedding import Embedders
from ecombench.records import (
    Prediction,
    ShopBenchRecord,
    describe,
    item_key,
    load_records,
)
from ecombench.scoring import (
    ItemScore,
    Report,
    ScoringItem,
    aggregate,
    resolve_rules,
    score_items,
    task_score,
)
from ecombench.submissions import (
    GenerationSettings,
    Hardware,
    ItemRecord,
    ModelIdentity,
    Submission,
    TaskResult,
    new_id,
    now,
    save,
)
from ecombench.taskindex import TaskIndex, TaskInfo, build_index, default_roots

CHUNK = 2048


def _item(record: ShopBenchRecord, raw: str) -> ScoringItem:
    return ScoringItem(record.task_name, record.task_type, record.metric, record.track, record.output_field, raw)


@dataclass(frozen=True)
class Scored:
    """A scored predictions file, row by row of the data file: the record, the prediction as scored, its score."""

    report: Report
    records: list[ShopBenchRecord]
    raws: list[str]  # each as the predictions file has it
    scores: list[ItemScore]  # with the parsed answer


def score_files(data: Path, predictions: Path, embedders: Embedders | None = None, rules: str | None = None) -> Report:
    """Score a predictions file against a data file, each in the layout it has (``ecombench.layouts``: ShopBench
    JSON Lines and ecombench predictions, Shopping MMLU's skill files and skill_evaluation.py outputs, eCeLLM's
    ECInstruct records and evaluation/{task}/{setting}.json).

    Every data row needs exactly one prediction, keyed by ``index`` (0-based row) or ``input_field``, or by
    its place in the file where the layout has no key.
    ``rules`` None: the rules the rows carry (an imported suite's ``rules`` field), else inferred.
    """
    return _score(data, predictions, embedders, keep=False, rules=rules).report


def score_and_keep(data: Path, predictions: Path, embedders: Embedders | None = None, rules: str | None = None) -> Scored:
    """``score_files`` that also keeps each row's prediction and parsed answer (for a submission's items file)."""
    return _score(data, predictions, embedders, keep=True, rules=rules)


def _declared_rules(record: ShopBenchRecord) -> str | None:
    declared = (record.model_extra or {}).get("rules")
    return declared if isinstance(declared, str) else None


def _score(data: Path, predictions: Path, embedders: Embedders | None, keep: bool, rules: str | None = None) -> Scored:
    embedders = embedders or Embedders()
    read = read_data(data, predictions)
    records = read.records
    try:
        chosen = resolve_rules(rules, [_declared_rules(r) or read.rules for r in records], [r.metric for r in records])
    except EcombenchError as exc:
        raise EcombenchError(f"{data}: {exc}") from exc
    lines = read_predictions(predictions)
    by_prompt: dict[str, list[int]] = defaultdict(list)
    for i, record in enumerate(records):
        by_prompt[record.input_field].append(i)
    scores: list[ItemScore | None] = [None] * len(records)
    raws: list[str] = [""] * len(records) if keep else []
    seen = bytearray(len(records))
    pending: list[tuple[int, ScoringItem]] = []

    def flush() -> None:
        results = score_items([item for _, item in pending], embedders, chosen)
        for (row, item), result in zip(pending, results, strict=True):
            if keep:
                scores[row] = result
                raws[row] = item.raw
            else:
                scores[row] = ItemScore(None, result.score, result.result)  # the parsed answer is not kept
        pending.clear()

    for number, obj in lines.lines:
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
        raw = pred.prediction
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
            name: task_score(name, [_item(records[i], "") for i in rows], [s for i in rows if (s := scores[i]) is not None]) for name, rows in by_task.items()
        }
    except EcombenchError as exc:  # a task that mixes types, tracks or pooled metrics: the data file is at fault
        raise EcombenchError(f"{data}: {exc}") from exc
    report = aggregate(tasks, chosen)
    if read.layout != SHOPBENCH or lines.layout != PREDICTIONS:  # say how files of another benchmark's layout were read
        report = replace(report, read_as=f"read {data.name} as {read.layout}, and {predictions.name} as {lines.layout}")
    return Scored(report, records, raws, [s for s in scores if s is not None])


# --- Keeping scored predictions as a submission (`ecombench score --save`) ------------------------
#
# A submission from predictions records what is known: the data's tasks matched to installed tasks
# (so the board can rank them beside `ecombench run` submissions), the predictions file's hash in place
# of a weights hash, and "unknown" for how the answers were generated.

UNKNOWN = "unknown"


def item_hash(prompt: str, truth: Any) -> str:
    """The key that pairs a question across submissions: ``records.item_key`` of a truth given as a value."""
    return item_key(prompt, json.dumps(truth, ensure_ascii=False))


def _row_key(record: ShopBenchRecord) -> str:
    return json.dumps([record.input_field, record.output_field, record.task_name, record.task_type, record.metric, record.track], ensure_ascii=False)


def _rows_sha256(records: list[ShopBenchRecord]) -> str:
    text = "".join(json.dumps(r.model_dump(exclude_none=True), ensure_ascii=False) + "\n" for r in records)
    return hashlib.sha256(text.encode()).hexdigest()


def _positions(task: TaskInfo, rows: list[ShopBenchRecord]) -> list[int] | None:
    """Each row's place in the installed task's data when the rows are that whole data (in any order), else None."""
    if task.data_file is None or (task.config.get("metadata") or {}).get("answers") is False or task.item_count() != len(rows):
        return None
    try:
        installed = load_records(task.data_file)
    except EcombenchError:
        return None
    where: dict[str, list[int]] = defaultdict(list)
    for i, record in enumerate(installed):
        where[_row_key(record)].append(i)
    out = []
    for record in rows:
        places = where.get(_row_key(record))
        if not places:
            return None
        out.append(places.pop(0))
    return out


@dataclass(frozen=True)
class _Match:
    name: str  # the installed task's name, or the data's own task name when none matches
    version: str
    data_sha256: str | None
    doc_ids: list[int]
    note: str | None = None


def _by_name(task: TaskInfo, rows: list[ShopBenchRecord]) -> _Match:
    doc_ids = _positions(task, rows)
    if doc_ids is not None:
        return _Match(task.name, task.version, task.data_hash(), doc_ids)
    return _Match(
        task.name,
        task.version,
        _rows_sha256(rows),
        list(range(len(rows))),
        f"task {task.name}: these {len(rows)} rows are not the installed task's data; the board flags it as other data",
    )


def _by_content(task: str, rows: list[ShopBenchRecord], index: TaskIndex, taken: set[str]) -> _Match:
    """The installed task whose data file holds exactly these rows: an imported suite prefixes the task
    names (``kdd_task1``) while its rows keep the source's (``task1``)."""
    for candidate in index.tasks.values():
        if candidate.name in taken or candidate.task_type != rows[0].task_type:
            continue
        doc_ids = _positions(candidate, rows)
        if doc_ids is not None:
            return _Match(candidate.name, candidate.version, candidate.data_hash(), doc_ids, f"task {task}: scored as installed task {candidate.name}")
    return _Match(task, UNKNOWN, _rows_sha256(rows), list(range(len(rows))), f"task {task}: not an installed task; saved, but no board ranks it")


def _hardware() -> Hardware:
    """This machine, which scored; the device that generated is not known."""
    try:
        torch = version("torch")
    except PackageNotFoundError:
        torch = UNKNOWN
    return Hardware(platform=platform.platform(), python=sys.version.split()[0], torch=torch, device=UNKNOWN, cpu_count=os.cpu_count() or 1)


def save_scored(
    scored: Scored, predictions: Path, directory: Path, name: str | None = None, duration_s: float = 0.0, index: TaskIndex | None = None
) -> tuple[Submission, Path, list[str]]:
    """Keep a scored predictions file as a submission (record and items file); return it, its path and notes for the user.

    The submission is marked ``source="predictions"`` (model kind "predictions", no weights hash, the
    predictions file's sha256); tasks are named and versioned as the installed tasks they match.
    """
    from ecombench import __version__
    from ecombench.hooks import doc_to_target
    from ecombench.importers.writer import file_sha256

    index = index if index is not None else build_index(default_roots())
    name = name or predictions.name.removesuffix(".jsonl")
    rows_of: dict[str, list[int]] = defaultdict(list)
    for i, record in enumerate(scored.records):
        rows_of[record.task_name].append(i)
    rows = {task: [scored.records[i] for i in where] for task, where in rows_of.items()}
    matches = {task: _by_name(index.tasks[task], rows[task]) for task in rows if task in index.tasks}
    taken = set(rows) | {m.name for m in matches.values()}
    for task, records in rows.items():
        if task not in matches:
            matches[task] = _by_content(task, records, index, taken)
            taken.add(matches[task].name)
    created = now()
    sub_id = new_id(name, created)
    submission = Submission(
        id=sub_id,
        name=name,
        created=created,
        model=ModelIdentity(
            spec=predictions.name, kind="predictions", base_model=name, weights_sha256=None, dtype=UNKNOWN, predictions_sha256=file_sha256(predictions)
        ),
        ecombench_version=__version__,
        lm_eval_version=UNKNOWN,
        generation=GenerationSettings(protocol=UNKNOWN, system_prompt=None, max_gen_toks={}, batch_size=UNKNOWN, device=UNKNOWN, limit=None, backend=UNKNOWN),
        tasks={matches[task].name: TaskResult.of(t, matches[task].version, matches[task].data_sha256) for task, t in scored.report.tasks.items()},
        # renaming tasks changes no track or overall score
        tracks=scored.report.tracks,
        all_around=scored.report.all_around,
        overall_task_mean=scored.report.overall_task_mean,
        duration_s=round(duration_s, 3),
        hardware=_hardware(),
        items_file=f"{sub_id}.items.jsonl",
        source="predictions",
        rules=scored.report.rules,  # type: ignore[arg-type]  # resolve_rules admits only the four names
    )
    items = []
    for task, where in rows_of.items():
        for row, doc_id in zip(where, matches[task].doc_ids, strict=True):
            record, score = scored.records[row], scored.scores[row]
            items.append(
                ItemRecord(
                    task=matches[task].name,
                    doc_id=doc_id,
                    item_hash=item_hash(record.input_field, record.output_field),
                    prompt=record.input_field,
                    target=doc_to_target({"output_json": json.dumps(record.output_field, ensure_ascii=False)}),
                    prediction=scored.raws[row],
                    parsed=score.parsed,
                    score=score.score,
                )
            )
    path = save(directory, submission, items)
    return submission, path, [m.note for m in matches.values() if m.note]
