"""Shopping MMLU (``data.zip`` or its unzipped folder): its 4 skills as tracks, its task names kept."""

from __future__ import annotations

import csv
import io
import json
import zipfile
from collections.abc import Iterator, Mapping
from pathlib import Path, PurePosixPath
from typing import Any

from pydantic import ValidationError

from ecombench.errors import EcombenchError
from ecombench.importers.writer import ImportedSuite
from ecombench.metrics.parsers import literal
from ecombench.records import ShopBenchRecord, describe, make_record

TYPE_FOLDERS = ("multiple_choice", "retrieval", "ranking", "named_entity_recognition", "generation")


MAX_MEMBER_BYTES = 256 << 20  # the largest Shopping MMLU file is a few MB
MAX_RATIO = 100  # uncompressed / compressed: text compresses 3-10x, a zip bomb 1000x


class _Members(Mapping[str, bytes]):
    """Relative path -> bytes, each file read only when asked for (a zip's unused members are never unpacked),
    refused past ``MAX_MEMBER_BYTES`` or, in a zip, past ``MAX_RATIO`` times its compressed size."""

    def __init__(self, source: Path, paths: dict[str, str], archive: zipfile.ZipFile | None) -> None:
        self.source, self.paths, self.archive = source, paths, archive

    def __getitem__(self, key: str) -> bytes:
        name = self.paths[key]
        if self.archive is None:
            path = self.source / name
            if path.stat().st_size > MAX_MEMBER_BYTES:
                raise EcombenchError(f"{path}: over {MAX_MEMBER_BYTES >> 20} MiB, not read")
            return path.read_bytes()
        info = self.archive.getinfo(name)
        if info.file_size > MAX_MEMBER_BYTES or info.file_size > MAX_RATIO * max(info.compress_size, 1 << 10):
            raise EcombenchError(f"{self.source}: {name} unpacks to {info.file_size} bytes from {info.compress_size}; not unpacked (a zip bomb?)")
        try:
            with self.archive.open(info) as handle:
                data = handle.read(MAX_MEMBER_BYTES + 1)  # the sizes in the header may lie
        except (zipfile.BadZipFile, OSError, NotImplementedError, RuntimeError) as exc:
            raise EcombenchError(f"{self.source}: cannot unpack {name} ({exc})") from exc
        if len(data) > MAX_MEMBER_BYTES or len(data) > MAX_RATIO * max(info.compress_size, 1 << 10):
            raise EcombenchError(f"{self.source}: {name} unpacks to more than its header says; not unpacked (a zip bomb?)")
        return data

    def __iter__(self) -> Iterator[str]:
        return iter(self.paths)

    def __len__(self) -> int:
        return len(self.paths)


def _files(source: Path) -> Mapping[str, bytes]:
    """Relative path (from the folder holding ``skills/`` or the type folders) -> bytes, read when used."""
    archive = None
    if source.is_dir():
        names = [p.relative_to(source).as_posix() for p in source.rglob("*") if p.is_file()]
    else:
        try:
            archive = zipfile.ZipFile(source)
        except (zipfile.BadZipFile, OSError) as exc:
            raise EcombenchError(f"{source}: not a zip file or folder") from exc
        names = [n for n in archive.namelist() if not n.endswith("/")]
    anchors = [n for n in names if PurePosixPath(n).parts[-2:-1] and PurePosixPath(n).parts[-2] in ("skills", *TYPE_FOLDERS)]
    if not anchors:
        raise EcombenchError(f"{source}: no skills/ or {'/, '.join(TYPE_FOLDERS)}/ folders (is this Shopping MMLU's data.zip?)")
    root = str(PurePosixPath(anchors[0]).parent.parent)
    prefix = "" if root == "." else root + "/"
    return _Members(source, {n[len(prefix) :]: n for n in names if n.startswith(prefix)}, archive)


def _text(name: str, data: bytes) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise EcombenchError(f"{name}: not UTF-8 text (byte {exc.start})") from exc


def _mc_rows(name: str, data: bytes) -> list[dict[str, Any]]:
    """Multiple-choice CSV rows as ShopBench prompts; options are numbered from 1 when the answers are
    1-based (the rating task: some answer equals the number of options, none is 0), else from 0."""
    task = PurePosixPath(name).stem.removesuffix("_dataset")
    parsed = []
    reader = enumerate(csv.DictReader(io.StringIO(_text(name, data))), start=2)
    while True:
        try:
            number, row = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:  # a field over csv's 128 KiB limit, a NUL byte
            raise EcombenchError(f"{name}: not a readable CSV ({exc})") from exc
        try:
            choices = literal(row["choices"])
            answer = int(row["answer"])
            question = row["question"]
            if not isinstance(choices, list | tuple) or not isinstance(question, str):
                raise TypeError
        except (KeyError, ValueError, SyntaxError, TypeError, MemoryError, RecursionError) as exc:
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
    for number, line in enumerate(_text(name, data).split("\n"), start=1):
        if not line.strip():
            continue
        try:
            rows.append(ShopBenchRecord.model_validate(json.loads(line)).model_dump(exclude_none=True))
        except json.JSONDecodeError as exc:
            raise EcombenchError(f"{name}:{number}: not valid JSON ({exc.msg})") from exc
        except ValidationError as exc:
            raise EcombenchError(f"{name}:{number}: {describe(exc)}") from exc
        except (RecursionError, ValueError) as exc:  # nesting too deep, an integer of thousands of digits
            raise EcombenchError(f"{name}:{number}: not readable JSON ({type(exc).__name__})") from exc
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
