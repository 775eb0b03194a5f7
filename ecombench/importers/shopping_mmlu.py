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
from typing import IO, Any

from pydantic import ValidationError

from ecombench.errors import EcombenchError
from ecombench.importers.writer import ImportedSuite
from ecombench.io import bounded_lines, open_regular
from ecombench.metrics import TASK_WISE_ACCURACY, TASK_WISE_LETTER_ACCURACY, TASK_WISE_RATING_LETTER_ACCURACY
from ecombench.metrics import shopping_mmlu as smmlu
from ecombench.metrics.parsers import literal
from ecombench.records import ShopBenchRecord, describe, make_record

TYPE_FOLDERS = ("multiple_choice", "retrieval", "ranking", "named_entity_recognition", "generation")
JSON_TYPE_FOLDERS = TYPE_FOLDERS[1:]


MAX_MEMBER_BYTES = 256 << 20  # the largest Shopping MMLU file is a few MB
MAX_TOTAL_BYTES = 256 << 20  # ... and all of them together some tens of MB
MAX_RATIO = 100  # uncompressed / compressed: text compresses 3-10x, a zip bomb 1000x


class _Counted(io.RawIOBase):
    """A zip member's stream that stops with an error past ``limit`` bytes (its headers may lie)."""

    def __init__(self, inner: IO[bytes], limit: int, members: _Members, name: str) -> None:
        self.inner, self.limit, self.members, self.name, self.read_bytes = inner, limit, members, name, 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        try:
            data = self.inner.read(len(buffer))
        except (zipfile.BadZipFile, OSError, NotImplementedError, RuntimeError, EOFError) as exc:
            raise EcombenchError(f"{self.members.source}: cannot unpack {self.name} ({exc})") from exc
        self.read_bytes += len(data)
        self.members.unpacked += len(data)
        if self.read_bytes > self.limit or self.members.unpacked > MAX_TOTAL_BYTES:
            raise EcombenchError(f"{self.members.source}: {self.name} unpacks to more than its header says; not unpacked (a zip bomb?)")
        buffer[: len(data)] = data
        return len(data)

    def close(self) -> None:
        self.inner.close()
        super().close()


class _Members(Mapping[str, str]):
    """Relative path -> its name in the folder or zip; ``open`` reads one as a stream (a zip's unused members are
    never unpacked), refused past ``MAX_MEMBER_BYTES``, past ``MAX_RATIO`` times its compressed size in a zip, or
    when the members used come to more than ``MAX_TOTAL_BYTES`` (``reserve``, before any is read)."""

    def __init__(self, source: Path, paths: dict[str, str], archive: zipfile.ZipFile | None) -> None:
        self.source, self.paths, self.archive = source, paths, archive
        self.unpacked = 0

    def _size(self, key: str) -> tuple[int, int]:
        """Unpacked and compressed size, as the zip's header (or the folder) says."""
        if self.archive is None:
            try:
                size = (self.source / self.paths[key]).stat().st_size
            except OSError:
                return 0, 0  # open says why
            return size, size
        info = self.archive.getinfo(self.paths[key])
        return info.file_size, info.compress_size

    def reserve(self, keys: list[str]) -> None:
        """Refuse, before reading any, members whose sizes come to more than ``MAX_TOTAL_BYTES`` in all."""
        total = sum(self._size(key)[0] for key in keys)
        if total > MAX_TOTAL_BYTES:
            raise EcombenchError(
                f"{self.source}: the {len(keys)} files used unpack to {total} bytes in all, over the {MAX_TOTAL_BYTES >> 20} MiB limit; "
                "not unpacked (a zip bomb?)"
            )

    def open(self, key: str) -> IO[bytes]:
        name = self.paths[key]
        if self.archive is None:
            path = self.source / name
            try:
                return open_regular(path, "", MAX_MEMBER_BYTES)
            except FileNotFoundError as exc:
                raise EcombenchError(f"{path}: cannot read (no such file)") from exc
        size, compressed = self._size(key)
        limit = min(MAX_MEMBER_BYTES, MAX_RATIO * max(compressed, 1 << 10))
        if size > limit:
            raise EcombenchError(f"{self.source}: {name} unpacks to {size} bytes from {compressed}; not unpacked (a zip bomb?)")
        try:
            inner = self.archive.open(self.archive.getinfo(name))
        except (zipfile.BadZipFile, OSError, NotImplementedError, RuntimeError) as exc:
            raise EcombenchError(f"{self.source}: cannot unpack {name} ({exc})") from exc
        return io.BufferedReader(_Counted(inner, limit, self, name))

    def __getitem__(self, key: str) -> str:
        return self.paths[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self.paths)

    def __len__(self) -> int:
        return len(self.paths)


def _files(source: Path) -> _Members:
    """Relative path (from the folder holding ``skills/`` or the type folders) -> its file, opened when used."""
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


def _lines(name: str, stream: IO[bytes]) -> Iterator[str]:
    """The member's lines as text, read a line at a time (each at most ``MAX_LINE_BYTES``), split at ``\\n`` only
    (as before, when the whole file was decoded and split); non-UTF-8 bytes are one error with their offset."""
    offset = 0
    with stream:
        for _, line in bounded_lines(stream, name):
            try:
                yield line.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise EcombenchError(f"{name}: not UTF-8 text (byte {offset + exc.start})") from exc
            offset += len(line)


def _task_of(name: str) -> str:
    return PurePosixPath(name).stem.removesuffix("_dataset")


def _mc_rows(name: str, lines: Iterator[str], letters: bool = False) -> list[dict[str, Any]]:
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
    reader = enumerate(csv.DictReader(lines), start=2)
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


def _jsonl_rows(name: str, lines: Iterator[str], track: str | None = None) -> list[dict[str, Any]]:
    """JSON Lines rows: ShopBench records (a skill file's rows take the file's skill as their track), or a
    per-type file's ``input_field``/``target_field`` pairs, whose type and metric come from the folder."""
    folder, task = PurePosixPath(name).parts[0], _task_of(name)
    rows = []
    for number, line in enumerate(lines, start=1):
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


def _kind(name: str) -> str | None:
    """How a per-type folder's file is read: "csv" (multiple choice), "jsonl", or None (not used)."""
    folder = PurePosixPath(name).parts[0]
    if folder == "multiple_choice" and name.endswith(".csv"):
        return "csv"
    return "jsonl" if folder in TYPE_FOLDERS and name.endswith(".json") else None


# The `import` command's options this format takes, each to the keyword of `read` it sets.
OPTIONS: dict[str, str] = {"letter_choices": "letter_choices"}


def read(source: Path, letter_choices: bool = False) -> ImportedSuite:
    """Skill files give every record with its skill (the track); without them, the per-type folders
    (``letter_choices``: their multiple choice as ``--use_letter_choices`` asks it)."""
    files = _files(source)
    suite = ImportedSuite("shopping-mmlu", [source] if source.is_file() else [])
    skills = sorted(n for n in files if n.startswith("skills/") and n.endswith(".json"))
    if skills:
        files.reserve(skills)
        for name in skills:
            # The file is the skill (skill_wise_eval/skill_evaluation.py:15): its rows need no track.
            for row in _jsonl_rows(name, _lines(name, files.open(name)), track=PurePosixPath(name).stem):
                suite.tasks.setdefault(row["task_name"], []).append(row)
    else:
        used = [n for n in sorted(files) if _kind(n) is not None]
        files.reserve(used)
        for name in used:
            lines = _lines(name, files.open(name))
            rows = _mc_rows(name, lines, letter_choices) if _kind(name) == "csv" else _jsonl_rows(name, lines)
            for row in rows:
                suite.tasks.setdefault(row["task_name"], []).append(row)
                suite.max_gen_toks[row["task_name"]] = smmlu.TASK_WISE_MAX_NEW_TOKENS[row["task_type"]]
    if source.is_dir():
        suite.sources = sorted(p for p in source.rglob("*") if p.is_file())
    return suite
