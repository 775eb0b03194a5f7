"""Write an imported suite as ecombench task YAMLs and ShopBench data, atomically.

An import is staged in a temporary folder beside the destination and renamed into place only
when complete, so a failed import leaves nothing half-written under the home folder.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from ecombench.errors import EcombenchError
from ecombench.io import replace_dir, restore_dir, staging_dir
from ecombench.metrics.rulesets import DEFAULT_BY_FORMAT
from ecombench.records import ShopBenchRecord, describe
from ecombench.train.sources import Skipped

_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")


@dataclass
class ImportedSuite:
    """What an importer read: ShopBench rows per task, and the files they came from."""

    fmt: str
    sources: list[Path]
    tasks: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    descriptions: dict[str, str] = field(default_factory=dict)
    answers: bool = True  # False: a test set without truths, for generation only
    max_gen_toks: dict[str, int] = field(default_factory=dict)  # task -> new tokens, where the benchmark's code sets them
    metadata: dict[str, dict[str, Any]] = field(default_factory=dict)  # task -> more YAML metadata (a judged task's `judge`)
    skipped: Skipped | None = None  # bad rows an importer skipped and counted (`Skipped.line()` for the terminal)


def task_slug(text: str) -> str:
    """A task-name-safe form of a source's task name."""
    return re.sub(r"[^A-Za-z0-9]+", "_", text).strip("_").lower() or "task"


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


class _Function(str):
    """A ``!function module.name`` reference in a task YAML."""


class _Dumper(yaml.SafeDumper):
    """PyYAML's safe emitter plus lm-eval's ``!function`` tag; every string is quoted or escaped as YAML
    requires, so no task, track or description text can break the file."""


_Dumper.add_representer(_Function, lambda dumper, value: dumper.represent_scalar("!function", str(value)))

_AGGREGATE = [{"metric": "kdd_score", "aggregation": "mean", "weight_by_size": False}]
# The suite group: each track counts once (ecombench.hooks.mean_of_members); lm-eval alone averages all tasks.
_ALL_AROUND = [{"metric": "kdd_score", "aggregation": _Function("ecombench.hooks.mean_of_members"), "weight_by_size": False}]


def _dump(comment: str, body: dict[str, Any]) -> str:
    return f"# {comment}\n" + yaml.dump(body, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=1 << 16)


def _task_yaml(
    task: str,
    rows: list[dict[str, Any]],
    description: str,
    sources: dict[str, Any],
    fmt: str,
    answers: bool,
    max_gen_toks: int | None = None,
    extra: dict[str, Any] | None = None,
) -> str:
    first = rows[0]
    if max_gen_toks is None:
        max_gen_toks = 1 if first["task_type"] == "multiple-choice" else 100
    meta = {
        "version": 1.0,
        "track": first["track"],
        "task_type": first["task_type"],
        "metric": Counter(r["metric"] for r in rows).most_common(1)[0][0],
        "metrics": sorted({r["metric"] for r in rows}),
        "description": description,
        "items": len(rows),
        "imported_from": fmt,
        "sources": sources,
        "answers": answers,
    }
    if "rules" in first:
        meta["rules"] = first["rules"]
    meta.update(extra or {})
    return _dump(
        f"Imported by `ecombench import {fmt}`.",
        {
            "task": task,
            "custom_dataset": _Function("ecombench.hooks.load_dataset"),
            "dataset_kwargs": {"data_files": f"{task}.jsonl"},
            "test_split": "test",
            "output_type": "generate_until",
            "doc_to_text": "input_field",
            "doc_to_target": _Function("ecombench.hooks.doc_to_target"),
            "process_results": _Function("ecombench.hooks.process_results"),
            "generation_kwargs": {"until": [], "max_gen_toks": max_gen_toks, "do_sample": False},
            "metric_list": [{"metric": "kdd_score", "aggregation": _Function("ecombench.hooks.aggregate"), "higher_is_better": True}],
            "metadata": meta,
        },
    )


def _group_yaml(group: str, members: list[str], comment: str, aggregate: list[dict[str, Any]] = _AGGREGATE) -> str:
    return _dump(comment, {"group": group, "task": members, "aggregate_metric_list": aggregate, "metadata": {"version": 1.0}})


def _unique_slugs(originals: list[str], what: str) -> dict[str, str]:
    """Original name -> slug; two originals with one slug (``a-b`` and ``a_b``) are refused, naming both."""
    taken: dict[str, str] = {}
    for original in originals:
        slug = task_slug(original)
        if slug in taken:
            raise EcombenchError(f"{what} {taken[slug]!r} and {original!r} both become '{slug}'; rename one in the source")
        taken[slug] = original
    return {original: slug for slug, original in taken.items()}


def _group_names(name: str, tasks: dict[str, str], tracks: dict[str, str]) -> dict[str, str]:
    """Track -> group name: ``<suite>_<track>``, or ``<suite>_<track>_track`` where a task already has that name."""
    task_names = {f"{name}_{slug}" for slug in tasks.values()}
    out = {}
    for track, slug in tracks.items():
        group = f"{name}_{slug}"
        out[track] = f"{group}_track" if group in task_names or group == name else group
    return out


def _check_unique(name: str, ours: set[str], dest_parent: Path) -> None:
    """No task or group of the new suite may share its name with one of another suite."""
    from ecombench.taskindex import build_index, default_roots

    index = build_index(default_roots())
    replaced = (dest_parent / name).resolve()
    for other in sorted(ours & (set(index.tasks) | set(index.groups))):
        where = (index.tasks.get(other) or index.groups[other]).yaml_path
        if not where.resolve().is_relative_to(replaced):  # the suite this import replaces may share names
            raise EcombenchError(f"'{other}' is already defined in {where}; choose another --name")


MARKER = ".ecombench-import"  # in every folder `import` writes: --force replaces only such folders


def _imported_here(dest: Path) -> bool:
    """Whether ``dest`` is a suite folder ``import`` wrote: its marker, or (written before markers) nothing but
    task files and the suite's ``_group_all.yaml``."""
    if dest.is_symlink() or not dest.is_dir():
        return False
    if (dest / MARKER).is_file():
        return True
    try:
        names = [p.name for p in dest.iterdir()]
    except OSError:
        return False
    return "_group_all.yaml" in names and all(n.endswith((".yaml", ".jsonl")) and (dest / n).is_file() for n in names)


def write_suite(suite: ImportedSuite, name: str, dest_parent: Path, force: bool = False) -> Path:
    """Write ``dest_parent/name/`` with one YAML + data file per task, track groups and a suite group.

    Every YAML is written by a YAML library and read back before the suite is swapped in whole; names
    that collide are refused rather than merged; ``force`` replaces an old suite so that one whole suite
    is in place at every instant.
    """
    if not _NAME.match(name):
        raise EcombenchError(f"--name {name!r}: use letters, digits and underscores, starting with a letter")
    if not suite.tasks or not any(suite.tasks.values()):
        raise EcombenchError(f"{', '.join(map(str, suite.sources))}: no rows to import")
    dest = dest_parent / name
    dest_parent.mkdir(parents=True, exist_ok=True)
    restore_dir(dest)
    if dest.exists() and not force:
        raise EcombenchError(f"{dest} already exists; pass --force to replace it")
    if (dest.exists() or dest.is_symlink()) and not _imported_here(dest):
        raise EcombenchError(
            f"{dest} holds no suite written by ecombench import (no {MARKER}); --force replaces only those: move it away or pick another --name"
        )
    task_slugs = _unique_slugs(sorted(suite.tasks), "tasks")
    track_of = {source: rows[0]["track"] for source, rows in suite.tasks.items() if rows}
    track_slugs = _unique_slugs(sorted(set(track_of.values())), "tracks")
    groups = _group_names(name, task_slugs, track_slugs)
    _check_unique(name, {name, *groups.values(), *(f"{name}_{slug}" for slug in task_slugs.values())}, dest_parent)
    sources = {str(p): {"sha256": file_sha256(p), "bytes": p.stat().st_size} for p in suite.sources}
    staging = staging_dir(f".{name}-", dest_parent)
    try:
        tracks: dict[str, list[str]] = {}
        rules = DEFAULT_BY_FORMAT.get(suite.fmt)
        for source_task, rows in sorted(suite.tasks.items()):
            task = f"{name}_{task_slugs[source_task]}"
            if rules is not None and suite.answers:  # every row says whose code scores it (ecombench.metrics.rulesets)
                rows = [{**r, "rules": rules} for r in rows]
            for i, row in enumerate(rows if suite.answers else []):
                try:
                    ShopBenchRecord.model_validate(row)
                except ValidationError as exc:
                    raise EcombenchError(f"{suite.sources[0]}: task {source_task!r}, row {i + 1}: {describe(exc)}") from exc
            text = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)
            (staging / f"{task}.jsonl").write_text(text, encoding="utf-8")
            description = suite.descriptions.get(source_task, f"{source_task} ({suite.fmt})")
            task_sources = {**sources, "rows": len(rows), "data_sha256": hashlib.sha256(text.encode()).hexdigest()}
            (staging / f"{task}.yaml").write_text(
                _task_yaml(
                    task,
                    rows,
                    description,
                    task_sources,
                    suite.fmt,
                    suite.answers,
                    suite.max_gen_toks.get(source_task),
                    suite.metadata.get(source_task),
                ),
                encoding="utf-8",
            )
            tracks.setdefault(rows[0]["track"], []).append(task)
        for track, members in tracks.items():
            (staging / f"_group_{track_slugs[track]}.yaml").write_text(
                _group_yaml(groups[track], members, "A track: the mean of its tasks' scores"), encoding="utf-8"
            )
        (staging / "_group_all.yaml").write_text(
            _group_yaml(name, [groups[t] for t in tracks], "All-Around: the mean of the track scores", _ALL_AROUND), encoding="utf-8"
        )
        _read_back(staging, suite)
        (staging / MARKER).write_text(json.dumps({"suite": name, "format": suite.fmt}) + "\n", encoding="utf-8")
        replace_dir(staging, dest)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return dest


def _read_back(staging: Path, suite: ImportedSuite) -> None:
    """Index the staged suite as every command will, and check it holds every row that was read."""
    from ecombench.taskindex import build_index

    index = build_index([staging])
    written = sum(info.item_count() for info in index.tasks.values())
    expected = sum(len(rows) for rows in suite.tasks.values())
    if len(index.tasks) != len(suite.tasks) or written != expected:
        raise EcombenchError(f"internal error: staged {len(index.tasks)} tasks / {written} rows for {len(suite.tasks)} / {expected}; nothing was written")
