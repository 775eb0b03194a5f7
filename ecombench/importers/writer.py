"""Write an imported suite as ecombench task YAMLs and ShopBench data, atomically.

An import is staged in a temporary folder beside the destination and renamed into place only
when complete, so a failed import leaves nothing half-written under the home folder.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from ecombench.errors import EcombenchError
from ecombench.io import staging_dir
from ecombench.records import ShopBenchRecord, describe

_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")


@dataclass
class ImportedSuite:
    """What an importer read: ShopBench rows per task, and the files they came from."""

    fmt: str
    sources: list[Path]
    tasks: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    descriptions: dict[str, str] = field(default_factory=dict)
    answers: bool = True  # False: a test set without truths, for generation only


def task_slug(text: str) -> str:
    """A task-name-safe form of a source's task name."""
    return re.sub(r"[^A-Za-z0-9]+", "_", text).strip("_").lower() or "task"


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _yaml(task: str, rows: list[dict[str, Any]], description: str, sources: dict[str, Any], fmt: str, answers: bool) -> str:
    first = rows[0]
    metrics = sorted({r["metric"] for r in rows})
    tokens = 1 if first["task_type"] == "multiple-choice" else 100
    meta = {
        "version": 1.0,
        "track": first["track"],
        "task_type": first["task_type"],
        "metric": Counter(r["metric"] for r in rows).most_common(1)[0][0],
        "metrics": metrics,
        "description": description,
        "items": len(rows),
        "imported_from": fmt,
        "sources": sources,
        "answers": answers,
    }
    return (
        f"# Imported by `ecombench import {fmt}`.\n"
        f"task: {task}\n"
        "custom_dataset: !function ecombench.hooks.load_dataset\n"
        f"dataset_kwargs:\n  data_files: {task}.jsonl\n"
        "test_split: test\noutput_type: generate_until\ndoc_to_text: input_field\n"
        "doc_to_target: !function ecombench.hooks.doc_to_target\n"
        "process_results: !function ecombench.hooks.process_results\n"
        f"generation_kwargs:\n  until: []\n  max_gen_toks: {tokens}\n  do_sample: false\n"
        "metric_list:\n  - metric: kdd_score\n    aggregation: !function ecombench.hooks.aggregate\n    higher_is_better: true\n"
        f"metadata: {json.dumps(meta, ensure_ascii=False)}\n"
    )


def write_suite(suite: ImportedSuite, name: str, dest_parent: Path, force: bool = False) -> Path:
    """Write ``dest_parent/name/`` with one YAML + data file per task, track groups and a suite group."""
    if not _NAME.match(name):
        raise EcombenchError(f"--name {name!r}: use letters, digits and underscores, starting with a letter")
    if not suite.tasks or not any(suite.tasks.values()):
        raise EcombenchError(f"{', '.join(map(str, suite.sources))}: no rows to import")
    dest = dest_parent / name
    if dest.exists() and not force:
        raise EcombenchError(f"{dest} already exists; pass --force to replace it")
    sources = {str(p): {"sha256": file_sha256(p), "bytes": p.stat().st_size} for p in suite.sources}
    dest_parent.mkdir(parents=True, exist_ok=True)
    staging = staging_dir(f".{name}-", dest_parent)
    try:
        tracks: dict[str, list[str]] = {}
        for source_task, rows in sorted(suite.tasks.items()):
            task = f"{name}_{task_slug(source_task)}"
            for i, row in enumerate(rows if suite.answers else []):
                try:
                    ShopBenchRecord.model_validate(row)
                except ValidationError as exc:
                    raise EcombenchError(f"{suite.sources[0]}: task {source_task}, row {i + 1}: {describe(exc)}") from exc
            text = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)
            (staging / f"{task}.jsonl").write_text(text, encoding="utf-8")
            description = suite.descriptions.get(source_task, f"{source_task} ({suite.fmt})")
            task_sources = {**sources, "rows": len(rows), "data_sha256": hashlib.sha256(text.encode()).hexdigest()}
            (staging / f"{task}.yaml").write_text(_yaml(task, rows, description, task_sources, suite.fmt, suite.answers), encoding="utf-8")
            tracks.setdefault(rows[0]["track"], []).append(task)
        agg = "aggregate_metric_list:\n  - metric: kdd_score\n    aggregation: mean\n    weight_by_size: false\nmetadata:\n  version: 1.0\n"
        for track, members in tracks.items():
            group = f"{name}_{task_slug(track)}"
            body = "".join(f"  - {m}\n" for m in members)
            (staging / f"_group_{task_slug(track)}.yaml").write_text(f"group: {group}\ntask:\n{body}{agg}", encoding="utf-8")
        body = "".join(f"  - {name}_{task_slug(t)}\n" for t in tracks)
        (staging / "_group_all.yaml").write_text(f"group: {name}\ntask:\n{body}{agg}", encoding="utf-8")
        if dest.exists():
            shutil.rmtree(dest)
        os.rename(staging, dest)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return dest
