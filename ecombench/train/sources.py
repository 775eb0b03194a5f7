"""Training sources in the layouts people publish, read as a stream, dirty rows counted and skipped.

A source is ``core`` (the ecombench-core training records, in two wordings: ``records.jsonl`` and ``benchmark.jsonl``, see ``ecombench.data.core``), ``suite:NAME`` (the ``train/`` folder of
a bundled or imported suite), a file, a folder (every ``.json``/``.jsonl`` file under it, sorted) or a
glob pattern. A file is a JSON array (its first character is ``[``: a published ShopBench-format
training set, LLaMA-Factory's Alpaca/ShareGPT files) or JSON Lines (any other ``.json``/``.jsonl``);
arrays are read element by element, never whole, so a file of any size costs one record of memory.

Each row is one of these formats, detected per row and counted per file:

========================  ====================================================================
format                    fields
========================  ====================================================================
``shopbench``             ``input_field`` / ``output_field`` (``task_name``, ``track``,
                          ``task_type`` optional; a row without a task name takes it from its
                          path: ``MCQ/SAP.json`` -> ``mcq_sap``)
``prompt-completion``     ``prompt`` / ``completion``
``alpaca``                ``instruction`` (+ ``input``) / ``output``; the prompt is
                          ``instruction + "\\n" + input`` as LLaMA-Factory builds it
``messages``              chat ``messages`` (``role``/``content``); trains on the last
                          assistant turn, the turns before it templated
``sharegpt``              ``conversations`` (``from``/``value``: human, gpt, system)
========================  ====================================================================

A row that cannot become a training record (an empty or non-string answer, an unknown layout, a
line that is not JSON) is counted by kind with its ``file:line`` and skipped; ``strict`` makes the
first one an error instead. Nothing is dropped without being counted.
"""

from __future__ import annotations

import glob
import json
import re
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ecombench.errors import EcombenchError
from ecombench.oracle import oracle_answer
from ecombench.paths import builtin_tasks_dir, user_tasks_dir

UNTAGGED = "untagged"  # task / track of a record that names none
FORMATS = ("shopbench", "prompt-completion", "alpaca", "messages", "sharegpt")
EXAMPLES_KEPT = 5  # file:line examples kept per kind of skipped row
_CHUNK = 1 << 20  # characters read at a time from a JSON array
_SHAREGPT_ROLES = {"human": "user", "user": "user", "gpt": "assistant", "assistant": "assistant", "system": "system", "model": "assistant"}


@dataclass(frozen=True)
class TrainRecord:
    prompt: str
    completion: str
    task: str = UNTAGGED
    track: str = UNTAGGED
    templated: bool = False  # the prompt is already rendered as the model sees it (chat records); not part of the data hash
    where: str = ""  # file:line it came from; not part of the data hash
    task_type: str = ""  # ShopBench task type when the row names one; not part of the data hash


class BadRow(Exception):
    """A row that cannot become a training record: ``kind`` groups it in the summary."""

    def __init__(self, kind: str, why: str) -> None:
        super().__init__(why)
        self.kind, self.why = kind, why


@dataclass
class Skipped:
    """Rows left out, by kind, with the first few ``file:line: why`` of each kind."""

    strict: bool = False
    counts: Counter = field(default_factory=Counter)
    examples: dict[str, list[str]] = field(default_factory=dict)

    def add(self, where: str, bad: BadRow) -> None:
        if self.strict:
            raise EcombenchError(f"{where}: {bad.why} (--strict refuses any bad row; without it the row is skipped and counted)")
        self.counts[bad.kind] += 1
        kept = self.examples.setdefault(bad.kind, [])
        if len(kept) < EXAMPLES_KEPT:
            kept.append(f"{where}: {bad.why}")

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def as_dict(self) -> dict[str, Any]:
        return {"rows": self.total, "by_kind": dict(sorted(self.counts.items())), "examples": {k: v for k, v in sorted(self.examples.items())}}

    def line(self) -> str:
        """One line for the terminal: how many, of which kind, the first place of each."""
        kinds = ", ".join(f"{n} {kind} (first at {self.examples[kind][0].split(': ')[0]})" for kind, n in sorted(self.counts.items()))
        return f"skipped {self.total} bad row(s): {kinds}; --strict refuses them instead"


@dataclass(frozen=True)
class SourceFile:
    source: str  # the spec the user gave
    path: Path
    root: Path | None  # a folder or glob source's base folder: task names come from the path below it


# ---------------------------------------------------------------------------------------------- files


def _suite_train_dir(name: str) -> Path:
    for base in (builtin_tasks_dir(), user_tasks_dir()):
        folder = base / name / "train"
        if folder.is_dir():
            return folder
    raise EcombenchError(f"data source suite:{name}: no suite of that name has a train/ folder (bundled or in {user_tasks_dir()})")


def core_records_path() -> Path:
    """The ecombench-core records worded with other templates than the evaluation (few-shot pool, warm-up)."""
    return builtin_tasks_dir() / "core" / "train" / "records.jsonl"


def core_benchmark_path() -> Path:
    """The ecombench-core records worded as the evaluation words its questions (``ecombench.data.core``)."""
    return builtin_tasks_dir() / "core" / "train" / "benchmark.jsonl"


def _data_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.suffix in (".json", ".jsonl") and p.is_file() and not any(part.startswith(".") for part in p.parts))


def expand(source: str) -> list[SourceFile]:
    """The files a source names; a source that names none is an error (checked before any model loads)."""
    if source == "core":
        return [SourceFile(source, core_records_path(), None), SourceFile(source, core_benchmark_path(), None)]
    if source.startswith("suite:"):
        folder = _suite_train_dir(source.removeprefix("suite:"))
        return [SourceFile(source, p, folder) for p in _data_files(folder)]
    if any(ch in source for ch in "*?["):
        pattern = Path(source).expanduser()
        fixed = [part for part in pattern.parts[: next(i for i, part in enumerate(pattern.parts) if any(ch in part for ch in "*?["))]]
        root = Path(*fixed) if fixed else Path(".")
        found = sorted(Path(p) for p in glob.glob(str(pattern), recursive=True) if Path(p).is_file())
        if not found:
            raise EcombenchError(f"data source {source}: the pattern matches no file")
        return [SourceFile(source, p, root) for p in found]
    path = Path(source).expanduser()
    if path.is_dir():
        files = _data_files(path)
        if not files:
            raise EcombenchError(f"data source {source}: the folder holds no .json or .jsonl file")
        return [SourceFile(source, p, path) for p in files]
    if not path.is_file():
        raise EcombenchError(f"data source {source}: no such file or folder")
    return [SourceFile(source, path, None)]


def task_from_path(file: SourceFile) -> str:
    """A task name for rows that name none: the path below the source folder, and at least the file's folder and
    stem (``MCQ/SAP.json`` -> ``mcq_sap``, however the file was named: as a file, in its folder or by a glob)."""
    parts: tuple[str, ...] = ()
    if file.root is not None:
        try:
            parts = file.path.relative_to(file.root).with_suffix("").parts
        except ValueError:
            parts = ()
    if len(parts) < 2:
        parts = (file.path.parent.name, file.path.stem)
    name = re.sub(r"[^0-9a-z]+", "_", "_".join(parts).lower()).strip("_")
    return name or UNTAGGED


def container(path: Path) -> str:
    """``JSON array`` or ``JSON Lines``, from the first character that is not white space."""
    try:
        with path.open("rb") as handle:
            while chunk := handle.read(4096):
                stripped = chunk.lstrip()
                if stripped:
                    return "JSON array" if stripped.startswith(b"[") else "JSON Lines"
    except OSError as exc:
        raise EcombenchError(f"{path}: cannot read ({exc.strerror})") from exc
    return "JSON Lines"


def iter_rows(path: Path) -> Iterator[tuple[int, Any]]:
    """(line, row) of every row of a JSON array or JSON Lines file, streamed; a JSON Lines line that is not
    JSON is yielded as a :class:`BadRow` (the next line is read as usual)."""
    kind = container(path)
    try:
        if kind == "JSON array":
            yield from _iter_array(path)
        else:
            yield from _iter_lines(path)
    except UnicodeDecodeError as exc:
        raise EcombenchError(f"{path}: not UTF-8 text ({exc.reason})") from exc


def _iter_lines(path: Path) -> Iterator[tuple[int, Any]]:
    with path.open(encoding="utf-8", newline="\n") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                yield number, json.loads(line)
            except (ValueError, RecursionError) as exc:
                yield number, BadRow("malformed JSON", f"not valid JSON ({getattr(exc, 'msg', None) or str(exc).split(';')[0]})")


def _iter_array(path: Path) -> Iterator[tuple[int, Any]]:
    """Elements of a top-level JSON array, one at a time, with the line each starts on."""
    decoder = json.JSONDecoder()
    with path.open(encoding="utf-8", newline="") as handle:
        buf, pos, line, eof = "", 0, 1, False

        def more() -> bool:
            nonlocal buf, pos, eof
            if eof:
                return False
            chunk = handle.read(_CHUNK)
            eof = not chunk
            buf, pos = buf[pos:] + chunk, 0
            return bool(chunk)

        def skip_space() -> str:
            nonlocal pos, line
            while True:
                while pos < len(buf) and buf[pos] in " \t\r\n":
                    line += buf[pos] == "\n"
                    pos += 1
                if pos < len(buf) or not more():
                    return buf[pos] if pos < len(buf) else ""

        if skip_space() != "[":
            raise EcombenchError(f"{path}:{line}: expected a JSON array")
        pos += 1
        first = True
        while True:
            ch = skip_space()
            if ch == "]":
                return
            if not first:
                if ch != ",":
                    raise EcombenchError(f"{path}:{line}: the JSON array is broken here (expected ',' or ']'); rows after it cannot be read")
                pos += 1
                skip_space()
            first = False
            start_line = line
            while True:
                try:
                    obj, end = decoder.raw_decode(buf, pos)
                except json.JSONDecodeError as exc:
                    if more():
                        continue
                    raise EcombenchError(f"{path}:{start_line}: not valid JSON in the array ({exc.msg}); rows after it cannot be read") from exc
                except (RecursionError, ValueError) as exc:
                    raise EcombenchError(f"{path}:{start_line}: a JSON value in the array cannot be read ({str(exc).split(';')[0]})") from exc
                if end == len(buf) and more():  # a number cut by the chunk's end: read on and decode again
                    continue
                break
            line += buf.count("\n", pos, end)
            pos = end
            yield start_line, obj


# ---------------------------------------------------------------------------------------------- rows


def detect(row: dict[str, Any]) -> str:
    if "input_field" in row and "output_field" in row:
        return "shopbench"
    if "prompt" in row and "completion" in row:
        return "prompt-completion"
    if "instruction" in row and "output" in row:
        return "alpaca"
    if "messages" in row:
        return "messages"
    if "conversations" in row:
        return "sharegpt"
    raise BadRow("unknown layout", f"no known record layout (keys: {', '.join(sorted(map(str, row))[:6]) or 'none'}); expected one of {', '.join(FORMATS)}")


def _text(value: Any, name: str, *, answer: bool = False) -> str:
    if not isinstance(value, str):
        raise BadRow("non-string field", f"'{name}' is {type(value).__name__}, not a string")
    if answer and not value.strip():
        raise BadRow("empty answer", f"'{name}' is empty")
    if not answer and not value.strip():
        raise BadRow("empty prompt", f"'{name}' is empty")
    return value


def _chat(messages: Any, name: str, chat_template: Callable[[list[dict[str, str]]], str] | None) -> tuple[str, str]:
    if not isinstance(messages, list) or not messages or not all(isinstance(m, dict) and "role" in m and "content" in m for m in messages):
        raise BadRow("bad chat turns", f"'{name}' must be a list of {{role, content}} objects")
    if messages[-1]["role"] != "assistant":
        raise BadRow("bad chat turns", "the last turn must be the assistant's answer")
    answer = _text(messages[-1]["content"], f"{name}[-1].content", answer=True)
    if not all(isinstance(m["content"], str) for m in messages):
        raise BadRow("non-string field", f"a turn of '{name}' has content that is not a string")
    if chat_template is None:
        raise EcombenchError("chat records need a tokenizer with a chat template, and this model has none")
    return chat_template(messages[:-1]), answer


def to_record(row: Any, where: str, path_task: str, chat_template: Callable[[list[dict[str, str]]], str] | None) -> tuple[str, TrainRecord]:
    """(format, record) of one row; a row that cannot be one raises :class:`BadRow`."""
    if isinstance(row, BadRow):
        raise row
    if not isinstance(row, dict):
        raise BadRow("not an object", f"expected a JSON object, got {type(row).__name__}")
    fmt = detect(row)
    task = row.get("task") or row.get("task_name")
    track = row.get("track")
    if (task is not None and not isinstance(task, str)) or (track is not None and not isinstance(track, str)):
        raise BadRow("non-string field", "'task_name' and 'track' must be strings")
    task_type = str(row["task_type"]) if isinstance(row.get("task_type"), str) else ""
    templated = False
    if fmt == "shopbench":
        prompt = _text(row["input_field"], "input_field")
        truth = row["output_field"]
        if isinstance(truth, str):
            completion = _text(truth, "output_field", answer=True)
        elif truth is None or truth == [] or isinstance(truth, bool | dict):
            raise BadRow("empty answer" if truth in (None, []) else "non-string field", f"'output_field' is {json.dumps(truth)}")
        else:
            try:
                metric = row["metric"] if isinstance(row.get("metric"), str) else None
                completion = _text(oracle_answer(task_type or "generation", truth, metric=metric), "output_field", answer=True)
            except (TypeError, ValueError, IndexError) as exc:
                raise BadRow("non-string field", f"'output_field' does not fit task_type {task_type or 'generation'!r}") from exc
        task = task or path_task
    elif fmt == "prompt-completion":
        prompt, completion = _text(row["prompt"], "prompt"), _text(row["completion"], "completion", answer=True)
    elif fmt == "alpaca":
        instruction = _text(row["instruction"], "instruction")
        extra = row.get("input") or ""
        if not isinstance(extra, str):
            raise BadRow("non-string field", f"'input' is {type(extra).__name__}, not a string")
        prompt = instruction + ("\n" + extra if extra else "")
        completion = _text(row["output"], "output", answer=True)
    elif fmt == "messages":
        prompt, completion = _chat(row["messages"], "messages", chat_template)
        templated = True
    else:
        turns = row["conversations"]
        if not isinstance(turns, list) or not all(isinstance(t, dict) and t.get("from") in _SHAREGPT_ROLES and "value" in t for t in turns):
            raise BadRow("bad chat turns", "'conversations' must be a list of {from: human|gpt|system, value} objects")
        prompt, completion = _chat([{"role": _SHAREGPT_ROLES[t["from"]], "content": t["value"]} for t in turns], "conversations", chat_template)
        templated = True
    return fmt, TrainRecord(prompt, completion, str(task or UNTAGGED), str(track or UNTAGGED), templated, where, task_type)


@dataclass
class FileSummary:
    source: str
    path: str
    container: str
    formats: Counter = field(default_factory=Counter)
    records: int = 0
    skipped: int = 0
    sha256: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "path": str(Path(self.path).resolve()),
            "container": self.container,
            "formats": dict(self.formats),
            "records": self.records,
            "skipped": self.skipped,
            "sha256": self.sha256,
        }

    def line(self) -> str:
        kinds = ", ".join(f"{fmt} rows" for fmt in self.formats) or "no readable rows"
        extra = f", {self.skipped} skipped" if self.skipped else ""
        return f"{self.path}: {self.container} of {kinds} ({self.records} records{extra})"


def stream(
    sources: list[str],
    chat_template: Callable[[list[dict[str, str]]], str] | None = None,
    *,
    skipped: Skipped | None = None,
    files: list[FileSummary] | None = None,
) -> Iterator[TrainRecord]:
    """Every record of every source, in order; bad rows go to ``skipped``, each file's summary to ``files``."""
    from ecombench.models import file_hash

    if not sources:
        raise EcombenchError("data.sources is empty: name 'core', files, folders or glob patterns")
    skipped = skipped if skipped is not None else Skipped()
    expanded = [f for source in sources for f in expand(source)]
    for file in expanded:
        summary = FileSummary(file.source, str(file.path), container(file.path), sha256=file_hash(file.path))
        path_task = task_from_path(file)
        for line, row in iter_rows(file.path):
            where = f"{file.path}:{line}"
            try:
                fmt, record = to_record(row, where, path_task, chat_template)
            except BadRow as bad:
                summary.skipped += 1
                skipped.add(where, bad)
                continue
            summary.formats[fmt] += 1
            summary.records += 1
            yield record
        if files is not None:
            files.append(summary)
