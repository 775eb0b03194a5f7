"""EcomGPT's evaluation folders (Alibaba-NLP/EcomGPT ``data/ecom_instruct_v1``), prompted and scored as
its own ``src/eval.py`` does.

Layout: ``<DATASET>/tasks/<LANG>-<DATASET>-<TYPE>-<TASK>/`` holding ``meta-info.json`` and
``test.json`` (JSON Lines despite its name). The folder name, not ``meta-info.json``'s ``task``, names
the task and gives its TYPE, as ``eval.py`` splits it; TYPE picks the class that renders the prompt and
scores the answer (``CLS``: ``EN_CLS``; ``NER``: ``EN_NER``; ``Extract``: ``EN_EXTRACT``;
``Condition_Extract``: ``EN_CONDITION_EXTRACT``; ``Generate``: ``EN_GEN``). The prompt is the class's
header line followed by ``test_prompt.instruction`` filled in, ending with ``### Response:``, the text
after which EcomGPT takes as the answer; every TYPE is one track. Scoring:
``ecombench.metrics.ecomgpt``.

A folder that cannot be read is named with its reason; the import fails unless ``skip_unreadable``,
which skips such folders with a warning on stderr.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any, TypeGuard

from ecombench.errors import EcombenchError
from ecombench.importers.writer import ImportedSuite
from ecombench.metrics import ecomgpt
from ecombench.metrics.parsers import literal
from ecombench.notices import warn
from ecombench.records import make_record

HEADER = "Below is an instruction that describes the {defi} task. Write a response that appropriately completes the request.\n"
FILES = ("meta-info.json", "test.json")
# TYPE -> (the EcomGPT class that eval.py picks for it, the metric that follows its rule); track: TYPE in lower case.
TYPES: dict[str, tuple[str, str]] = {
    "CLS": ("EN_CLS", ecomgpt.CLS_F1),
    "NER": ("EN_NER", ecomgpt.NER_F1),
    "Extract": ("EN_EXTRACT", ecomgpt.EXTRACT_ROUGE_L),
    "Condition_Extract": ("EN_CONDITION_EXTRACT", ecomgpt.CONDITION_EXTRACT_ROUGE_L),
    "Generate": ("EN_GEN", ecomgpt.GENERATE_ROUGE_L),
}


class _Unreadable(Exception):
    """Why one folder cannot be imported (the folder is added by the caller)."""


def _type_of(folder: Path) -> str:
    parts = folder.name.split("-")
    if len(parts) != 4 or not all(parts):
        raise _Unreadable("the folder name is not LANG-DATASET-TYPE-TASK (EcomGPT's eval.py splits it on '-' into 4 parts)")
    if parts[2] not in TYPES:
        raise _Unreadable(f"TYPE '{parts[2]}' is none of {', '.join(TYPES)}")
    return parts[2]


def _text(path: Path) -> str:
    if not path.is_file():
        raise _Unreadable(f"no {path.name}")
    try:
        return path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise _Unreadable(f"{path.name} is not UTF-8 text ({exc.reason})") from exc
    except OSError as exc:
        raise _Unreadable(f"{path.name}: cannot read ({exc.strerror})") from exc


_FIELD = re.compile(r"\{\{|\}\}|\{([^{}]*)\}|[{}]")
MAX_PROMPT_CHARS = 1 << 20  # a filled prompt: EcomGPT's are a few hundred characters, a long product text some thousands


def fill(template: str, **fields: str) -> str:
    """``template`` with each ``{name}`` of ``fields`` put in and ``{{``/``}}`` as one brace (``str.format``'s reading of
    the published templates), and nothing else: a format spec, conversion, index or attribute (``{sentences:>400000000}``,
    ``{0}``, ``{ex.__class__}``) is refused, never evaluated. A prompt that would be longer than ``MAX_PROMPT_CHARS``
    (a field put in 20,000 times) is refused before it is built."""
    parts: list[str] = []
    size = len(template)
    for match in _FIELD.finditer(template):
        text = match.group(0)
        if text in ("{{", "}}"):
            size -= 1
            continue
        if match.group(1) not in fields:
            shown = text if len(text) <= 40 else text[:37] + "..."
            raise _Unreadable(f"test_prompt.instruction: {shown!r} is not one of {', '.join('{' + f + '}' for f in fields)} (nothing else is filled in)")
        parts.append(match.group(1))
        size += len(fields[match.group(1)]) - len(text)
    if size > MAX_PROMPT_CHARS:
        counts = ", ".join(f"{{{name}}} {parts.count(name)} times" for name in dict.fromkeys(parts))
        raise _Unreadable(f"the filled prompt would be {size} characters ({counts}), over the {MAX_PROMPT_CHARS} limit")
    return _FIELD.sub(lambda m: m.group(0)[0] if m.group(0) in ("{{", "}}") else fields[m.group(1)], template)


def _meta(folder: Path) -> dict[str, Any]:
    try:
        meta = json.loads(_text(folder / "meta-info.json"))
    except json.JSONDecodeError as exc:
        raise _Unreadable(f"meta-info.json is not valid JSON ({exc.msg}, line {exc.lineno})") from exc
    except (RecursionError, ValueError) as exc:
        raise _Unreadable(f"meta-info.json is not readable JSON ({type(exc).__name__})") from exc
    if not isinstance(meta, dict):
        raise _Unreadable("meta-info.json is not a JSON object")
    if not isinstance(meta.get("defi"), str):
        raise _Unreadable("meta-info.json has no 'defi' (the task description the prompt names)")
    prompt = meta.get("test_prompt")
    if not isinstance(prompt, dict) or not isinstance(prompt.get("instruction"), str):
        raise _Unreadable("meta-info.json has no 'test_prompt': {'instruction': ...}")
    return meta


def _rows(folder: Path) -> list[tuple[int, dict[str, Any]]]:
    """test.json read as EcomGPT's load_data does: a JSON object a line (a Python literal also passes)."""
    rows = []
    for number, line in enumerate(_text(folder / "test.json").split("\n"), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError:
            try:
                row = literal(line.strip())
            except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
                raise _Unreadable(f"test.json:{number}: not a JSON object (test.json holds one per line)") from None
        if not isinstance(row, dict):
            raise _Unreadable(f"test.json:{number}: not a JSON object (test.json holds one per line)")
        rows.append((number, row))
    if not rows:
        raise _Unreadable("test.json has no rows")
    return rows


def _strings(value: Any) -> TypeGuard[list[str]]:
    return isinstance(value, list) and all(isinstance(v, str) for v in value)


def _meta_labels(meta: dict[str, Any]) -> list[str] | None:
    """``label_set[label_key]``, or None where the folder has no label set (two of the published do not)."""
    if "label_set" not in meta and "label_key" not in meta:
        return None
    key, sets = meta.get("label_key"), meta.get("label_set")
    if not isinstance(sets, dict) or not _strings(sets.get(key)):
        raise _Unreadable(f"meta-info.json: label_set has no list of strings under label_key {key!r}")
    return sets[key]


def _sentence(number: int, row: dict[str, Any]) -> str:
    value = row.get("sentences")
    if isinstance(value, str):
        return value
    if _strings(value):
        return "".join(value)  # a list of tokens, joined as EcomGPT does
    raise _Unreadable(f"test.json:{number}: no 'sentences' text")


def _terms(number: int, row: dict[str, Any], typed: bool) -> list[dict[str, Any]]:
    spans = row.get("spans")
    need = ("term", "type") if typed else ("term",)
    if not isinstance(spans, list) or not all(isinstance(s, dict) and all(isinstance(s.get(k), str) for k in need) for s in spans):
        raise _Unreadable(f"test.json:{number}: expected 'spans': [{{{', '.join(repr(k) + ': str' for k in need)}, ...}}, ...]")
    return spans


def _truth(kind: str, number: int, row: dict[str, Any], sentence: str, labels: list[str], meta: dict[str, Any], sep: str) -> Any:
    """The gold answer as the TYPE's class writes it (``answer`` of ``encode_to_input_output``)."""
    if kind == "CLS":
        gold = row["labels"].get(meta["label_key"]) if isinstance(row.get("labels"), dict) else None
        if not _strings(gold):
            raise _Unreadable(f"test.json:{number}: expected 'labels': {{{meta['label_key']!r}: [str, ...]}}")
        return sep.join(gold)
    spans = _terms(number, row, typed=kind == "NER")
    if kind == "NER":
        by_type: dict[str, list[str]] = {}
        for span in spans:
            by_type.setdefault(span["type"], []).append(span["term"])
        lines = [f"{label}: {sep.join(by_type.get(label, ['None']))}" for label in labels]
        return ["\n".join(lines), sentence]
    if kind == "Condition_Extract":
        return ", ".join(s["term"] for s in spans)  # EN_CONDITION_EXTRACT joins with ", " whatever label_sep says
    return sep.join(s["term"] for s in spans)


def _folder_rows(folder: Path, kind: str) -> tuple[list[dict[str, Any]], str]:
    meta = _meta(folder)
    cls, metric = TYPES[kind]
    sep = meta.get("label_sep", ecomgpt.LABEL_SEP)  # every published folder has ", "
    if not isinstance(sep, str) or not sep:
        raise _Unreadable("meta-info.json: label_sep is not a text")
    if kind in ("CLS", "NER") and sep != ecomgpt.LABEL_SEP:
        raise _Unreadable(f"label_sep {sep!r}: {kind} answers are scored split on ', ' (every published folder's label_sep)")
    if kind == "CLS" and not isinstance(meta.get("label_key"), str):
        raise _Unreadable("meta-info.json has no label_key (which list of each row's 'labels' is the answer)")
    header = HEADER.replace("{defi}", meta["defi"])
    template = meta["test_prompt"]["instruction"]
    fill(template, sentences="", label_set="", ex="")  # a field it cannot fill is refused before any row is read
    uses_labels = kind == "NER" or (kind in ("CLS", "Condition_Extract") and "{label_set}" in template)
    meta_labels = _meta_labels(meta) if uses_labels else None
    track = kind.lower()
    rows = []
    for number, row in _rows(folder):
        sentence = _sentence(number, row)
        labels: list[str] = []
        if uses_labels:
            own = row.get("label_set")
            chosen = own if _strings(own) and any(own) else meta_labels
            if chosen is None:
                raise _Unreadable(f"test.json:{number}: no label_set in the row, and meta-info.json has no label_set/label_key")
            labels = chosen
        try:
            prompt = header + fill(template, sentences=sentence, label_set=sep.join(labels), ex="")
        except _Unreadable as exc:
            raise _Unreadable(f"test.json:{number}: {exc}") from None
        truth = _truth(kind, number, row, sentence, labels, meta, sep)
        rows.append(make_record(folder.name, "generation", metric, track, prompt, truth))
    return rows, f"EcomGPT {folder.name}: {meta['defi']} ({kind}, scored as EcomGPT's {cls}: {metric})"


def _folders(source: Path) -> list[Path]:
    if source.is_file():
        return [source.parent] if source.name in FILES else []
    return sorted({p.parent for name in FILES for p in source.rglob(name) if p.is_file()})


# The `import` command's options this format takes, each to the keyword of `read` it sets.
OPTIONS: dict[str, str] = {"skip_unreadable": "skip_unreadable"}


def read(source: Path, skip_unreadable: bool = False) -> ImportedSuite:
    """Every task folder under ``source`` (the data folder, one dataset's folder or one task folder)."""
    folders = _folders(source)
    if not folders:
        raise EcombenchError(f"{source}: no EcomGPT task folders (LANG-DATASET-TYPE-TASK/ with meta-info.json and test.json)")
    suite = ImportedSuite("ecominstruct", [])
    unreadable: list[tuple[Path, str]] = []
    seen: dict[str, Path] = {}
    for folder in folders:
        try:
            if folder.name in seen:
                raise _Unreadable(f"the same task name as {seen[folder.name]}")
            rows, description = _folder_rows(folder, _type_of(folder))
        except _Unreadable as exc:
            unreadable.append((folder, " ".join(str(exc).split())))
            continue
        seen[folder.name] = folder
        suite.tasks[folder.name] = rows
        suite.descriptions[folder.name] = description
        suite.sources += [folder / name for name in FILES]
    if unreadable and not skip_unreadable:
        listed = "; ".join(f"{folder}: {why}" for folder, why in unreadable)
        raise EcombenchError(f"{len(unreadable)} of {len(folders)} EcomGPT task folders cannot be read: {listed} (pass --skip-unreadable to import the others)")
    for folder, why in unreadable:
        warn(f"skipped {folder}: {why}")
    if not suite.tasks:
        raise EcombenchError(f"{source}: no readable EcomGPT task folder")
    return suite
