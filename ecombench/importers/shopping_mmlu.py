"""Shopping MMLU (``data.zip`` or its unzipped folder): its 4 skills as tracks, its task names kept."""

from __future__ import annotations

import csv
import io
import json
import zipfile
from pathlib import Path, PurePosixPath
from typing import Any

from pydantic import ValidationError

from ecombench.errors import EcombenchError
from ecombench.importers.writer import ImportedSuite
from ecombench.metrics.parsers import literal
from ecombench.records import ShopBenchRecord, describe, make_record

TYPE_FOLDERS = ("multiple_choice", "retrieval", "ranking", "named_entity_recognition", "generation")


def _files(source: Path) -> dict[str, bytes]:
    """Relative path (from the folder holding ``skills/`` or the type folders) -> bytes."""
    if source.is_dir():
        raw = {p.relative_to(source).as_posix(): p for p in source.rglob("*") if p.is_file()}
        read = lambda key: raw[key].read_bytes()  # noqa: E731
        names = list(raw)
    else:
        try:
            archive = zipfile.ZipFile(source)
        except zipfile.BadZipFile as exc:
            raise EcombenchError(f"{source}: not a zip file or folder") from exc
        names = [n for n in archive.namelist() if not n.endswith("/")]
        read = archive.read
    anchors = [n for n in names if PurePosixPath(n).parts[-2:-1] and PurePosixPath(n).parts[-2] in ("skills", *TYPE_FOLDERS)]
    if not anchors:
        raise EcombenchError(f"{source}: no skills/ or {'/, '.join(TYPE_FOLDERS)}/ folders (is this Shopping MMLU's data.zip?)")
    root = str(PurePosixPath(anchors[0]).parent.parent)
    prefix = "" if root == "." else root + "/"
    return {n[len(prefix) :]: read(n) for n in names if n.startswith(prefix)}


def _mc_rows(name: str, data: bytes) -> list[dict[str, Any]]:
    """Multiple-choice CSV rows as ShopBench prompts; options are numbered from 1 when the answers are
    1-based (the rating task: some answer equals the number of options, none is 0), else from 0."""
    task = PurePosixPath(name).stem.removesuffix("_dataset")
    parsed = []
    for number, row in enumerate(csv.DictReader(io.StringIO(data.decode("utf-8"))), start=2):
        try:
            choices = literal(row["choices"])
            answer = int(row["answer"])
            question = row["question"]
        except (KeyError, ValueError, SyntaxError, TypeError) as exc:
            raise EcombenchError(f"{name}:{number}: expected columns question, choices (a list), answer (an int)") from exc
        parsed.append((question, list(choices), answer))
    start = 1 if any(a == len(c) for _, c, a in parsed) and not any(a == 0 for _, _, a in parsed) else 0
    return [
        make_record(
            task,
            "multiple-choice",
            "accuracy",
            "shopping_mmlu",
            f"{q}\n" + "\n".join(f"{i}. {c}" for i, c in enumerate(choices, start=start)) + "\nAnswer: ",
            answer,
        )
        for q, choices, answer in parsed
    ]


def _jsonl_rows(name: str, data: bytes) -> list[dict[str, Any]]:
    rows = []
    for number, line in enumerate(data.decode("utf-8").split("\n"), start=1):
        if not line.strip():
            continue
        try:
            rows.append(ShopBenchRecord.model_validate(json.loads(line)).model_dump(exclude_none=True))
        except json.JSONDecodeError as exc:
            raise EcombenchError(f"{name}:{number}: not valid JSON ({exc.msg})") from exc
        except ValidationError as exc:
            raise EcombenchError(f"{name}:{number}: {describe(exc)}") from exc
    return rows


def read(source: Path) -> ImportedSuite:
    """Skill files give every record with its skill (the track); without them, the per-type folders."""
    files = _files(source)
    suite = ImportedSuite("shopping-mmlu", [source] if source.is_file() else [])
    skills = sorted(n for n in files if n.startswith("skills/") and n.endswith(".json"))
    if skills:
        for name in skills:
            skill = PurePosixPath(name).stem
            for row in _jsonl_rows(name, files[name]):
                suite.tasks.setdefault(row["task_name"], []).append({**row, "track": skill})
    else:
        for name in sorted(files):
            folder = PurePosixPath(name).parts[0]
            if folder == "multiple_choice" and name.endswith(".csv"):
                rows = _mc_rows(name, files[name])
            elif folder in TYPE_FOLDERS and name.endswith(".json"):
                rows = _jsonl_rows(name, files[name])
            else:
                continue
            for row in rows:
                suite.tasks.setdefault(row["task_name"], []).append(row)
    if source.is_dir():
        suite.sources = sorted(p for p in source.rglob("*") if p.is_file())
    return suite
