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
line that is not JSON, chat turns the model's chat template refuses, text after a JSON array's closing
``]``) is counted by kind with its ``file:line`` and skipped; a file with no row at all (0 bytes, blank,
``[]``) is counted and skipped whole. A multiple-choice row whose answer is not among the options its
prompt lists is *flagged*: counted with its ``file:line`` and still trained on. ``strict`` makes the first
of any of these an error instead. Nothing is dropped without being counted. A UTF-8 byte-order mark at a
file's start is read past.
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


_BOM = b"\xef\xbb\xbf"  # a UTF-8 byte-order mark (Windows editors write one); "utf-8-sig" reads past it
# A multiple-choice option as ShopBench prompts list them: a line "N. text" (leading spaces allowed).
_OPTION_LINE = re.compile(r"[ \t]*(\d+)\.[ \t]")


class BadRow(Exception):
    """A row that cannot become a training record: ``kind`` groups it in the summary."""

    def __init__(self, kind: str, why: str) -> None:
        super().__init__(why)
        self.kind, self.why = kind, why


@dataclass
class Skipped:
    """Rows left out, by kind, with the first few ``file:line: why`` of each kind; and files with no row at all."""

    strict: bool = False
    counts: Counter = field(default_factory=Counter)
    examples: dict[str, list[str]] = field(default_factory=dict)
    files: list[str] = field(default_factory=list)  # "path: why" of each file skipped whole (it holds no row)

    def add(self, where: str, bad: BadRow) -> None:
        if self.strict:
            raise EcombenchError(f"{where}: {bad.why} (--strict refuses any bad row; without it the row is skipped and counted)")
        self.counts[bad.kind] += 1
        kept = self.examples.setdefault(bad.kind, [])
        if len(kept) < EXAMPLES_KEPT:
            kept.append(f"{where}: {bad.why}")

    def add_file(self, path: str, why: str) -> None:
        if self.strict:
            raise EcombenchError(f"{path}: {why} (--strict refuses an empty file; without it the file is skipped and counted)")
        self.files.append(f"{path}: {why}")

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def as_dict(self) -> dict[str, Any]:
        out = {"rows": self.total, "by_kind": dict(sorted(self.counts.items())), "examples": {k: v for k, v in sorted(self.examples.items())}}
        return {**out, "empty_files": list(self.files)} if self.files else out

    def line(self) -> str:
        """One line for the terminal: how many, of which kind, the first place of each; the files skipped whole."""
        kinds = ", ".join(f"{n} {kind} (first at {self.examples[kind][0].split(': ')[0]})" for kind, n in sorted(self.counts.items()))
        parts = [f"skipped {self.total} bad row(s): {kinds}"] if self.total else []
        if self.files:
            parts.append(f"skipped {len(self.files)} empty file(s): {', '.join(f.split(': ')[0] for f in self.files)}")
        return "; ".join(parts) + "; --strict refuses them instead"


@dataclass
class Flagged:
    """Rows trained on but doubtful (a multiple-choice answer that is not among its options), by kind, with the
    first few ``file:line: why`` of each kind and every ``file:line``."""

    strict: bool = False
    counts: Counter = field(default_factory=Counter)
    examples: dict[str, list[str]] = field(default_factory=dict)
    places: list[str] = field(default_factory=list)

    def add(self, where: str, kind: str, why: str) -> None:
        if self.strict:
            raise EcombenchError(f"{where}: {why} (--strict refuses a flagged row; without it the row is trained on and counted)")
        self.counts[kind] += 1
        self.places.append(where)
        kept = self.examples.setdefault(kind, [])
        if len(kept) < EXAMPLES_KEPT:
            kept.append(f"{where}: {why}")

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def as_dict(self, *, places: bool = False) -> dict[str, Any]:
        out = {"rows": self.total, "by_kind": dict(sorted(self.counts.items())), "examples": {k: v for k, v in sorted(self.examples.items())}}
        return {**out, "places": list(self.places)} if places else out

    def line(self) -> str:
        kinds = ", ".join(f"{n} {kind} (first at {self.examples[kind][0].split(': ')[0]})" for kind, n in sorted(self.counts.items()))
        return f"flagged {self.total} row(s), trained on: {kinds}; --strict refuses them instead"


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
    """The ``.json``/``.jsonl`` files under ``folder``, sorted; hidden names (``.git``, ``.cache``) are skipped only
    below it: the folder's own path may hold any (``~/.ecombench``, ``..``, ``.venv``)."""
    return sorted(
        p
        for p in folder.rglob("*")
        if p.suffix in (".json", ".jsonl") and p.is_file() and not any(part.startswith(".") for part in p.relative_to(folder).parts)
    )


def expand(source: str) -> list[SourceFile]:
    """The files a source names; a source that names none is an error (checked before any model loads)."""
    if source == "core":
        return [SourceFile(source, core_records_path(), None), SourceFile(source, core_benchmark_path(), None)]
    if source.startswith("suite:"):
        folder = _suite_train_dir(source.removeprefix("suite:"))
        files = _data_files(folder)
        if not files:
            raise EcombenchError(f"data source {source}: its train/ folder {folder} holds no .json or .jsonl file")
        return [SourceFile(source, p, folder) for p in files]
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
    """``JSON array`` or ``JSON Lines``, from the first character that is not white space (``empty`` if none)."""
    try:
        with path.open("rb") as handle:
            first = True
            while chunk := handle.read(4096):
                stripped = (chunk.removeprefix(_BOM) if first else chunk).lstrip()
                first = False
                if stripped:
                    return "JSON array" if stripped.startswith(b"[") else "JSON Lines"
    except OSError as exc:
        raise EcombenchError(f"{path}: cannot read ({exc.strerror})") from exc
    return "empty"


def iter_rows(path: Path) -> Iterator[tuple[int, Any]]:
    """(line, row) of every row of a JSON array or JSON Lines file, streamed; a JSON Lines line that is not
    JSON is yielded as a :class:`BadRow` (the next line is read as usual)."""
    kind = container(path)
    try:
        if kind == "JSON array":
            yield from _iter_array(path)
        elif kind == "JSON Lines":
            yield from _iter_lines(path)
    except UnicodeDecodeError as exc:
        raise EcombenchError(f"{path}: not UTF-8 text ({exc.reason})") from exc


def _iter_lines(path: Path) -> Iterator[tuple[int, Any]]:
    with path.open(encoding="utf-8-sig", newline="\n") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                yield number, json.loads(line)
            except (ValueError, RecursionError) as exc:
                yield number, BadRow("malformed JSON", f"not valid JSON ({getattr(exc, 'msg', None) or str(exc).split(';')[0]})")


def _iter_array(path: Path) -> Iterator[tuple[int, Any]]:
    """Elements of a top-level JSON array, one at a time, with the line each starts on; text after the array's
    closing ``]`` is one :class:`BadRow` at the line it starts on (a second array, appended JSON Lines, garbage)."""
    decoder = json.JSONDecoder()
    with path.open(encoding="utf-8-sig", newline="") as handle:
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
                pos += 1
                if skip_space():  # counted, never parsed: it may be anything
                    shown = buf[pos : pos + 40].split("\n")[0]
                    yield line, BadRow("text after the array", f"the file goes on after its JSON array's closing ']' (with {shown!r}); not read")
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
    return chat_template(messages[:-1]), answer  # a template that refuses the turns raises BadRow (model_chat_template)


def plain_chat(messages: list[dict[str, str]]) -> str:
    """Chat turns as plain ``role: content`` lines: how ``data inspect`` reads chat rows without a model (to count words)."""
    return "".join(f"{m['role']}: {m['content']}\n" for m in messages) + "assistant: "


def model_chat_template(model_path: Path) -> Callable[[list[dict[str, str]]], str]:
    """A function applying the model's chat template (its tokenizer is loaded at the first chat row). Turns the
    template refuses (roles that do not alternate, a system turn it has no place for) are a :class:`BadRow`."""
    state: dict[str, Any] = {}

    def apply(messages: list[dict[str, str]]) -> str:
        if "tok" not in state:
            from transformers import AutoTokenizer

            state["tok"] = AutoTokenizer.from_pretrained(model_path)
        tok = state["tok"]
        if not getattr(tok, "chat_template", None):
            raise EcombenchError(f"chat records need a tokenizer with a chat template, and {model_path} has none")
        from jinja2 import TemplateError

        try:
            return str(tok.apply_chat_template(messages, tokenize=False, add_generation_prompt=True))
        except TemplateError as exc:
            raise BadRow("chat template refuses", f"the model's chat template refuses these turns ({exc})") from exc

    return apply


def listed_options(prompt: str) -> list[int]:
    """The option numbers a multiple-choice prompt lists, as ShopBench lists them (``0. xxx\\n1. yyy``): the last run
    of two or more consecutive lines ``N. text`` (one numbered line, or numbered paragraphs apart, is not a list)."""
    runs: list[list[int]] = []
    run: list[int] = []
    for line in [*prompt.split("\n"), ""]:
        if match := _OPTION_LINE.match(line):
            run.append(int(match.group(1)))
            continue
        if len(run) >= 2:
            runs.append(run)
        run = []
    return runs[-1] if runs else []


def answer_not_among_options(row: dict[str, Any]) -> str | None:
    """Why a ShopBench multiple-choice row's answer (an option index) is not one of the options its prompt lists,
    or None (also for a row that lists no options, or whose answer is not an index)."""
    if row.get("task_type") != "multiple-choice" or not isinstance(row.get("input_field"), str):
        return None
    truth = row.get("output_field")
    if isinstance(truth, str) and truth.strip().isdigit():
        truth = int(truth.strip())
    if not isinstance(truth, int) or isinstance(truth, bool):
        return None
    options = listed_options(row["input_field"])
    if not options or truth in options:
        return None
    return f"the answer {truth} is not among the options the prompt lists ({', '.join(map(str, options))})"


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
    flagged: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "path": str(Path(self.path).resolve()),
            "container": self.container,
            "formats": dict(self.formats),
            "records": self.records,
            "skipped": self.skipped,
            "flagged": self.flagged,
            "sha256": self.sha256,
        }

    def line(self) -> str:
        if not self.records and not self.skipped:
            return f"{self.path}: empty (no rows), skipped"
        kinds = ", ".join(f"{fmt} rows" for fmt in self.formats) or "no readable rows"
        extra = (f", {self.skipped} skipped" if self.skipped else "") + (f", {self.flagged} flagged" if self.flagged else "")
        return f"{self.path}: {self.container} of {kinds} ({self.records} records{extra})"


def stream(
    sources: list[str],
    chat_template: Callable[[list[dict[str, str]]], str] | None = None,
    *,
    skipped: Skipped | None = None,
    files: list[FileSummary] | None = None,
    flagged: Flagged | None = None,
) -> Iterator[TrainRecord]:
    """Every record of every source, in order; bad rows and files with no row go to ``skipped``, doubtful rows
    (still yielded) to ``flagged``, each file's summary to ``files``."""
    from ecombench.models import file_hash

    if not sources:
        raise EcombenchError("data.sources is empty: name 'core', files, folders or glob patterns")
    skipped = skipped if skipped is not None else Skipped()
    flagged = flagged if flagged is not None else Flagged(strict=skipped.strict)
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
            if fmt == "shopbench" and (why := answer_not_among_options(row)):
                summary.flagged += 1
                flagged.add(where, "answer not among the options", why)
            summary.formats[fmt] += 1
            summary.records += 1
            yield record
        if not summary.records and not summary.skipped:
            skipped.add_file(str(file.path), "empty (no rows)")
        if files is not None:
            files.append(summary)
