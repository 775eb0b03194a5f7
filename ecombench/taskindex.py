"""Index of ecombench task YAMLs, read without lm-eval (fast, and loud about broken files).

lm-eval silently skips a YAML it cannot parse; ecombench reads every YAML under its task roots
first and reports the file that fails, so a typo never just makes a task disappear.
"""

from __future__ import annotations

import difflib
import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from ecombench.errors import EcombenchError
from ecombench.paths import builtin_tasks_dir, resolve_data_path, user_tasks_dir

DEFAULT_SUITE = "ecombench_core"


class _Loader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]  # libyaml's parser where present
    """Reads ``!function x.y`` as the string ``x.y`` without importing anything."""


_Loader.add_constructor("!function", lambda loader, node: f"!function {loader.construct_scalar(node)}")


def read_yaml(path: Path, _seen: frozenset[Path] = frozenset()) -> dict[str, Any]:
    """A task YAML with its ``include`` files merged (local keys win), as lm-eval merges them."""
    path = path.resolve()
    if path in _seen:
        raise EcombenchError(f"{path}: include cycle")
    try:
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=_Loader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f":{mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise EcombenchError(f"{path}{where}: YAML does not parse ({problem})") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise EcombenchError(f"{path}: cannot read ({exc})") from exc
    if not isinstance(data, dict):
        raise EcombenchError(f"{path}: expected a mapping at the top level, got {type(data).__name__}")
    includes = data.pop("include", None)
    if includes is None:
        return data
    merged: dict[str, Any] = {}
    for inc in includes if isinstance(includes, list) else [includes]:
        if not isinstance(inc, str) or not inc:
            raise EcombenchError(f"{path}: include must name YAML files, got {inc!r}")
        inc_path = Path(inc) if Path(inc).is_absolute() else path.parent / inc
        if not inc_path.is_file():
            raise EcombenchError(f"{path}: include '{inc}' not found")
        inc_cfg = read_yaml(inc_path, _seen | {path})
        inc_cfg.pop("task_list", None)
        merged.update(inc_cfg)
    merged.update(data)
    return merged


@dataclass(frozen=True)
class TaskInfo:
    """A task's metadata, straight from its YAML."""

    name: str
    yaml_path: Path
    track: str
    task_type: str
    metric: str
    version: str
    description: str
    data_file: Path | None
    config: dict[str, Any] = field(repr=False, compare=False)

    def item_count(self) -> int:
        """Non-blank lines of the data file (read as bytes: counting never fails on bad text)."""
        if self.data_file is None or not self.data_file.is_file():
            return 0
        with self.data_file.open("rb") as handle:
            return sum(1 for line in handle if line.strip())

    def data_hash(self) -> str | None:
        """sha256 of the task's data file, or None when it has none."""
        if self.data_file is None or not self.data_file.is_file():
            return None
        digest = hashlib.sha256()
        with self.data_file.open("rb") as handle:
            for chunk in iter(lambda: handle.read(1 << 20), b""):
                digest.update(chunk)
        return digest.hexdigest()


@dataclass(frozen=True)
class GroupInfo:
    name: str
    yaml_path: Path
    members: tuple[str, ...]


@dataclass
class TaskIndex:
    roots: list[Path]
    tasks: dict[str, TaskInfo] = field(default_factory=dict)
    groups: dict[str, GroupInfo] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)  # user suite -> why it was skipped

    def leaf_tasks(self, name: str, _depth: int = 0) -> list[str]:
        """The tasks a task, group or track name stands for, in a stable order."""
        if name in self.tasks:
            return [name]
        if name in self.groups:
            if _depth > 20:
                raise EcombenchError(f"{self.groups[name].yaml_path}: groups nest too deep (a cycle?)")
            out: list[str] = []
            for member in self.groups[name].members:
                if member not in self.tasks and member not in self.groups:
                    raise EcombenchError(f"{self.groups[name].yaml_path}: group '{name}' names unknown task '{member}'")
                out.extend(t for t in self.leaf_tasks(member, _depth + 1) if t not in out)
            return out
        by_track = [t.name for t in self.tasks.values() if t.track == name]
        if by_track:
            return sorted(by_track)
        choices = [*self.tasks, *self.groups, *sorted({t.track for t in self.tasks.values()})]
        close = difflib.get_close_matches(name, choices, n=3, cutoff=0.5)
        if self.skipped:  # the name may live in a suite that could not be read
            why = "; ".join(f"'{suite}': {reason}" for suite, reason in self.skipped.items())
            raise EcombenchError(f"unknown task, group or track '{name}'; skipped task folders of {user_tasks_dir()}: {why}")
        hint = f"; did you mean {', '.join(repr(c) for c in close)}?" if close else "; `ecombench tasks` lists them"
        raise EcombenchError(f"unknown task, group or track '{name}'{hint}")

    def select(self, names: list[str] | None) -> list[TaskInfo]:
        """Expand names (tasks, groups, tracks) into unique tasks; no names means the default suite."""
        wanted: list[str] = []
        for name in names or [DEFAULT_SUITE]:
            wanted.extend(t for t in self.leaf_tasks(name) if t not in wanted)
        return [self.tasks[t] for t in wanted]


def _task_info(path: Path, cfg: dict[str, Any]) -> TaskInfo:
    meta = cfg.get("metadata") or {}
    if not isinstance(meta, dict):
        raise EcombenchError(f"{path}: 'metadata' must be a mapping")
    missing = [k for k in ("track", "task_type", "metric", "version", "description") if k not in meta]
    if missing:
        raise EcombenchError(f"{path}: metadata lacks {', '.join(missing)}")
    for key in ("dataset_kwargs", "generation_kwargs"):
        if cfg.get(key) is not None and not isinstance(cfg[key], dict):
            raise EcombenchError(f"{path}: '{key}' must be a mapping")
    data_files = (cfg.get("dataset_kwargs") or {}).get("data_files")
    data_file = resolve_data_path(data_files, path) if isinstance(data_files, str) else None
    return TaskInfo(
        name=str(cfg["task"]),
        yaml_path=path,
        track=str(meta["track"]),
        task_type=str(meta["task_type"]),
        metric=str(meta["metric"]),
        version=str(meta["version"]),
        description=str(meta["description"]),
        data_file=data_file,
        config=cfg,
    )


def default_roots(extra: list[Path] | None = None) -> list[Path]:
    """Bundled tasks, then the user's imported tasks (``$ECOMBENCH_HOME/tasks``), then ``extra``."""
    roots = [builtin_tasks_dir()]
    user = user_tasks_dir()
    if user.is_dir():
        roots.append(user)
    for root in extra or []:
        if not root.is_dir():
            raise EcombenchError(f"--task-path {root}: not a folder")
        roots.append(root)
    return roots


def _read_unit(paths: list[Path], root: Path) -> tuple[dict[str, TaskInfo], dict[str, GroupInfo]]:
    """Tasks and groups of some YAML files; a file that fails is an error naming it."""
    tasks: dict[str, TaskInfo] = {}
    groups: dict[str, GroupInfo] = {}
    for path in paths:
        cfg = read_yaml(path)
        if "group" in cfg and isinstance(cfg.get("task"), list):
            name = str(cfg["group"])
            if name in groups or name in tasks:
                raise EcombenchError(f"{path}: group '{name}' is also defined in {(groups.get(name) or tasks[name]).yaml_path}")
            members = []
            for member in cfg["task"]:
                if isinstance(member, dict) and isinstance(member.get("task"), str):
                    member = member["task"]
                if not isinstance(member, str):
                    raise EcombenchError(f"{path}: group '{name}': each member of 'task' must be a task or group name, got {member!r}"[:300])
                members.append(member)
            groups[name] = GroupInfo(name, path, tuple(members))
        elif "task" in cfg:
            info = _task_info(path, cfg)
            if info.name in tasks or info.name in groups:
                other = (tasks.get(info.name) or groups[info.name]).yaml_path
                raise EcombenchError(f"{path}: task '{info.name}' is also defined in {other}")
            tasks[info.name] = info
    return tasks, groups


def _yaml_files(folder: Path, root: Path) -> list[Path]:
    return [path for path in sorted(folder.rglob("*.yaml")) if not any(part.startswith(".") or part == "__pycache__" for part in path.relative_to(root).parts)]


_WARNED: set[str] = set()


def build_index(roots: list[Path]) -> TaskIndex:
    """Read every ``*.yaml`` under ``roots``; a file that fails is an error naming it.

    The exception is the user's imported suites (``$ECOMBENCH_HOME/tasks/<suite>/``): one broken or
    clashing suite there is skipped with a warning on stderr (and named if a command asks for its tasks),
    so that it never stops the commands that do not need it.
    """
    index = TaskIndex(roots=roots)
    user_root = user_tasks_dir().resolve()
    for root in roots:
        if root.resolve() == user_root:
            units = [
                [p] if p.is_file() else _yaml_files(p, root)
                for p in sorted(root.iterdir())
                if not p.name.startswith(".") and (p.is_dir() or p.suffix == ".yaml")
            ]
        else:
            units = [_yaml_files(root, root)]
        for paths in units:
            try:
                tasks, groups = _read_unit(paths, root)
                entries: list[tuple[str, TaskInfo | GroupInfo]] = [*tasks.items(), *groups.items()]
                for name, item in entries:
                    if name in index.tasks or name in index.groups:
                        other = (index.tasks.get(name) or index.groups[name]).yaml_path
                        raise EcombenchError(f"{item.yaml_path}: {'group' if name in groups else 'task'} '{name}' is also defined in {other}")
            except EcombenchError as exc:
                if root.resolve() != user_root:
                    raise
                suite = paths[0].relative_to(root).parts[0] if paths else "?"
                index.skipped[suite] = str(exc)
                if str(exc) not in _WARNED:
                    _WARNED.add(str(exc))
                    from ecombench.notices import warn

                    warn(f"skipped task folder '{suite}' of {root} ({exc})")
                continue
            index.tasks.update(tasks)
            index.groups.update(groups)
    return index
