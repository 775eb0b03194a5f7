"""Shopping MMLU (``data.zip`` or its unzipped folder): its 4 skills as tracks, its task names kept.

Two layouts, as KL4805/ShoppingMMLU's README describes them: ``skills/<skill>.json`` (JSON Lines of
ShopBench rows without ``track``: the file is the skill; ``skill_wise_eval``), or per-type folders
``multiple_choice/<task>_dataset.csv`` and ``<type>/<task>_dataset.json`` (``input_field`` /
``target_field``; ``task_wise_eval``, with its prompts and new-token limits). Either is scored by the
``shopping-mmlu`` rules by default (``ecombench.metrics.shopping_mmlu``).
"""

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
from ecombench.metrics import TASK_WISE_ACCURACY, TASK_WISE_LETTER_ACCURACY, TASK_WISE_RATING_LETTER_ACCURACY
from ecombench.metrics import shopping_mmlu as smmlu
from ecombench.metrics.parsers import literal
from ecombench.records import ShopBenchRecord, describe, make_record

TYPE_FOLDERS = ("multiple_choice", "retrieval", "ranking", "named_entity_recognition", "generation")
JSON_TYPE_FOLDERS = TYPE_FOLDERS[1:]


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


def _task_of(name: str) -> str:
    return PurePosixPath(name).stem.removesuffix("_dataset")


def _mc_rows(name: str, data: bytes, letters: bool = False) -> list[dict[str, Any]]:
    """Multiple-choice CSV rows (question, choices, answer) as ``task_wise_eval`` asks them
    (utils.py:97-123 ``format_example``): the options numbered from 0 under the question, then
    ``Answer: ``; the review rating task shows no options and its answer is the rating itself. Scored by
    ``task-wise accuracy`` (hf_multi_choice.py:85-95: the first digit of 4 new tokens). ``letters``:
    ``--use_letter_choices``, options ``(A)`` to ``(D)`` and a request for one letter, the first letter or
    digit read."""
    task = _task_of(name)
    rating = "review_rating_prediction" in task
    if letters:
        metric = TASK_WISE_RATING_LETTER_ACCURACY if rating else TASK_WISE_LETTER_ACCURACY
    else:
        metric = TASK_WISE_ACCURACY
    rows = []
    reader = enumerate(csv.DictReader(io.StringIO(_text(name, data))), start=2)
    while True:
        try:
            number, row = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:  # a field over csv's 128 KiB limit, a NUL byte
            raise EcombenchError(f"{name}: not a readable CSV ({exc})") from exc
        try:
            question = row["question"]
            answer = int(row["answer"])
            choices = [] if rating else literal(row["choices"])
            if not isinstance(choices, list | tuple) or not isinstance(question, str):
                raise TypeError
            choices = list(choices)
        except (KeyError, ValueError, SyntaxError, TypeError, MemoryError, RecursionError) as exc:
            raise EcombenchError(f"{name}:{number}: expected columns question, choices (a list), answer (an int)") from exc
        if letters:
            prompt = question + "".join(f"\n({smmlu.LETTERS[i]}) {c}" for i, c in enumerate(choices[:4]))
            prompt += "\n\nPlease answer the question with a single letter indicating the choice. \nAnswer: "
        else:
            prompt = question + "".join(f"\n{i}. {c}" for i, c in enumerate(choices[:4])) + "\nAnswer: "
        rows.append(make_record(task, "multiple-choice", metric, "shopping_mmlu", prompt, answer))
    return rows


def _type_metric(folder: str, task: str) -> str:
    """The metric ``task_wise_eval`` scores a per-type file by (hf_generation.py:39-54 for generation)."""
    if folder != "generation":
        return {"retrieval": "hit rate@3", "ranking": "ndcg", "named_entity_recognition": "micro f1"}[folder]
    if "extraction" in task:
        return "rougel"
    if "translation" in task:
        return "jp-bleu" if "JP" in task else "bleu"
    return "multilingual-sent-transformer" if "multilingual" in task else "sent-transformer"


def _jsonl_rows(name: str, data: bytes, track: str | None = None) -> list[dict[str, Any]]:
    """JSON Lines rows: ShopBench records (a skill file's rows take the file's skill as their track), or a
    per-type file's ``input_field``/``target_field`` pairs, whose type and metric come from the folder."""
    folder, task = PurePosixPath(name).parts[0], _task_of(name)
    rows = []
    for number, line in enumerate(_text(name, data).split("\n"), start=1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
            if not isinstance(obj, dict):
                raise EcombenchError(f"{name}:{number}: expected a JSON object, got {type(obj).__name__}")
            if track is not None:
                obj = {**obj, "track": track}
            elif folder in JSON_TYPE_FOLDERS and "target_field" in obj and "output_field" not in obj:
                obj = make_record(task, folder, _type_metric(folder, task), "shopping_mmlu", obj.get("input_field"), obj["target_field"])  # type: ignore[arg-type]
            rows.append(ShopBenchRecord.model_validate(obj).model_dump(exclude_none=True))
        except json.JSONDecodeError as exc:
            raise EcombenchError(f"{name}:{number}: not valid JSON ({exc.msg})") from exc
        except ValidationError as exc:
            raise EcombenchError(f"{name}:{number}: {describe(exc)}") from exc
        except (RecursionError, ValueError) as exc:  # nesting too deep, an integer of thousands of digits
            raise EcombenchError(f"{name}:{number}: not readable JSON ({type(exc).__name__})") from exc
    return rows


def read(source: Path, letter_choices: bool = False) -> ImportedSuite:
    """Skill files give every record with its skill (the track); without them, the per-type folders
    (``letter_choices``: their multiple choice as ``--use_letter_choices`` asks it)."""
    files = _files(source)
    suite = ImportedSuite("shopping-mmlu", [source] if source.is_file() else [])
    skills = sorted(n for n in files if n.startswith("skills/") and n.endswith(".json"))
    if skills:
        for name in skills:
            # The file is the skill (skill_wise_eval/skill_evaluation.py:15): its rows need no track.
            for row in _jsonl_rows(name, files[name], track=PurePosixPath(name).stem):
                suite.tasks.setdefault(row["task_name"], []).append(row)
    else:
        for name in sorted(files):
            folder = PurePosixPath(name).parts[0]
            if folder == "multiple_choice" and name.endswith(".csv"):
                rows = _mc_rows(name, files[name], letter_choices)
            elif folder in TYPE_FOLDERS and name.endswith(".json"):
                rows = _jsonl_rows(name, files[name])
            else:
                continue
            for row in rows:
                suite.tasks.setdefault(row["task_name"], []).append(row)
                suite.max_gen_toks[row["task_name"]] = smmlu.TASK_WISE_MAX_NEW_TOKENS[row["task_type"]]
    if source.is_dir():
        suite.sources = sorted(p for p in source.rglob("*") if p.is_file())
    return suite
