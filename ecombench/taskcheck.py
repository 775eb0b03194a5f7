"""``ecombench tasks show / validate / new``: look at a task, check a user's task, scaffold one."""

from __future__ import annotations

import json
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from ecombench.errors import EcombenchError
from ecombench.metrics import METRIC_NAMES, METRICS_BY_TASK_TYPE
from ecombench.metrics.parsers import TASK_TYPES
from ecombench.paths import resolve_data_path
from ecombench.records import ShopBenchRecord, describe, iter_jsonl, make_record
from ecombench.taskindex import TaskInfo, read_yaml

REQUIRED_KEYS = ("task", "custom_dataset", "dataset_kwargs", "process_results", "metric_list")
REQUIRED_METADATA = ("track", "task_type", "metric", "version", "description")
SCAFFOLD_TODO = "TODO"  # how `tasks new` starts the description it leaves to the user


@dataclass(frozen=True)
class Problem:
    file: Path
    line: int | None
    message: str
    warning: bool = False  # reported, but the task still runs (e.g. a repeated prompt)

    def __str__(self) -> str:
        return f"{self.file}{f':{self.line}' if self.line else ''}: {'warning: ' if self.warning else ''}{self.message}"


def _problem(path: Path, exc: EcombenchError) -> Problem:
    """An error about ``path`` (``PATH:LINE: message`` or ``PATH: message``) as a Problem, so that it prints in the
    ``file:line:`` form editors jump to, as every other problem does."""
    text = str(exc)
    for prefix in (str(path.resolve()), str(path)):
        if text.startswith(prefix):
            rest = text.removeprefix(prefix)
            found = re.match(r":(\d+): ", rest)
            return Problem(path, int(found.group(1)), rest[found.end() :]) if found else Problem(path, None, rest.lstrip(": ") or text)
    return Problem(path, None, text)


def _key_line(path: Path, key: str) -> int | None:
    for number, text in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if text.startswith(f"{key}:") or text.strip().startswith(f"{key}:"):
            return number
    return None


def _functions(value: Any) -> list[str]:
    if isinstance(value, str) and value.startswith("!function "):
        return [value.removeprefix("!function ")]
    if isinstance(value, dict):
        return [f for v in value.values() for f in _functions(v)]
    if isinstance(value, list):
        return [f for v in value for f in _functions(v)]
    return []


def _check_function(spec: str, yaml_dir: Path) -> str | None:
    module, _, name = spec.rpartition(".")
    if not module:
        return f"!function {spec}: needs module.function"
    # Validation never imports the module: importing runs its code, and a task folder is not trusted
    # until the user says so. The module's source file is found on disk (beside the YAML, as lm-eval
    # looks first, then on the import path) and read as text.
    source = _module_source(module, [yaml_dir, *(Path(p) for p in sys.path if p)])
    if source is None:
        return f"!function {spec}: no module file for {module} beside the YAML or on the import path"
    try:
        text = source.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        return f"!function {spec}: cannot read {source} ({exc.__class__.__name__})"
    return None if re.search(rf"^\s*(async\s+)?def\s+{re.escape(name)}\s*\(", text, re.M) else f"!function {spec}: {module} has no function {name}"


def _module_source(module: str, roots: list[Path]) -> Path | None:
    """The ``.py`` file (or package ``__init__.py``) a dotted module name would load from, without importing it."""
    rel = Path(*module.split("."))
    for root in roots:
        for candidate in (root / rel.with_suffix(".py"), root / rel / "__init__.py"):
            if candidate.is_file():
                return candidate
    return None


def validate_yaml(path: Path) -> list[Problem]:
    """Every problem of one task YAML and its data file, each with file and (where known) line."""
    try:
        cfg = read_yaml(path)
    except EcombenchError as exc:
        return [_problem(path, exc)]
    if "group" in cfg:
        return []
    if "task" not in cfg:
        return [] if path.name.startswith("_") else [Problem(path, None, "no 'task' key (shared settings files are named _*.yaml)")]
    problems = [Problem(path, None, f"missing key '{k}'") for k in REQUIRED_KEYS if k not in cfg]
    meta: dict[str, Any] = cfg["metadata"] if isinstance(cfg.get("metadata"), dict) else {}
    problems += [Problem(path, _key_line(path, "metadata"), f"metadata lacks '{k}'") for k in REQUIRED_METADATA if k not in meta]
    description = meta.get("description")
    if isinstance(description, str) and description.strip().upper().startswith(SCAFFOLD_TODO):
        problems.append(
            Problem(path, _key_line(path, "description"), "metadata.description is still the scaffold's TODO; say in one line what the task asks", warning=True)
        )
    task_type, metric = meta.get("task_type"), meta.get("metric")
    if task_type is not None and task_type not in TASK_TYPES:
        problems.append(Problem(path, _key_line(path, "task_type"), f"task_type '{task_type}' is not one of {', '.join(TASK_TYPES)}"))
    if metric is not None and metric not in METRIC_NAMES:
        problems.append(Problem(path, _key_line(path, "metric"), f"metric '{metric}' is not one of {', '.join(METRIC_NAMES)}"))
    elif task_type in METRICS_BY_TASK_TYPE and metric not in METRICS_BY_TASK_TYPE[task_type]:
        problems.append(Problem(path, _key_line(path, "metric"), f"metric '{metric}' does not fit task_type '{task_type}'"))
    for spec in _functions(cfg):
        if (message := _check_function(spec, path.parent)) is not None:
            problems.append(Problem(path, None, message))
    kwargs = cfg.get("dataset_kwargs")
    data_files = kwargs.get("data_files") if isinstance(kwargs, dict) else None
    if not isinstance(data_files, str):
        problems.append(Problem(path, _key_line(path, "dataset_kwargs"), "dataset_kwargs.data_files must name one JSON Lines file"))
        return problems
    data = resolve_data_path(data_files, path)
    if not data.is_file():
        return [*problems, Problem(path, _key_line(path, "data_files"), f"data file {data} not found")]
    rows = 0
    first_line: dict[str, int] = {}
    try:
        for number, obj in iter_jsonl(data):
            rows += 1
            prompt = obj.get("input_field")
            if isinstance(prompt, str):
                if prompt in first_line:
                    problems.append(
                        Problem(
                            data,
                            number,
                            f"the same prompt as line {first_line[prompt]}: a repeated item inflates n and narrows the standard error",
                            warning=True,
                        )
                    )
                first_line.setdefault(prompt, number)
            try:
                record = ShopBenchRecord.model_validate(obj)
            except ValidationError as exc:
                problems.append(Problem(data, number, describe(exc)))
                continue
            for field, want in (("task_type", task_type), ("metric", metric)):
                if field == "metric" and task_type == "generation":
                    continue  # a generation task may mix metrics per row (e.g. bleu and jp-bleu)
                if want is not None and getattr(record, field) != want:
                    problems.append(Problem(data, number, f"{field} '{getattr(record, field)}' differs from the YAML's '{want}'"))
    except EcombenchError as exc:
        problems.append(_problem(data, exc))
    if rows == 0:
        problems.append(Problem(data, None, "no records"))
    return problems


def validate(path: Path) -> list[Problem]:
    """Problems of a task YAML, or of every YAML under a folder."""
    if not path.exists():
        raise EcombenchError(f"{path}: no such file or folder")
    files = [path] if path.is_file() else sorted(path.rglob("*.yaml"))
    if not files:
        raise EcombenchError(f"{path}: no task YAML files")
    return [p for f in files for p in validate_yaml(f)]


def examples(task: TaskInfo, n: int = 3) -> list[dict[str, Any]]:
    """The first ``n`` items of a task: prompt and truth."""
    out: list[dict[str, Any]] = []
    if task.data_file is None:
        return out
    for _, obj in iter_jsonl(task.data_file):
        out.append({"prompt": obj.get("input_field", ""), "target": obj.get("output_field")})
        if len(out) == n:
            break
    return out


_EXAMPLES: dict[str, tuple[str, Any, str]] = {
    "multiple-choice": ("Which category fits 'stainless steel garlic press'?\n0. toys\n1. kitchen utensils\n2. car parts\n3. shoes\nAnswer: ", 1, "accuracy"),
    "retrieval": (
        "A user bought 'trail running shoes'. Which products are bought with it?\n1. running socks\n2. sofa\n3. desk lamp\n4. wool blanket\nAnswer with up to 3 numbers separated by commas.\nAnswer: ",
        [1],
        "hit rate@3",
    ),
    "ranking": (
        "Rank the products by relevance to the query 'usb c charger 65w'.\n1. 65W USB-C charger\n2. HDMI cable\n3. 30W USB-C charger\nOutput the numbers separated by commas.\nAnswer: ",
        [1, 0, 0.1],
        "ndcg",
    ),
    "named_entity_recognition": (
        "Extract phrases of entity type 'brand' from the query 'lego city police car'. Output them separated by commas.\nOutput: ",
        ["lego"],
        "micro f1",
    ),
    "generation": ("Write a product title from: brand Acme; color red; product kettle.\nOutput: ", "Acme red kettle", "rougel"),
}


def scaffold(name: str, task_type: str, track: str, parent: Path) -> Path:
    """Write ``parent/name/`` with a task YAML and a one-row data file; return the YAML's path."""
    if task_type not in TASK_TYPES:
        raise EcombenchError(f"--type {task_type}: use one of {', '.join(TASK_TYPES)}")
    if not name.replace("_", "").isalnum() or not name[:1].isalpha():
        raise EcombenchError(f"task name '{name}': use letters, digits and underscores, starting with a letter")
    folder = parent / name
    if folder.exists():
        raise EcombenchError(f"{folder} already exists")
    prompt, truth, metric = _EXAMPLES[task_type]
    tokens = 1 if task_type == "multiple-choice" else 100
    record = make_record(name, task_type, metric, track, prompt, truth)
    yaml_text = f"""# A ShopBench-style task for ecombench (see tasks/README.md). Replace the example row in {name}.jsonl.
task: {name}
custom_dataset: !function ecombench.hooks.load_dataset
dataset_kwargs:
  data_files: {name}.jsonl  # ShopBench JSON Lines, relative to this file
test_split: test
output_type: generate_until
doc_to_text: input_field
doc_to_target: !function ecombench.hooks.doc_to_target
process_results: !function ecombench.hooks.process_results
generation_kwargs:  # KDD Cup protocol: greedy, {tokens} new token(s)
  until: []
  max_gen_toks: {tokens}
  do_sample: false
metric_list:
  - metric: kdd_score
    aggregation: !function ecombench.hooks.aggregate
    higher_is_better: true
metadata:
  version: 1.0
  track: {track}
  task_type: {task_type}
  metric: {metric}  # one of: {", ".join(METRICS_BY_TASK_TYPE[task_type])}
  description: {SCAFFOLD_TODO} one line saying what the task asks
"""
    folder.mkdir(parents=True)
    (folder / f"{name}.yaml").write_text(yaml_text, encoding="utf-8")
    (folder / f"{name}.jsonl").write_text(json.dumps(record, ensure_ascii=False) + "\n", encoding="utf-8")
    return folder / f"{name}.yaml"
