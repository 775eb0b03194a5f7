"""Where ecombench finds its bundled tasks and keeps its caches and user tasks."""

from __future__ import annotations

import os
from pathlib import Path


def builtin_tasks_dir() -> Path:
    """The bundled task YAMLs: inside the installed wheel, or ``tasks/`` of a source checkout."""
    packaged = Path(__file__).parent / "tasks"
    if packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parent.parent / "tasks"


def cache_dir() -> Path:
    """User cache: ``$ECOMBENCH_CACHE``, else ``$XDG_CACHE_HOME/ecombench``, else ``~/.cache/ecombench``."""
    if env := os.environ.get("ECOMBENCH_CACHE"):
        return Path(env).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base).expanduser() / "ecombench"


def home_dir() -> Path:
    """User home for imported tasks: ``$ECOMBENCH_HOME``, default ``~/.ecombench``."""
    return Path(os.environ.get("ECOMBENCH_HOME") or Path.home() / ".ecombench").expanduser()


def user_tasks_dir() -> Path:
    """Where imported and scaffolded suites live (``$ECOMBENCH_HOME/tasks``), one folder per suite."""
    return home_dir() / "tasks"


def resolve_data_path(data_files: str, yaml_path: str | os.PathLike[str] | None) -> Path:
    """A task's data file; a relative path is read against the YAML's folder, not the current one.

    ``yaml_path`` may be lm-eval's ``config_source`` metadata, which is "inline" for dict configs.
    """
    path = Path(data_files).expanduser()
    if not path.is_absolute() and yaml_path and str(yaml_path) != "inline":
        path = Path(yaml_path).parent / path
    return path
